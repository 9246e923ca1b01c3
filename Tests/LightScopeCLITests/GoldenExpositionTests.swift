import Foundation
import LightScopeCore
import LightScopeStore
import XCTest

/// What dashboards, alert rules and saved journal filters depend on, against
/// `Tests/golden/metrics/` and `Tests/golden/journal/`: the metrics' names, types and labels
/// (not their values or help texts), and the journal fields of each kind of event, exactly as
/// the journal sink hands them to `sd_journal_sendv`.
final class GoldenExpositionTests: XCTestCase {
    func testMetricNamesTypesAndLabels() throws {
        let text = PrometheusText.render(StatusFixture.snapshot(pid: 42, storePath: "/var/lib/lightscope/events.sqlite",
                                                                nowNanos: 1_700_000_000_000_000_000))
        var shape: [String] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                shape.append(String(line.dropFirst("# TYPE ".count)))
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " ") {
                shape.append("  " + line[..<space])
            }
        }
        try GoldenFile.assertMatches(shape.joined(separator: "\n") + "\n", area: "metrics", name: "names-types-labels")
    }

    func testJournalFieldsOfEachKindOfEvent() throws {
        let time: UInt64 = 1_700_000_000_123_456_000
        var probe = EventRecord(timeNanos: time, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: 51234,
                                destination: "192.0.2.1", destinationPort: 23, verdict: .closed, packets: 1, ttl: 54, ports: nil)
        probe.tcpWindow = 1024
        probe.tcpOptions = "M1460"
        probe.tool = .masscan
        probe.tcpFlags = "S"
        var scan = EventRecord(timeNanos: time, interface: "eth1", proto: .udp, source: "2001:db8::7", sourcePort: nil,
                               destination: "2001:db8::1", destinationPort: nil, verdict: .portscan, packets: 52, ttl: 60, ports: 40)
        scan.tool = .nmap
        var backscatter = EventRecord(timeNanos: time, interface: "eth0", proto: .tcp, source: "198.51.100.20", sourcePort: 80,
                                      destination: nil, destinationPort: nil, verdict: .backscatter, packets: 412, ttl: nil, ports: nil)
        backscatter.answer = .synAck
        var addrscan = EventRecord(timeNanos: time, interface: "eth0", proto: .tcp, source: "anon4-6cf5eedfd3530cb1", sourcePort: nil,
                                   destination: nil, destinationPort: 23, verdict: .addrscan, packets: 30, ttl: 54, ports: nil)
        addrscan.addresses = 30
        var text = ""
        for record in [probe, scan, backscatter, addrscan] {
            let sent: [String] = JournalSink.withIOVecs(JournalFields.fields(for: record)) { iovecs in
                iovecs.map { String(decoding: UnsafeRawBufferPointer(start: $0.iov_base, count: $0.iov_len), as: UTF8.self) }
            }
            text += "--- \(record.verdict.rawValue)\n" + sent.map { $0 + "\n" }.joined()
        }
        try GoldenFile.assertMatches(text, area: "journal", name: "event-fields")
    }
}
