import LightScopeCore
import LightScopeTestSupport
import XCTest

final class EventJSONTests: XCTestCase {
    static let closed = EventRecord(UnwantedEvent(
        timeNanos: 1_795_989_366_123_456_000, interface: "eth0", proto: .tcp,
        source: IPAddress("203.0.113.7")!, sourcePort: 51234, destination: IPAddress("192.0.2.1")!, destinationPort: 23,
        verdict: .closed, packets: 1, ttl: 54, tcpWindow: 64240, options: PacketBuilder.linuxSYNOptions))

    func testWritesTheStableFieldNamesInOrder() {
        XCTAssertEqual(EventJSON.encode(Self.closed), """
            {"time":"2026-11-29T21:56:06.123456Z","interface":"eth0","proto":"tcp","src":"203.0.113.7","sport":51234,\
            "dst":"192.0.2.1","dport":23,"verdict":"closed","packets":1,"ttl":54,"window":64240,"tcp_options":"M1460,S,T,N,W7",\
            "tool":"unknown"}
            """)
    }

    func testOmitsFieldsWithoutValue() {
        let scan = EventRecord(timeNanos: 0, interface: "eth0", proto: .udp, source: "2001:db8::7", sourcePort: nil,
                               destination: nil, destinationPort: 161, verdict: .addrscan, packets: 12, addresses: 12)
        XCTAssertEqual(EventJSON.encode(scan), """
            {"time":"1970-01-01T00:00:00.000000Z","interface":"eth0","proto":"udp","src":"2001:db8::7",\
            "dport":161,"verdict":"addrscan","packets":12,"addresses":12,"tool":"unknown"}
            """)
    }

    func testRoundTripsEveryField() throws {
        var record = Self.closed
        record.ports = 40
        record.addresses = 3
        record.interface = "we\"ird\\\u{1}name"
        record.tool = .masscan
        XCTAssertEqual(try EventJSON.decode(EventJSON.encode(record)), record)
        XCTAssertEqual(try EventJSON.decode(EventJSON.encode(Self.closed)), Self.closed)
    }

    func testEscapesControlCharactersAndQuotes() {
        var record = Self.closed
        record.tcpOptions = "a\"b\\c\nd\u{1}"
        XCTAssertTrue(EventJSON.encode(record).contains(#""tcp_options":"a\"b\\c\nd\u0001""#))
    }

    func testDecodeAcceptsNullAndUnknownKeys() throws {
        let line = #"{"time":"2026-11-29T21:56:06.123456Z", "interface":"eth0","proto":"tcp","src":"anon4-0011223344556677","sport":null,"dst":null,"verdict":"portscan","packets":52,"ports":40,"future":"x"}"#
        let record = try EventJSON.decode(line)
        XCTAssertNil(record.sourcePort)
        XCTAssertNil(record.destination)
        XCTAssertEqual(record.source, "anon4-0011223344556677")
        XCTAssertEqual(record.verdict, .portscan)
        XCTAssertEqual(record.ports, 40)
    }

    /// Every event names a tool; a line from before tools were named, or naming one a newer
    /// LightScope knows and this one does not, reads as `unknown` rather than failing.
    func testToolIsAlwaysWrittenAndReadsAsUnknownWhenAbsentOrNew() throws {
        var record = Self.closed
        record.tool = .nmap
        XCTAssertTrue(EventJSON.encode(record).hasSuffix(#","tcp_options":"M1460,S,T,N,W7","tool":"nmap"}"#), EventJSON.encode(record))
        let base = #"{"time":"2026-11-29T21:56:06Z","interface":"eth0","proto":"tcp","src":"a","verdict":"closed","packets":1"#
        XCTAssertEqual(try EventJSON.decode(base + "}").tool, .unknown)
        XCTAssertEqual(try EventJSON.decode(base + #","tool":"zgrab9"}"#).tool, .unknown)
        XCTAssertEqual(try EventJSON.decode(base + #","tool":"hping3"}"#).tool, .hping3)
        XCTAssertThrowsError(try EventJSON.decode(base + #","tool":3}"#))
    }

    /// Only backscatter has an answer; one this version does not know reads as none.
    func testAnswerIsWrittenForBackscatterAndReadBack() throws {
        var record = Self.closed
        XCTAssertFalse(EventJSON.encode(record).contains("answer"))
        record.verdict = .backscatter
        for answer in BackscatterAnswer.allCases {
            record.answer = answer
            XCTAssertTrue(EventJSON.encode(record).hasSuffix(#","tool":"unknown","answer":"\#(answer.name)"}"#), EventJSON.encode(record))
            XCTAssertEqual(try EventJSON.decode(EventJSON.encode(record)), record)
        }
        let base = #"{"time":"2026-11-29T21:56:06Z","interface":"eth0","proto":"tcp","src":"a","verdict":"backscatter","packets":1"#
        XCTAssertNil(try EventJSON.decode(base + #","answer":"icmp-redirect"}"#).answer)
        XCTAssertEqual(try EventJSON.decode(base + #","answer":"rst"}"#).answer, .rst)
    }

    func testDecodeNamesWhatIsWrong() {
        XCTAssertThrowsError(try EventJSON.decode(#"{"interface":"eth0"}"#)) { error in
            XCTAssertTrue("\(error)".contains("'time' is missing"), "\(error)")
        }
        XCTAssertThrowsError(try EventJSON.decode(#"{"time":"2026-11-29T21:56:06Z","interface":"eth0","proto":"sctp","src":"a","verdict":"closed","packets":1}"#)) { error in
            XCTAssertTrue("\(error)".contains("sctp"), "\(error)")
        }
        XCTAssertThrowsError(try EventJSON.decode(#"{"time":"2026-11-29T21:56:06Z","interface":"eth0","proto":"tcp","src":"a","verdict":"closed","packets":1,"ttl":300}"#))
        XCTAssertThrowsError(try EventJSON.decode(#"{"time": 5"#))
    }
}
