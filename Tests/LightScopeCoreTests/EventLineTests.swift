import LightScopeCore
import XCTest

final class EventLineTests: XCTestCase {
    func testClosedPortLine() {
        let record = EventRecord(timeNanos: 0, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: 51234,
                                 destination: "192.0.2.1", destinationPort: 23, verdict: .closed, packets: 1, ttl: 54)
        XCTAssertEqual(EventLine.text(record), "unwanted tcp 203.0.113.7:51234 -> 192.0.2.1:23 closed (1 packet, ttl 54)")
    }

    func testIPv6PortsAreBracketedAndScansSayWhatTheySpan() {
        let portscan = EventRecord(timeNanos: 0, interface: "eth0", proto: .tcp, source: "2001:db8::7", sourcePort: nil,
                                   destination: "2001:db8::1", destinationPort: nil, verdict: .portscan, packets: 52, ttl: 54, ports: 40)
        XCTAssertEqual(EventLine.text(portscan), "unwanted tcp 2001:db8::7 -> 2001:db8::1 portscan (40 ports, 52 packets, ttl 54)")
        let addrscan = EventRecord(timeNanos: 0, interface: "eth0", proto: .udp, source: "2001:db8::7", sourcePort: 5353,
                                   destination: nil, destinationPort: 161, verdict: .addrscan, packets: 12, addresses: 12)
        XCTAssertEqual(EventLine.text(addrscan), "unwanted udp [2001:db8::7]:5353 -> *:161 addrscan (12 addresses, 12 packets)")
    }

    func testJournalFieldsCarryTheFixedIdsAndEveryValue() {
        let record = EventJSONTests.closed
        let fields = JournalFields.fields(for: record)
        XCTAssertEqual(Array(fields.prefix(4)), [
            "MESSAGE=unwanted tcp 203.0.113.7:51234 -> 192.0.2.1:23 closed (1 packet, ttl 54)",
            "MESSAGE_ID=4e8be3b84edf4995a2b08f9a4d274622", "PRIORITY=5", "SYSLOG_IDENTIFIER=lightscope",
        ])
        XCTAssertEqual(Array(fields.dropFirst(4)), [
            "LIGHTSCOPE_TIME=2026-11-29T21:56:06.123456Z", "LIGHTSCOPE_INTERFACE=eth0", "LIGHTSCOPE_PROTO=tcp",
            "LIGHTSCOPE_SRC=203.0.113.7", "LIGHTSCOPE_SPORT=51234", "LIGHTSCOPE_DST=192.0.2.1", "LIGHTSCOPE_DPORT=23",
            "LIGHTSCOPE_VERDICT=closed", "LIGHTSCOPE_PACKETS=1", "LIGHTSCOPE_TTL=54", "LIGHTSCOPE_WINDOW=64240",
            "LIGHTSCOPE_TCP_OPTIONS=M1460,S,T,N,W7", "LIGHTSCOPE_TOOL=unknown",
        ])
    }

    /// The line names a tool only when one was named, so ordinary events read as before.
    func testANamedToolEndsTheDetails() {
        var record = EventJSONTests.closed
        record.tool = .nmap
        XCTAssertEqual(EventLine.text(record), "unwanted tcp 203.0.113.7:51234 -> 192.0.2.1:23 closed (1 packet, ttl 54, tool nmap)")
        XCTAssertTrue(JournalFields.fields(for: record).contains("LIGHTSCOPE_TOOL=nmap"))
    }

    /// A backscatter line says what the victim sent first; its fields carry the answer.
    func testBackscatterNamesTheAnswer() {
        let record = EventRecord(timeNanos: 0, interface: "eth0", proto: .tcp, source: "198.51.100.20", sourcePort: 80,
                                 destination: "192.0.2.1", destinationPort: nil, verdict: .backscatter, packets: 412, ttl: 52,
                                 answer: .synAck)
        XCTAssertEqual(EventLine.text(record), "unwanted tcp 198.51.100.20:80 -> 192.0.2.1 backscatter (answer syn-ack, 412 packets, ttl 52)")
        XCTAssertTrue(JournalFields.fields(for: record).contains("LIGHTSCOPE_ANSWER=syn-ack"))
        XCTAssertFalse(JournalFields.fields(for: EventJSONTests.closed).contains { $0.hasPrefix("LIGHTSCOPE_ANSWER=") })
    }
}
