import LightScopeCore
import XCTest

final class WatchdogPolicyTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func pulse(_ name: String, beats: UInt64, at time: UInt64) -> Heartbeat.Pulse {
        Heartbeat.Pulse(loopName: name, beatCount: beats, lastBeatNanos: time)
    }

    func testFirstEvaluationPingsSoSystemdSeesLifeRightAfterReady() {
        var policy = WatchdogPolicy(pingIntervalNanos: 15 * second, stallLimitNanos: 30 * second, startNanos: 100 * second)
        let actions = policy.evaluate(nowNanos: 100 * second, pulses: [pulse("runner loop", beats: 1, at: 100 * second)])
        XCTAssertEqual(actions, [.ping])
    }

    func testPingsOnlyWhenEveryLoopHasBeatenSinceThePreviousPing() {
        var policy = WatchdogPolicy(pingIntervalNanos: 10 * second, stallLimitNanos: 30 * second, startNanos: 0)
        XCTAssertEqual(policy.evaluate(nowNanos: 0, pulses: [pulse("runner", beats: 1, at: 0), pulse("eth0", beats: 1, at: 0)]), [.ping])
        // Interval not yet due: nothing, even though both beat.
        XCTAssertEqual(policy.evaluate(nowNanos: 5 * second, pulses: [pulse("runner", beats: 5, at: 5 * second), pulse("eth0", beats: 5, at: 5 * second)]), [])
        // Due, but eth0 has not beaten since the ping: withheld, and said once.
        let stuck = pulse("eth0", beats: 1, at: 0)
        XCTAssertEqual(policy.evaluate(nowNanos: 10 * second, pulses: [pulse("runner", beats: 10, at: 10 * second), stuck]),
                       [.withhold(notBeaten: ["eth0"])])
        XCTAssertEqual(policy.evaluate(nowNanos: 11 * second, pulses: [pulse("runner", beats: 11, at: 11 * second), stuck]), [])
        // eth0 beats again: the ping goes out at once.
        XCTAssertEqual(policy.evaluate(nowNanos: 12 * second, pulses: [pulse("runner", beats: 12, at: 12 * second), pulse("eth0", beats: 2, at: 12 * second)]),
                       [.ping])
    }

    func testAQuietLoopThatStillWakesKeepsThePingsGoing() {
        // A packet loop with no packets still beats on every poll() timeout.
        var policy = WatchdogPolicy(pingIntervalNanos: 2 * second, stallLimitNanos: 4 * second, startNanos: 0)
        var pings = 0
        for tick in 0...40 {
            let now = UInt64(tick) * second / 2
            let beats = UInt64(tick) + 1
            let actions = policy.evaluate(nowNanos: now, pulses: [pulse("runner", beats: beats, at: now), pulse("eth0", beats: beats, at: now)])
            XCTAssertFalse(actions.contains { if case .stalled = $0 { true } else { false } })
            pings += actions.filter { $0 == .ping }.count
        }
        XCTAssertEqual(pings, 11) // at 0, 2, 4, ... 20 s
    }

    func testAStalledLoopIsReportedOnceAndSilencesThePings() {
        var policy = WatchdogPolicy(pingIntervalNanos: 1 * second, stallLimitNanos: 3 * second, startNanos: 0)
        _ = policy.evaluate(nowNanos: 0, pulses: [pulse("runner", beats: 1, at: 0), pulse("eth0", beats: 1, at: 0)])
        var reports: [WatchdogPolicy.Action] = []
        for tick in 1...10 {
            let now = UInt64(tick) * second
            reports += policy.evaluate(nowNanos: now, pulses: [pulse("runner", beats: UInt64(tick) + 1, at: now), pulse("eth0", beats: 1, at: 0)])
        }
        XCTAssertFalse(reports.contains(.ping))
        XCTAssertEqual(reports.filter { if case .stalled = $0 { true } else { false } },
                       [.stalled(loopName: "eth0", silentForNanos: 4 * second)])
        XCTAssertEqual(policy.stalledLoops, ["eth0"])
    }

    func testARecoveredLoopIsReportedAndPingsResume() {
        var policy = WatchdogPolicy(pingIntervalNanos: 1 * second, stallLimitNanos: 2 * second, startNanos: 0)
        _ = policy.evaluate(nowNanos: 0, pulses: [pulse("eth0", beats: 1, at: 0)])
        XCTAssertEqual(policy.evaluate(nowNanos: 3 * second, pulses: [pulse("eth0", beats: 1, at: 0)]),
                       [.stalled(loopName: "eth0", silentForNanos: 3 * second)])
        XCTAssertEqual(policy.evaluate(nowNanos: 4 * second, pulses: [pulse("eth0", beats: 2, at: 4 * second)]),
                       [.recovered(loopName: "eth0"), .ping])
    }

    func testALoopAddedAfterAPingDoesNotBlockTheNextPing() {
        var policy = WatchdogPolicy(pingIntervalNanos: 1 * second, stallLimitNanos: 3 * second, startNanos: 0)
        XCTAssertEqual(policy.evaluate(nowNanos: 0, pulses: [pulse("runner", beats: 1, at: 0)]), [.ping])
        XCTAssertEqual(policy.evaluate(nowNanos: second, pulses: [pulse("runner", beats: 2, at: second), pulse("eth1", beats: 1, at: second)]), [.ping])
    }

    func testARemovedStalledLoopNoLongerBlocksPings() {
        var policy = WatchdogPolicy(pingIntervalNanos: 1 * second, stallLimitNanos: 2 * second, startNanos: 0)
        _ = policy.evaluate(nowNanos: 0, pulses: [pulse("runner", beats: 1, at: 0), pulse("eth0", beats: 1, at: 0)])
        XCTAssertEqual(policy.evaluate(nowNanos: 3 * second, pulses: [pulse("runner", beats: 3, at: 3 * second), pulse("eth0", beats: 1, at: 0)]),
                       [.stalled(loopName: "eth0", silentForNanos: 3 * second)])
        XCTAssertEqual(policy.evaluate(nowNanos: 4 * second, pulses: [pulse("runner", beats: 4, at: 4 * second)]),
                       [.recovered(loopName: "eth0"), .ping])
    }

    func testHeartbeatCountsEveryBeat() {
        let heartbeat = Heartbeat(loopName: "eth0", now: 5)
        XCTAssertEqual(heartbeat.pulse, Heartbeat.Pulse(loopName: "eth0", beatCount: 0, lastBeatNanos: 5))
        heartbeat.beat(now: 7)
        heartbeat.beat(now: 9)
        XCTAssertEqual(heartbeat.pulse, Heartbeat.Pulse(loopName: "eth0", beatCount: 2, lastBeatNanos: 9))
    }
}
