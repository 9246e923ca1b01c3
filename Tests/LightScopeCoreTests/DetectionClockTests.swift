@testable import LightScopeCore
import XCTest

/// Issue 17, item 14: in live capture the timers run on the monotonic clock, so a step of the
/// wall clock (which stamps the packets) neither freezes expiry nor rushes it, while every
/// event keeps its packet's capture time.
final class DetectionClockTests: XCTestCase {
    let local = IPAddress("192.0.2.1")!
    let second: UInt64 = 1_000_000_000
    let hour: UInt64 = 3_600_000_000_000
    let wallStart: UInt64 = 1_764_000_000 * 1_000_000_000
    let monotonicStart: UInt64 = 5_000 * 1_000_000_000
    var events: [UnwantedEvent] = []

    private func syn(from source: String) -> DecodedPacket {
        DecodedPacket(source: IPAddress(source)!, destination: local, isIPv6: false, ttl: 50,
                      transport: .tcp(TCPSegment(sourcePort: 40000, destinationPort: 8080, sequence: 1, acknowledgement: 0,
                                                 headerLength: 20, flags: .syn, window: 1024, options: TCPOptions())))
    }

    private func engine() -> DetectionEngine {
        DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: LocalAddresses(addresses: [local]),
                        clock: .monotonic)
    }

    /// The two clocks read `elapsed` after the start, the wall clock `wallShift` off.
    private func tick(_ engine: DetectionEngine, after elapsed: UInt64, wallShift: Int64 = 0) {
        let wall = UInt64(Int64(wallStart + elapsed) + wallShift)
        engine.advance(monotonicNanos: monotonicStart + elapsed, wallClockNanos: wall) { events.append($0) }
    }

    private func process(_ engine: DetectionEngine, _ packet: DecodedPacket, capturedAt time: UInt64) {
        engine.process(packet, timeNanos: time) { events.append($0) } lost: { XCTFail("lost \($0)") }
    }

    func testABackwardStepOfTheWallClockDoesNotFreezeExpiry() {
        let engine = engine()
        tick(engine, after: 0)
        process(engine, syn(from: "198.51.100.1"), capturedAt: wallStart + second)
        tick(engine, after: second + second / 2)
        // The wall clock steps back an hour; a SYN arrives, stamped by the stepped clock.
        tick(engine, after: 2 * second, wallShift: -Int64(hour))
        process(engine, syn(from: "198.51.100.2"), capturedAt: wallStart + 3 * second - hour)
        tick(engine, after: 10 * second, wallShift: -Int64(hour))
        XCTAssertEqual(events, [], "neither probe is 10 s old yet")
        tick(engine, after: 11 * second, wallShift: -Int64(hour))
        XCTAssertEqual(events.map(\.source), [IPAddress("198.51.100.1")!], "10 s after its SYN, on the monotonic clock")
        XCTAssertEqual(events.first?.timeNanos, wallStart + second, "its capture time, from before the step")
        tick(engine, after: 13 * second, wallShift: -Int64(hour))
        XCTAssertEqual(events.map(\.source), [IPAddress("198.51.100.1")!, IPAddress("198.51.100.2")!])
        XCTAssertEqual(events.last?.timeNanos, wallStart + 3 * second - hour, "its capture time, from after the step")
    }

    func testAForwardStepOfTheWallClockDoesNotRushExpiry() {
        let engine = engine()
        tick(engine, after: 0)
        process(engine, syn(from: "198.51.100.1"), capturedAt: wallStart + second)
        tick(engine, after: 2 * second, wallShift: Int64(hour))
        // A packet captured before the step, handled after it, is still timed by the old clock.
        process(engine, syn(from: "198.51.100.2"), capturedAt: wallStart + 2 * second - 1000)
        tick(engine, after: 5 * second, wallShift: Int64(hour))
        XCTAssertEqual(events, [], "an hour on the wall clock is not an hour of waiting")
        tick(engine, after: 12 * second + second / 2, wallShift: Int64(hour))
        XCTAssertEqual(events.map(\.timeNanos), [wallStart + second, wallStart + 2 * second - 1000])
    }

    /// Replay runs on the capture's own times, as it always did: a SYN stamped an hour back
    /// is an hour old to the timers, and a packet stamped before the timers' last run does
    /// not run them.
    func testReplayRunsOnCaptureTime() {
        let engine = DetectionEngine(interface: "pcap", settings: Settings.Detection(), localAddresses: LocalAddresses(addresses: [local]))
        process(engine, syn(from: "198.51.100.1"), capturedAt: wallStart + second)
        process(engine, syn(from: "198.51.100.2"), capturedAt: wallStart + 20 * second - hour)
        XCTAssertEqual(events, [])
        process(engine, syn(from: "198.51.100.3"), capturedAt: wallStart + 11 * second)
        XCTAssertEqual(events.map(\.timeNanos), [wallStart + second, wallStart + 20 * second - hour])
    }
}
