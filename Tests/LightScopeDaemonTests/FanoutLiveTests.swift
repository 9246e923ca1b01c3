import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// `[capture] threads = 2` on a real veth: two packet loops joined by PACKET_FANOUT must give
/// the events one loop gives, for the real nmap's SYN scan and its fragmented one (`-f`).
///
/// The host has eight more addresses and nmap scans them all from one peer: eight address
/// pairs, which the fan-out spreads over the two loops (so both must see packets), while
/// the peer's address scan (one port at eight addresses) and its port scans must still be
/// counted whole, across the loops.
final class FanoutLiveTests: XCTestCase {
    private static let scannedAddresses = (10...17).map { "192.0.2.\($0)" }

    private struct Outcome {
        var failures: Set<String>
        var scans: Set<String>
        var snapshot: DaemonSnapshot
        var listing: String
    }

    func testTwoLoopsGiveTheEventsOfOne() throws {
        let one = try scan(threads: 1)
        let two = try scan(threads: 2)
        // The probes: each closed port of each address, the fragmented ones too, as nmap saw them.
        XCTAssertEqual(one.failures.count, 8 * 25, one.listing)
        XCTAssertEqual(one.failures.filter { $0.contains(" 40 closed") }.count, 8, "nmap -f went unseen:\n\(one.listing)")
        XCTAssertEqual(two.failures, one.failures, "threads = 2:\n\(two.listing)\nthreads = 1:\n\(one.listing)")
        // The scans: the peer's address scan (nmap scans port by port, so an address scan
        // crosses first and stands for the source's window), with one loop or two. Which port
        // crossed follows nmap's random order, so it is left out.
        XCTAssertEqual(one.scans, ["addrscan 192.0.2.2 nmap"], one.listing)
        XCTAssertEqual(two.scans, one.scans, "threads = 2:\n\(two.listing)\nthreads = 1:\n\(one.listing)")

        // One loop keeps the interface's name; two are named for their number, and both saw packets.
        XCTAssertEqual(one.snapshot.interfaces.map(\.name), ["lsh0"])
        XCTAssertEqual(two.snapshot.interfaces.map(\.name), ["lsh0/1", "lsh0/2"])
        for loop in two.snapshot.interfaces {
            XCTAssertGreaterThan(loop.packets, 20, "\(loop.name) saw too few packets for a real fan-out: \(two.snapshot.interfaces)")
        }
        XCTAssertEqual(Set(two.snapshot.loops.map(\.name)).intersection(["packet loop lsh0/1", "packet loop lsh0/2"]).count, 2,
                       "\(two.snapshot.loops)")
    }

    private func scan(threads: Int) throws -> Outcome {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        for address in Self.scannedAddresses {
            try lab.run(in: lab.host, ["ip", "addr", "add", "\(address)/24", "dev", lab.hostInterface])
        }
        let config = "[capture]\nthreads = \(threads)\n[watchdog]\nstatus_interval = 200ms\n"
            + "[detection]\nsyn_answer_timeout = 1s\naddrscan_addresses = 6\n"
        let harness = try DaemonHarness(lab: lab, config: config)
        defer { harness.cleanUp() }
        harness.waitForReady()
        // One real probe first: once the daemon has seen it and its answer, capture is live.
        try lab.probeHostTCP(ports: [19])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)

        var output = ""
        for options in [["-p", "20-39"], ["-f", "-p", "40-44"]] {
            let scan = try lab.run(in: lab.peer, ["timeout", "60", "nmap", "-n", "-Pn", "-sS"] + options
                + ["--max-retries", "0", "--host-timeout", "30s"] + Self.scannedAddresses)
            output += scan.output
        }
        usleep(1_500_000)
        let snapshot = try readSnapshot(harness.stateDirectory)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        let events = try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
            .filter { $0.destination != lab.hostIPv4 }
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n") + "\n" + output
        var failures: Set<String> = []
        var scans: Set<String> = []
        for event in events {
            let destination = event.destination ?? "-"
            let port = event.destinationPort.map(String.init) ?? "-"
            switch event.verdict {
            case .portscan, .addrscan, .slowscan: scans.insert("\(event.verdict) \(event.source) \(event.tool)")
            default: failures.insert("\(event.source) \(destination) \(port) \(event.verdict) \(event.tool)")
            }
        }
        return Outcome(failures: failures, scans: scans, snapshot: snapshot, listing: listing)
    }

    private func readSnapshot(_ stateDirectory: String) throws -> DaemonSnapshot {
        let data = try Data(contentsOf: URL(fileURLWithPath: stateDirectory + "/run/" + RuntimeDirectory.statusFileName))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(DaemonSnapshot.self, from: data)
    }
}
