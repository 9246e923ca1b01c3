import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The whole path with the real tools: the daemon captures on the host of a namespace lab
/// while zmap, masscan, nmap and hping3 scan it, and crafted Mirai probes and real clients
/// (curl, nc) reach it. Every closed port's event in the store names the tool that probed
/// it, and the clients' events name none. Each tool gets ports of its own, so the store
/// says which event came from which run.
final class ScanToolDaemonTests: XCTestCase {
    func testEveryToolsEventsNameItInTheStore() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[detection]\nsyn_answer_timeout = 1s\n")
        defer { harness.cleanUp() }
        harness.waitForReady()
        // One real probe first: once the daemon has seen it and its answer, capture is live.
        try lab.probeHostTCP(ports: [19])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)

        var output = try ScanToolRuns.zmap(lab, port: 1080, probes: 2)
        output += try ScanToolRuns.masscan(lab, ports: "1101-1103")
        output += try ScanToolRuns.nmap(lab, family: "-4", ports: "1201-1203")
        output += try ScanToolRuns.nmap(lab, family: "-6", ports: "1204")
        output += try ScanToolRuns.hping3(lab, port: 1301, count: 2)
        try ScanToolRuns.mirai(lab, ports: [23, 2323])
        try lab.run(in: lab.peer, ["curl", "-s", "-m", "2", "http://\(lab.hostIPv4):1401/"], allowFailure: true)
        try lab.run(in: lab.peer, ["nc", "-z", "-w", "2", lab.hostIPv6, "1402"], allowFailure: true)

        usleep(300_000)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        let events = try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
        let listing = events.map { EventJSON.encode($0) }.joined(separator: "\n")
        var toolsByPort: [UInt16: Set<ScanTool>] = [:]
        for event in events where event.verdict == .closed {
            toolsByPort[event.destinationPort ?? 0, default: []].insert(event.tool)
        }
        let expected: [UInt16: Set<ScanTool>] = [
            19: [.unknown], 1080: [.zmap], 1101: [.masscan], 1102: [.masscan], 1103: [.masscan],
            1201: [.nmap], 1202: [.nmap], 1203: [.nmap], 1204: [.nmap], 1301: [.hping3],
            23: [.mirai], 2323: [.mirai], 1401: [.unknown], 1402: [.unknown],
        ]
        XCTAssertEqual(toolsByPort, expected, "events:\n\(listing)\ntools:\n\(output)")
        XCTAssertEqual(events.filter { $0.destinationPort == 1080 }.count, 2, "one event per zmap probe:\n\(listing)")
        XCTAssertTrue(harness.daemon.log.contains("closed (1 packet, ttl 255, tool zmap)"), harness.daemon.log)
    }
}
