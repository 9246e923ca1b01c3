import Foundation

/// Real TCP SYNs with whatever source address a test names, sent from the peer namespace
/// onto the veth as whole Ethernet frames (an AF_PACKET socket, so the peer's kernel neither
/// routes nor checks them), with correct IP and TCP checksums: what a spoofing attacker on
/// the path can put on the wire. IPv6 sources may be IPv4-mapped (`::ffff:198.51.100.77`).
public enum SpoofedSYN {
    public struct Probe {
        public var source: String
        public var destination: String
        public var port: UInt16
        public init(from source: String, to destination: String, port: UInt16) {
            self.source = source
            self.destination = destination
            self.port = port
        }
    }

    private static let script = """
    import socket, struct, sys

    def checksum(data):
        if len(data) % 2:
            data += b'\\0'
        total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    def syn(source_port, port, pseudo):
        header = struct.pack('!HHIIBBHHH', source_port, port, 0x01020304, 0, 5 << 4, 0x02, 64240, 0, 0)
        value = checksum(pseudo + header)
        return header[:16] + struct.pack('!H', value) + header[18:]

    interface, destination_mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))
    source_mac = bytes.fromhex(open('/sys/class/net/%s/address' % interface).read().strip().replace(':', ''))
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sender.bind((interface, 0))
    for index, probe in enumerate(sys.argv[3:]):
        source, destination, port = probe.split(',')
        source_port = 40000 + index
        if ':' in destination:
            src, dst = socket.inet_pton(socket.AF_INET6, source), socket.inet_pton(socket.AF_INET6, destination)
            tcp = syn(source_port, int(port), src + dst + struct.pack('!IxxxB', 20, 6))
            packet = struct.pack('!IHBB', 6 << 28, len(tcp), 6, 64) + src + dst + tcp
            ethertype = 0x86DD
        else:
            src, dst = socket.inet_aton(source), socket.inet_aton(destination)
            tcp = syn(source_port, int(port), src + dst + struct.pack('!xBH', 6, 20))
            header = struct.pack('!BBHHHBBH', 0x45, 0, 20 + len(tcp), 0x1234 + index, 0x4000, 64, 6, 0) + src + dst
            packet = header[:10] + struct.pack('!H', checksum(header)) + header[12:] + tcp
            ethertype = 0x0800
        sender.send(destination_mac + source_mac + struct.pack('!H', ethertype) + packet)
    """

    /// Sends each probe once from `lab.peer` to the host's veth.
    public static func send(_ probes: [Probe], in lab: NamespaceLab) throws {
        let hostMAC = try lab.run(in: lab.host, ["cat", "/sys/class/net/\(lab.hostInterface)/address"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let arguments = probes.map { "\($0.source),\($0.destination),\($0.port)" }
        try lab.run(in: lab.peer, ["python3", "-c", script, lab.peerInterface, hostMAC] + arguments)
    }
}
