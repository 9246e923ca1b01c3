@testable import LightScopeCore
import XCTest

/// A packet loop's events wait in an `EventHandOverBuffer` until it is full or the loop hands
/// them over: in the order reported, each once, the buffer saying when it is full.
final class EventHandOverBufferTests: XCTestCase {
    private func event(_ port: UInt16) -> UnwantedEvent {
        UnwantedEvent(timeNanos: 1_000 + UInt64(port), interface: "lab0", proto: .tcp, source: IPAddress(ipv4: 0x0A00_0001),
                      sourcePort: 40000, destination: IPAddress(ipv4: 0xC000_0201), destinationPort: port,
                      verdict: .unanswered, packets: 1, ttl: 50, tcpWindow: 1024, options: TCPOptions(), tcpFlags: .syn)
    }

    func testEventsWaitInOrderAndTheLastThatFitsSaysFull() {
        var buffer = EventHandOverBuffer(capacity: 3)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertFalse(buffer.append(event(1)))
        XCTAssertFalse(buffer.append(event(2)))
        XCTAssertTrue(buffer.append(event(3)), "full: hand it over")
        XCTAssertEqual(Array(buffer.events), [event(1), event(2), event(3)])
        buffer.removeAll()
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.events.count, 0)
        XCTAssertFalse(buffer.append(event(4)))
        XCTAssertEqual(Array(buffer.events), [event(4)], "emptied: the next event is the first")
    }

    /// An event copied to the next slot counts only once claimed: one left unclaimed (an
    /// abandoned loop's) is overwritten by the next.
    func testAnEventAtTheNextSlotCountsOnceClaimed() {
        var buffer = EventHandOverBuffer(capacity: 2)
        buffer.nextSlot.initialize(to: event(7))
        XCTAssertTrue(buffer.isEmpty, "not claimed")
        buffer.nextSlot.initialize(to: event(8))
        XCTAssertFalse(buffer.claimNextSlot())
        XCTAssertEqual(Array(buffer.events), [event(8)])
        buffer.nextSlot.initialize(to: event(9))
        XCTAssertTrue(buffer.claimNextSlot())
        XCTAssertEqual(Array(buffer.events), [event(8), event(9)])
    }
}
