/// Decides, from the loops' heartbeats alone, whether systemd may be told "alive".
///
/// The shape is MaxScale's notifier: a ping is sent only when every registered loop has
/// beaten since the previous ping, so a hung packet loop silences the pings even though
/// the runner itself is fine. A loop silent for longer than the stall limit is reported
/// once, which lets the runner ask systemd for an immediate restart (WATCHDOG=trigger).
/// Pure: time and heartbeats come in, actions come out.
public struct WatchdogPolicy: Sendable {
    public let pingIntervalNanos: UInt64
    public let stallLimitNanos: UInt64

    private var lastPingNanos: UInt64
    private var beatCountsAtLastPing: [String: UInt64] = [:]
    private var reportedStalls: Set<String> = []
    private var withholdReported = false

    public enum Action: Equatable, Sendable {
        /// Every loop has beaten since the last ping and the interval is due: send WATCHDOG=1.
        case ping
        /// The interval is due but these loops have not beaten since the last ping.
        case withhold(notBeaten: [String])
        /// A loop crossed the stall limit: log it, show it, send WATCHDOG=trigger.
        case stalled(loopName: String, silentForNanos: UInt64)
        /// A loop reported stalled beats again.
        case recovered(loopName: String)
    }

    public init(pingIntervalNanos: UInt64, stallLimitNanos: UInt64, startNanos: UInt64) {
        precondition(pingIntervalNanos > 0 && stallLimitNanos > pingIntervalNanos / 2)
        self.pingIntervalNanos = pingIntervalNanos
        self.stallLimitNanos = stallLimitNanos
        // The first ping goes out on the first evaluation: systemd arms its timer at READY=1.
        self.lastPingNanos = startNanos &- pingIntervalNanos
    }

    public var stalledLoops: Set<String> { reportedStalls }

    public mutating func evaluate(nowNanos: UInt64, pulses: [Heartbeat.Pulse]) -> [Action] {
        var actions: [Action] = []
        var stalledNow: Set<String> = []
        for pulse in pulses {
            let silent = nowNanos > pulse.lastBeatNanos ? nowNanos - pulse.lastBeatNanos : 0
            if silent > stallLimitNanos {
                stalledNow.insert(pulse.loopName)
                if !reportedStalls.contains(pulse.loopName) {
                    actions.append(.stalled(loopName: pulse.loopName, silentForNanos: silent))
                }
            }
        }
        for name in reportedStalls.subtracting(stalledNow).sorted() {
            actions.append(.recovered(loopName: name))
        }
        // A loop that was removed (its interface vanished) is no longer stalled either.
        reportedStalls = stalledNow
        guard stalledNow.isEmpty else { return actions }

        guard nowNanos &- lastPingNanos >= pingIntervalNanos else { return actions }
        let notBeaten = pulses.filter { pulse in
            beatCountsAtLastPing[pulse.loopName].map { $0 == pulse.beatCount } ?? false
        }.map(\.loopName)
        if notBeaten.isEmpty {
            actions.append(.ping)
            lastPingNanos = nowNanos
            beatCountsAtLastPing = Dictionary(uniqueKeysWithValues: pulses.map { ($0.loopName, $0.beatCount) })
            withholdReported = false
        } else if !withholdReported {
            actions.append(.withhold(notBeaten: notBeaten))
            withholdReported = true
        }
        return actions
    }
}
