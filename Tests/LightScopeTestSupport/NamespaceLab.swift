import Foundation

/// Two test hosts joined by a veth pair, each in a network namespace this test creates:
/// `host` (192.0.2.1, 2001:db8::1) runs the daemon, `peer` (192.0.2.2, 2001:db8::2) sends
/// probes. Addresses are from the documentation ranges and exist only inside these
/// namespaces; `destroy()` (also called from deinit) removes everything, on failure too.
public final class NamespaceLab {
    public let host: String
    public let peer: String
    public let hostInterface = "lsh0"
    public let peerInterface = "lsp0"
    public let hostIPv4 = "192.0.2.1"
    public let peerIPv4 = "192.0.2.2"
    public let hostIPv6 = "2001:db8::1"
    public let peerIPv6 = "2001:db8::2"
    private var destroyed = false

    public init(withVeth: Bool = true) throws {
        try requireRoot()
        let tag = "\(getpid() % 100000)-\(UInt16.random(in: 0...UInt16.max))"
        host = "lsT-host-\(tag)"
        peer = "lsT-peer-\(tag)"
        do {
            try shell(["ip", "netns", "add", host])
            try shell(["ip", "netns", "add", peer])
            try run(in: host, ["ip", "link", "set", "lo", "up"])
            try run(in: peer, ["ip", "link", "set", "lo", "up"])
            if withVeth { try addVeth() }
        } catch {
            destroy()
            throw error
        }
    }

    deinit { destroy() }

    /// Creates (or re-creates) the veth pair with its addresses.
    public func addVeth() throws {
        try run(in: host, ["ip", "link", "add", hostInterface, "type", "veth", "peer", "name", peerInterface, "netns", peer])
        try run(in: host, ["ip", "addr", "add", "\(hostIPv4)/24", "dev", hostInterface])
        try run(in: host, ["ip", "-6", "addr", "add", "\(hostIPv6)/64", "dev", hostInterface, "nodad"])
        try run(in: peer, ["ip", "addr", "add", "\(peerIPv4)/24", "dev", peerInterface])
        try run(in: peer, ["ip", "-6", "addr", "add", "\(peerIPv6)/64", "dev", peerInterface, "nodad"])
        try run(in: host, ["ip", "link", "set", hostInterface, "up"])
        try run(in: peer, ["ip", "link", "set", peerInterface, "up"])
    }

    public func deleteVeth() throws {
        try run(in: host, ["ip", "link", "del", hostInterface])
    }

    @discardableResult
    public func run(in namespace: String, _ arguments: [String], allowFailure: Bool = false) throws -> (status: Int32, output: String) {
        try shell(["ip", "netns", "exec", namespace] + arguments, allowFailure: allowFailure)
    }

    /// TCP connection attempts from the peer to `ports` of the host: each is one SYN in,
    /// answered by RST (closed) or SYN-ACK (open). Bounded: one short try per port.
    public func probeHostTCP(ports: [Int], address: String? = nil) throws {
        let target = address ?? hostIPv4
        let script = """
        import socket, sys
        family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
        for port in map(int, sys.argv[2:]):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(0.5)
            try:
                s.connect((sys.argv[1], port))
            except OSError:
                pass
            s.close()
        """
        try run(in: peer, ["python3", "-c", script, target] + ports.map(String.init))
    }

    /// Sends Ethernet frames from the peer's interface to the host's, exactly as given but
    /// for the addresses: each frame's destination MAC becomes the host interface's and its
    /// source MAC the peer's. For packets no socket would send: forged sources, odd flags,
    /// fragments. Bounded: the frames given, once each.
    public func sendFrames(fromPeer frames: [[UInt8]]) throws {
        let hostMAC = try macAddress(in: host, of: hostInterface)
        let peerMAC = try macAddress(in: peer, of: peerInterface)
        let hexFrames = frames.map { frame in
            precondition(frame.count >= 14, "a frame needs an Ethernet header")
            return (hostMAC + peerMAC + frame[12...]).map { String(format: "%02x", $0) }.joined()
        }
        let script = """
        import socket, sys
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((sys.argv[1], 0))
        for frame in sys.argv[2:]:
            s.send(bytes.fromhex(frame))
        """
        try run(in: peer, ["python3", "-c", script, peerInterface] + hexFrames)
    }

    /// The host interface's MAC address as text (`02:ab:...`), the gateway address tools that
    /// write their own frames ask for (`zmap -G`, `masscan --router-mac`).
    public func hostMACText() throws -> String {
        try macAddress(in: host, of: hostInterface).map { String(format: "%02x", $0) }.joined(separator: ":")
    }

    private func macAddress(in namespace: String, of interface: String) throws -> [UInt8] {
        let text = try run(in: namespace, ["cat", "/sys/class/net/\(interface)/address"]).output
        let bytes = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6 else { throw TestFailure("no MAC address for \(interface): \(text)") }
        return bytes
    }

    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        _ = try? shell(["ip", "netns", "del", host], allowFailure: true)
        _ = try? shell(["ip", "netns", "del", peer], allowFailure: true)
    }
}
