import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Spoofed SYNs steer no blocklist. The real daemon captures in the host namespace while the
/// peer sends real SYNs "from" loopback, unspecified, broadcast, multicast and link-local
/// addresses, the host's default gateway and DNS resolver, an allowed partner, a neighbour and
/// two real scanners; `lightscope blocklist`, run in the host namespace (where those facts are
/// read: its routes, and /etc/netns/NAME/resolv.conf, which `ip netns exec` mounts over
/// /etc/resolv.conf), lists only the scanners (and the neighbour unless local networks are
/// excluded), and the real nft and ipset load the result there.
final class BlocklistSpoofingTests: XCTestCase {
    /// (::1 is the host's own: detection never takes a packet from it for a probe.)
    private let neverListed = ["127.0.0.2", "0.0.0.0", "255.255.255.255", "224.0.0.1", "169.254.7.7",
                               "192.0.2.2", "192.0.2.53", "198.51.100.9", "fe80::7", "ff02::1", "2001:db8::2", "2001:db8::53"]
    private let neighbour = "192.0.2.77"
    private let scanners = ["203.0.113.66", "2001:db8:1::66"]

    func testSpoofedSourcesNeverReachTheFirewall() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        // The peer is the host's default gateway on both families, and 192.0.2.53 and
        // 2001:db8::53 its resolvers.
        try lab.run(in: lab.host, ["ip", "route", "add", "default", "via", lab.peerIPv4])
        try lab.run(in: lab.host, ["ip", "-6", "route", "add", "default", "via", lab.peerIPv6])
        let netnsEtc = "/etc/netns/\(lab.host)"
        try FileManager.default.createDirectory(atPath: netnsEtc, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: netnsEtc) }
        try "nameserver 192.0.2.53\nnameserver 2001:db8::53\n".write(toFile: netnsEtc + "/resolv.conf", atomically: true, encoding: .utf8)

        let state = try FilledStateDirectory()
        let config = state.path + "/lightscope.conf"
        try "[detection]\nsyn_answer_timeout = 500ms\n[blocklist]\nallow = 198.51.100.0/24\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["run", "--config", config, "--interface", lab.hostInterface, "--state-dir", state.path],
                                       namespace: lab.host)
        XCTAssertTrue(daemon.waitForLog("started", timeout: 10), daemon.log)
        let sources = neverListed + [neighbour] + scanners
        try SpoofedSYN.send(sources.map { SpoofedSYN.Probe(from: $0, to: $0.contains(":") ? lab.hostIPv6 : lab.hostIPv4, port: 23) }, in: lab)
        usleep(1_500_000)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)

        // The store has them all: what the blocklist must refuse is really there.
        let stored = try lightscope(["events", "--json", "--limit", "1000", "--state-dir", state.path])
        let storedSources = Set(try stored.lines.map { try EventJSON.decode($0).source })
        XCTAssertEqual(storedSources, Set(sources), stored.errors)

        func blocklist(_ format: String, extraConfig: String = "") throws -> CLIResult {
            try (extraConfig.isEmpty ? "" : extraConfig).appendLine(to: config)
            let result = try lab.run(in: lab.host, ["sh", "-c", "\(DaemonProcess.binaryPath) blocklist --format \(format) --min-events 1 "
                + "--config \(config) --state-dir \(state.path) 2>\(state.path)/errors"], allowFailure: true)
            return CLIResult(status: result.status, output: result.output,
                             errors: (try? String(contentsOfFile: state.path + "/errors", encoding: .utf8)) ?? "")
        }
        let plain = try blocklist("plain")
        XCTAssertEqual(plain.status, 0, plain.errors)
        XCTAssertEqual(plain.lines, [neighbour, "203.0.113.66", "2001:db8:1::66"], plain.errors)
        XCTAssertTrue(plain.errors.contains("left out 12 that must never be blocked: 0.0.0.0 (unspecified), 127.0.0.2 (loopback), "
            + "169.254.7.7 (link-local), 192.0.2.2 (default gateway), 192.0.2.53 (DNS resolver), 198.51.100.9 ([blocklist] allow 198.51.100.0/24), "
            + "224.0.0.1 (multicast), 255.255.255.255 (broadcast), 2001:db8::2 (default gateway), 2001:db8::53 (DNS resolver) and 2 more"),
                      plain.errors)

        let nft = try blocklist("nft", extraConfig: "exclude_local_networks = yes")
        XCTAssertEqual(nft.status, 0, nft.errors)
        XCTAssertTrue(nft.errors.contains("192.0.2.77 (local network 192.0.2.0/24)"), nft.errors)
        let rules = state.path + "/blocklist.nft"
        try nft.output.write(toFile: rules, atomically: true, encoding: .utf8)
        try lab.run(in: lab.host, ["nft", "-c", "-f", rules])
        try lab.run(in: lab.host, ["nft", "-f", rules])
        let v4 = try lab.run(in: lab.host, ["nft", "-j", "list", "set", "inet", "lightscope", "blocked_v4"]).output
        let v6 = try lab.run(in: lab.host, ["nft", "-j", "list", "set", "inet", "lightscope", "blocked_v6"]).output
        XCTAssertTrue(v4.contains("\"203.0.113.66\"") && v6.contains("\"2001:db8:1::66\""), v4 + v6)
        for address in neverListed + [neighbour] { XCTAssertFalse((v4 + v6).contains("\"\(address)\""), "\(address) loaded: \(v4)\(v6)") }

        let ipset = try blocklist("ipset")
        XCTAssertEqual(ipset.status, 0, ipset.errors)
        let script = state.path + "/blocklist.ipset"
        try ipset.output.write(toFile: script, atomically: true, encoding: .utf8)
        try lab.run(in: lab.host, ["sh", "-c", "ipset restore < \(script)"])
        let set4 = try lab.run(in: lab.host, ["ipset", "list", "lightscope-v4"]).output
        XCTAssertTrue(set4.contains("Number of entries: 1") && set4.contains("203.0.113.66"), set4)
    }
}

private extension String {
    /// Appends this text as a line to `path` (nothing for an empty string).
    func appendLine(to path: String) throws {
        guard !isEmpty else { return }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((self + "\n").utf8))
    }
}
