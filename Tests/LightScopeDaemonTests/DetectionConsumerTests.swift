@testable import LightScopeCore
@testable import LightScopeDaemon
import LightScopeTestSupport
import XCTest

/// The live pipeline's detection: its timers on the monotonic clock (issue 17, item 14), its
/// one budget for the whole daemon (item 17), its log of eviction episodes (item 8).
final class DetectionConsumerTests: XCTestCase {
    private final class Collector: EventSink, @unchecked Sendable {
        var events: [UnwantedEvent] = []
        func submit(_ event: UnwantedEvent) -> Bool {
            events.append(event)
            return true
        }
    }

    let second: UInt64 = 1_000_000_000
    let hour: UInt64 = 3_600_000_000_000
    let wallStart: UInt64 = 1_764_000_000 * 1_000_000_000
    let monotonicStart: UInt64 = 5_000 * 1_000_000_000

    /// The wall clock steps back an hour two seconds after a SYN: the probe still times out
    /// ten seconds after it came, by the monotonic clock, with its own capture time.
    func testLiveTimersFollowTheMonotonicClockWhenTheWallClockStepsBack() {
        let collector = Collector()
        let local = IPAddress("192.0.2.1")!
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [local]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: collector)
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                         PacketBuilder.ipv4("198.51.100.1", "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                            PacketBuilder.tcp(40000, 8080, flags: 0x02)))
        syn.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: wallStart + second, linkType: 1) }
        consumer.tick(monotonicNanos: monotonicStart + 2 * second, wallClockNanos: wallStart + 2 * second - hour)
        consumer.tick(monotonicNanos: monotonicStart + 10 * second, wallClockNanos: wallStart + 10 * second - hour)
        XCTAssertEqual(collector.events, [])
        consumer.tick(monotonicNanos: monotonicStart + 11 * second, wallClockNanos: wallStart + 11 * second - hour)
        XCTAssertEqual(collector.events.map(\.verdict), [.unanswered])
        XCTAssertEqual(collector.events.first?.timeNanos, wallStart + second)
    }

    /// Every loop's engine draws on the same budget, whatever the interface; a new budget
    /// comes only with a new `memory_budget_mib`.
    func testEveryLoopDrawsOnTheDaemonsOneBudget() {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 48
        let first = DetectionConsumer.budget(for: settings)
        XCTAssertTrue(DetectionConsumer.budget(for: settings) === first)
        settings.memoryBudgetMiB = 24
        let changed = DetectionConsumer.budget(for: settings)
        XCTAssertFalse(changed === first)
        XCTAssertEqual(changed.memoryBudgetMiB, 24)
    }

    func testEvictionsAreLoggedOncePerEpisode() {
        var episodes = EvictionEpisodes()
        var state = DetectionState(pendingProbes: 10, recentConnections: 0, scanSources: 5, probeEvictions: 0,
                                   scanSourceEvictions: 0, connectionEvictions: 0, optionsNotKept: 0, tableBytes: 0)
        XCTAssertNil(episodes.check(state, monotonicNanos: 0, interface: "lab0", budgetMiB: 64))
        episodes.lost(LostProbe(timeNanos: 1, source: IPAddress("198.51.100.7")!, sourcePort: 1, destination: IPAddress("192.0.2.1")!,
                                destinationPort: 23, packets: 1))
        state.probeEvictions = 40
        state.scanSourceEvictions = 3
        let started = episodes.check(state, monotonicNanos: second, interface: "lab0", budgetMiB: 64)
        XCTAssertEqual(started?.0, .warning)
        XCTAssertTrue(started?.1.contains("40 probes lost") ?? false, started?.1 ?? "")
        XCTAssertTrue(started?.1.contains("198.51.100.7") ?? false, started?.1 ?? "")
        XCTAssertTrue(started?.1.contains("memory_budget_mib (now 64)") ?? false, started?.1 ?? "")
        // Still evicting, then quiet but not for long: nothing more to say.
        state.probeEvictions = 90
        XCTAssertNil(episodes.check(state, monotonicNanos: 2 * second, interface: "lab0", budgetMiB: 64))
        XCTAssertNil(episodes.check(state, monotonicNanos: 30 * second, interface: "lab0", budgetMiB: 64))
        let ended = episodes.check(state, monotonicNanos: 62 * second, interface: "lab0", budgetMiB: 64)
        XCTAssertEqual(ended?.0, .notice)
        XCTAssertTrue(ended?.1.contains("lost 90 probes and forgot 3 scan sources") ?? false, ended?.1 ?? "")
        XCTAssertNil(episodes.check(state, monotonicNanos: 70 * second, interface: "lab0", budgetMiB: 64))
    }
}
