import LightScopeCore
@testable import LightScopeStore
import LightScopeTestSupport
import XCTest

/// A closed flood block's bytes, packed on the packet loop (`EventAggregates.close`, its own
/// loop for IPv4 sources), are those of the documented format (`AggregateBlock.encoded`) for
/// the aggregates the events make, worked out here without the fold.
final class AggregatePackingTests: XCTestCase {
    func testAClosedBlocksBytesAreTheDocumentedOnes() throws {
        for (isIPv6, hasPorts) in [(false, true), (false, false), (true, true)] {
            var random = SplitMix64(seed: hasPorts ? 7 : 8)
            var table = EventAggregates(capacity: 100_000)
            // Expected aggregates in the order they were opened: port, network, and the rest.
            var expected: [UInt64: (order: Int, entry: AggregateBlock.Entry)] = [:]
            for index in 0..<6_000 {
                // Few networks and ports, so that aggregates take many events (a varint of two
                // bytes) and up to `sampleSize` samples; port 100's come from 2 hosts of each network.
                let network = UInt64(random.next(below: 6))
                let host = UInt64(random.next(below: index % 3 == 0 ? 2 : 200))
                let port = index % 3 == 0 ? 100 : UInt16(1 + random.next(below: 5))
                let packets = UInt32(1 + random.next(below: 3))
                let source = isIPv6 ? IPAddress(high: 0x2001_0DB8_0000_0000 | network << 16 | host, low: host &* 0x1_0001)
                    : IPAddress(ipv4: 0x0A00_0000 | UInt32(network) << 8 | UInt32(host))
                let event = UnwantedEvent(timeNanos: Sample.baseNanos, interface: "eth0", proto: .tcp, source: source,
                                          sourcePort: 40000, destination: IPAddress(ipv4: 0xC000_0201),
                                          destinationPort: hasPorts ? port : nil, verdict: .unanswered, packets: packets,
                                          tool: .unknown, tcpFlags: .syn)
                XCTAssertNotEqual(table.fold(event), .refused)
                let networkKey = isIPv6 ? source.high >> 16 : (source.low >> 8) & 0xFF_FFFF
                let part = isIPv6 ? AggregateBlock.Part(high: UInt16(truncatingIfNeeded: source.high), low: source.low)
                    : AggregateBlock.Part(low: source.low & 0xFF)
                let key = networkKey << 16 | UInt64(hasPorts ? port : 0)
                var aggregate = expected[key] ?? (expected.count, AggregateBlock.Entry(port: hasPorts ? port : 0, network: networkKey,
                                                                                       events: 0, packets: 0, samples: []))
                aggregate.entry.events += 1
                aggregate.entry.packets += UInt64(packets)
                if aggregate.entry.samples.count < EventAggregates.sampleSize, !aggregate.entry.samples.contains(part) {
                    aggregate.entry.samples.append(part)
                }
                expected[key] = aggregate
            }
            let blocks = table.take()
            XCTAssertEqual(blocks.count, 1)
            let entries = expected.values.sorted { $0.order < $1.order }.map(\.entry)
            XCTAssertTrue(entries.contains { $0.events >= 128 }, "a count of two varint bytes")
            XCTAssertTrue(entries.contains { $0.samples.count == EventAggregates.sampleSize })
            XCTAssertEqual(entries.contains { $0.samples.count < EventAggregates.sampleSize }, hasPorts)
            let block = AggregateBlock(isIPv6: isIPv6, isPseudonymised: false, hasPorts: hasPorts, entries: entries)
            XCTAssertEqual(blocks.first?.bytes, block.encoded(), "IPv6 \(isIPv6), ports \(hasPorts)")
            XCTAssertEqual(try AggregateBlock.decode(try XCTUnwrap(blocks.first?.bytes)), block)
        }
    }
}
