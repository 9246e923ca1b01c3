import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// A real IPv6 SYN from `::ffff:198.51.100.77` at the daemon in a namespace: it is neither
/// recorded nor blocklisted as the IPv4 address 198.51.100.77 (the decoder rejects it and
/// counts it as malformed), while the IPv4 and IPv6 SYNs sent beside it are recorded.
final class IPv4MappedSourceTests: XCTestCase {
    func testAnIPv4MappedSourceIsNeverTakenForTheIPv4Address() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let state = try FilledStateDirectory()
        let config = state.path + "/lightscope.conf"
        try "[detection]\nsyn_answer_timeout = 500ms\n[watchdog]\nstatus_interval = 200ms\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["run", "--config", config, "--interface", lab.hostInterface, "--state-dir", state.path],
                                       namespace: lab.host)
        XCTAssertTrue(daemon.waitForLog("started", timeout: 10), daemon.log)
        try SpoofedSYN.send([SpoofedSYN.Probe(from: "::ffff:198.51.100.77", to: lab.hostIPv6, port: 23),
                             SpoofedSYN.Probe(from: "198.51.100.78", to: lab.hostIPv4, port: 23),
                             SpoofedSYN.Probe(from: "2001:db8:7::77", to: lab.hostIPv6, port: 23)], in: lab)
        usleep(1_500_000)
        let status = try lightscope(["status", "--json", "--state-dir", state.path])
        XCTAssertTrue(status.output.contains("\"malformed\" : 1"), "the rejected SYN is counted:\n\(status.output)")
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)

        let events = try lightscope(["events", "--json", "--state-dir", state.path])
        XCTAssertEqual(Set(try events.lines.map { try EventJSON.decode($0).source }), ["198.51.100.78", "2001:db8:7::77"], events.errors)
        let blocklist = try lightscope(["blocklist", "--format", "plain", "--min-events", "1", "--state-dir", state.path])
        XCTAssertEqual(blocklist.lines, ["198.51.100.78", "2001:db8:7::77"], blocklist.errors)
    }
}
