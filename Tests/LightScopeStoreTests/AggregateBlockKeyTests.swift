import LightScopeCore
@testable import LightScopeStore
import LightScopeTestSupport
import XCTest

/// Which flood block an event goes to, and the order in which blocks are closed: both a
/// function of the events alone, whatever table holds them.
final class AggregateBlockKeyTests: XCTestCase {
    static let minute = Sample.baseNanos / EventAggregates.minuteNanos * EventAggregates.minuteNanos

    static func probe(at timeNanos: UInt64, destination: IPAddress?, port: UInt16? = 80, source: UInt32 = 0x0A00_0001,
                      verdict: Verdict = .unanswered, proto: TransportProtocol = .tcp, interface: String = "eth0") -> UnwantedEvent {
        UnwantedEvent(timeNanos: timeNanos, interface: interface, proto: proto, source: IPAddress(ipv4: source), sourcePort: 40000,
                      destination: destination, destinationPort: port, verdict: verdict, packets: 1, tool: .unknown, tcpFlags: .syn)
    }

    /// Each field of a block's key, changed alone from the last event's, sends the event to
    /// another block, and back: the last block's cheap comparison misses none of them (a
    /// destination of `::` is not a missing one, 60 s later is the next minute).
    func testEveryFieldOfTheBlockKeyTellsBlocksApart() throws {
        let base = Self.probe(at: Self.minute + 1, destination: IPAddress(ipv4: 0xC000_0201))
        var variants: [UnwantedEvent] = [base]
        variants.append(Self.probe(at: Self.minute + EventAggregates.minuteNanos, destination: base.destination))
        variants.append(Self.probe(at: base.timeNanos, destination: IPAddress(ipv4: 0xC000_0202)))
        variants.append(Self.probe(at: base.timeNanos, destination: nil))
        variants.append(Self.probe(at: base.timeNanos, destination: IPAddress(high: 0, low: 0)))
        variants.append(Self.probe(at: base.timeNanos, destination: base.destination, port: nil))
        variants.append(Self.probe(at: base.timeNanos, destination: base.destination, verdict: .closed))
        variants.append(Self.probe(at: base.timeNanos, destination: base.destination, proto: .udp))
        variants.append(Self.probe(at: base.timeNanos, destination: base.destination, interface: "eth1"))
        var ipv6 = base
        ipv6.source = IPAddress("2001:db8::1")!
        variants.append(ipv6)
        var table = EventAggregates(capacity: 1_000)
        // The base, then each variant and back to the base: the last block changes every time.
        XCTAssertEqual(table.fold(base), .folded)
        for round in 0..<3 {
            for variant in variants.dropFirst() {
                XCTAssertEqual(table.fold(variant), .folded)
                XCTAssertEqual(table.fold(base), .folded)
            }
            XCTAssertEqual(table.count, variants.count, "round \(round)")
        }
        let blocks = table.take()
        XCTAssertEqual(blocks.count, variants.count)
        // In the order they were opened, each of one aggregate of its own events.
        XCTAssertEqual(blocks.map(\.first), variants)
        XCTAssertEqual(blocks.map(\.events), [1 + 3 * (variants.count - 1)] + Array(repeating: 3, count: variants.count - 1))
        XCTAssertEqual(blocks.map(\.aggregates), Array(repeating: 1, count: variants.count))
    }

    /// Events to `destinations` addresses over `minutes` minutes, a few probes each, the
    /// destinations' order shuffled every minute: past `maximumOpenBlocks` blocks are open at
    /// once, so the oldest minute's are closed to make room.
    static func sweep(destinations: Int, minutes: Int, seed: UInt64) -> [UnwantedEvent] {
        var random = SplitMix64(seed: seed)
        var events: [UnwantedEvent] = []
        for minute in 0..<UInt64(minutes) {
            var order = Array(0..<UInt32(destinations))
            order.shuffle(using: &random)
            for (index, destination) in order.enumerated() {
                for probe in 0..<UInt32(1 + random.next(below: 3)) {
                    events.append(Self.probe(at: Self.minute + minute * EventAggregates.minuteNanos + UInt64(index) * 1_000 + UInt64(probe),
                                             destination: IPAddress(ipv4: 0xC000_0200 + destination),
                                             port: UInt16(1 + random.next(below: 1_000)),
                                             source: 0x0A00_0000 | UInt32(random.next(below: 1 << 24))))
                }
            }
        }
        return events
    }

    /// Two tables fed the same events close and hand over the same blocks in the same order,
    /// with more than `maximumOpenBlocks` open (main closed them in a Dictionary's order, and
    /// past the limit chose among the oldest minute's by it: each table's order its own).
    func testTwoTablesOfTheSameEventsCloseTheSameBlocksInTheSameOrder() throws {
        let events = Self.sweep(destinations: 3 * EventAggregates.maximumOpenBlocks, minutes: 3, seed: 5)
        func rows(_ table: inout EventAggregates) -> [String] {
            var rows: [String] = []
            for (index, event) in events.enumerated() {
                XCTAssertNotEqual(table.fold(event), .refused)
                if index % 500 == 499 {
                    rows += table.take(closedBefore: event.timeNanos).map { "\($0.key) \($0.first.timeNanos) \($0.bytes)" }
                }
            }
            return rows + table.take().map { "\($0.key) \($0.first.timeNanos) \($0.bytes)" }
        }
        var first = EventAggregates(capacity: 100_000)
        let expected = rows(&first)
        XCTAssertGreaterThan(expected.count, 3 * 3 * EventAggregates.maximumOpenBlocks - 1)
        for _ in 0..<4 {
            var other = EventAggregates(capacity: 100_000)
            XCTAssertEqual(rows(&other), expected)
        }
    }
}
