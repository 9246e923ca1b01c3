import LightScopeCore
@testable import LightScopeStore
import XCTest

/// The flood block's bytes (docs/store.md, "Flood blocks"): written as documented, read back
/// whole, and every damaged or truncated block refused with a clear error, never a crash.
final class AggregateBlockTests: XCTestCase {
    /// 203.0.113.0/24 probing port 23: 2 events, 2 packets, samples .7 and .9.
    static let ipv4 = AggregateBlock(isIPv6: false, isPseudonymised: false, hasPorts: true, entries: [
        AggregateBlock.Entry(port: 23, network: 0xCB0071, events: 2, packets: 2, samples: [.init(low: 7), .init(low: 9)]),
        AggregateBlock.Entry(port: 8080, network: 0xC63364, events: 300, packets: 301, samples: [.init(low: 1)]),
    ])

    func testTheBytesAreAsDocumented() throws {
        XCTAssertEqual(Self.ipv4.encoded(), [
            1, 4, 2, // format, flags (ports), 2 entries
            0, 23, 0xCB, 0x00, 0x71, 2, 2, 2, 7, 9, // port, /24, events, packets, 2 samples
            0x1F, 0x90, 0xC6, 0x33, 0x64, 0xAC, 0x02, 0xAD, 0x02, 1, 1, // 300 and 301 as varints
        ])
        // A single probe from IPv4 in the clear: 9 bytes.
        let single = AggregateBlock(isIPv6: false, isPseudonymised: false, hasPorts: true, entries: [
            .init(port: 1, network: 1, events: 1, packets: 1, samples: [.init(low: 1)])])
        XCTAssertEqual(single.encoded().count - 3, 9)
        XCTAssertEqual(try AggregateBlock.decode(Self.ipv4.encoded()), Self.ipv4)
        XCTAssertEqual(AggregateBlock.entryCount(of: Self.ipv4.encoded()), 2)
    }

    func testIPv6AndPseudonymisedBlocksRoundTrip() throws {
        let ipv6 = AggregateBlock(isIPv6: true, isPseudonymised: false, hasPorts: false, entries: [
            .init(port: 0, network: 0x2001_0db8_00aa, events: 3, packets: 3,
                  samples: [.init(high: 0xbb, low: 7), .init(high: 0xcc, low: 0x9)])])
        XCTAssertEqual(try AggregateBlock.decode(ipv6.encoded()), ipv6)
        let row = EventRecord(timeNanos: 5, interface: "eth0", proto: .udp, source: "::/0", sourcePort: nil, destination: "2001:db8::1",
                              destinationPort: nil, verdict: .closed, packets: 3, aggregated: 3)
        let record = try XCTUnwrap(ipv6.records(row: row).first)
        XCTAssertEqual(record.source, "2001:db8:aa::/48")
        XCTAssertEqual(record.samples, "2001:db8:aa:bb::7,2001:db8:aa:cc::9")
        XCTAssertNil(record.destinationPort)

        let key = [UInt8](repeating: 7, count: AnonymisationKey.byteCount)
        let anonymiser = AddressAnonymiser(mode: .sourceAndDestination, key: key)
        let hidden = Self.ipv4.pseudonymised(by: anonymiser)
        XCTAssertEqual(try AggregateBlock.decode(hidden.encoded()), hidden)
        let records = hidden.records(row: row)
        XCTAssertEqual(records[0].source, anonymiser.pseudonym(for: IPAddress("203.0.113.0")!) + "/24")
        XCTAssertEqual(records[0].samples, ["203.0.113.7", "203.0.113.9"].map { anonymiser.pseudonym(for: IPAddress($0)!) }.joined(separator: ","))
        XCTAssertEqual(records[1].destinationPort, 8080)
        XCTAssertEqual(records[1].aggregated, 300)
        XCTAssertEqual(records[1].packets, 301)
    }

    func testEveryTruncationIsAClearError() {
        for bytes in [Self.ipv4.encoded(), Self.ipv4.pseudonymised(by: AddressAnonymiser(mode: .sourceAndDestination, key: Array(repeating: 1, count: AnonymisationKey.byteCount))).encoded()] {
            for length in 0..<bytes.count {
                XCTAssertThrowsError(try AggregateBlock.decode(Array(bytes.prefix(length))), "\(length) bytes") { error in
                    XCTAssertTrue("\(error)".hasPrefix("damaged aggregate block at byte "), "\(error)")
                }
            }
        }
    }

    func testDamagedBlocksAreRefusedWithTheirReason() {
        let good = Self.ipv4.encoded()
        func damage(_ change: (inout [UInt8]) -> Void) -> String {
            var bytes = good
            change(&bytes)
            do {
                _ = try AggregateBlock.decode(bytes)
                return "decoded"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(damage { $0[0] = 2 }, "damaged aggregate block at byte 0: format 2, this LightScope reads format 1")
        XCTAssertEqual(damage { $0[1] = 0x84 }, "damaged aggregate block at byte 1: unknown flags 132")
        XCTAssertEqual(damage { $0[2] = 0 }, "damaged aggregate block at byte 2: 0 entries, not 1...1024")
        XCTAssertEqual(damage { $0[8] = 0 }, "damaged aggregate block at byte 8: an entry of 0 events")
        XCTAssertEqual(damage { $0[10] = 5 }, "damaged aggregate block at byte 10: 5 samples, not 1...4")
        XCTAssertEqual(damage { $0[10] = 0 }, "damaged aggregate block at byte 10: 0 samples, not 1...4")
        XCTAssertEqual(damage { $0.append(0) }, "damaged aggregate block at byte 24: 1 bytes after the last entry")
        XCTAssertEqual(damage { $0 = [1, 4] + Array(repeating: 0xFF, count: 10) + [1] },
                       "damaged aggregate block at byte 2: the entry count overflows 64 bits")
        XCTAssertEqual(damage { $0 = [1, 4, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80] },
                       "damaged aggregate block at byte 11: truncated in the entry count")
        XCTAssertEqual(AggregateBlock.entryCount(of: [9, 4, 2]), 0)
        // Random bytes never crash the decoder.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? AggregateBlock.decode(bytes)
            _ = try? AggregateBlock.decode((0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }

    /// Retention deletes a block's row by its time and counts it as the events it stands for:
    /// lost events are counted whole, the limits count rows.
    func testRetentionCountsABlockAsItsEvents() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(directory: directory.path)
        var row = EventRecord(timeNanos: 1_000, interface: "eth0", proto: .tcp, source: "0.0.0.0/0", sourcePort: nil,
                              destination: "192.0.2.1", destinationPort: nil, verdict: .closed, packets: 302, aggregated: 302)
        try store.insert([row], blocks: [Self.ipv4.encoded()])
        row.aggregated = nil
        row.timeNanos = 2_000
        try store.insert([row])
        XCTAssertEqual(try store.deleteEvents(before: 3_000, limit: 10), EventStore.Deletion(events: 303, undelivered: 303, rows: 2))
    }

    /// A reader meets a damaged block in the store: the query fails with the store's error, the
    /// CLI says it, nothing crashes.
    func testADamagedBlockInTheStoreIsTheReadersError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(directory: directory.path)
        let row = EventRecord(timeNanos: 1_000, interface: "eth0", proto: .tcp, source: "0.0.0.0/0", sourcePort: nil,
                              destination: "192.0.2.1", destinationPort: nil, verdict: .closed, packets: 2, aggregated: 2)
        try store.insert([row], blocks: [[1, 4, 1, 0, 23]])
        XCTAssertThrowsError(try store.events(since: 0)) { error in
            XCTAssertTrue("\(error)".contains("flood block of the closed events at 1000 ns is unreadable (damaged aggregate block at byte 5: truncated in a network)"), "\(error)")
        }
        XCTAssertThrowsError(try store.topPorts(since: 0))
        XCTAssertThrowsError(try store.topSources(since: 0))
        XCTAssertEqual(try store.countsByVerdict(since: 0)[.closed], 2, "counts need no decoding")
    }
}
