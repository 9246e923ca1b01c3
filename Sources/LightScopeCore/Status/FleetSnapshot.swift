extension DaemonSnapshot {
    /// The fleet shipper's state: how far behind the collector is, and why.
    public struct Fleet: Codable, Equatable, Sendable {
        /// The collector's host and port as the URL names them.
        public var collector: String
        public var hostIdentifier: String
        public var hostName: String
        public var connected: Bool
        /// Events in the local store the collector has not committed yet.
        public var eventsPending: UInt64
        /// Capture time of the oldest of them; nil when none are pending.
        public var oldestPendingAtNanos: UInt64?
        /// Events the collector committed since this daemon started.
        public var eventsShipped: UInt64
        public var lastShippedAtNanos: UInt64?
        /// What keeps the shipper from delivering, in one line; nil while it works.
        public var problem: String?

        public init(collector: String, hostIdentifier: String, hostName: String, connected: Bool, eventsPending: UInt64,
                    oldestPendingAtNanos: UInt64?, eventsShipped: UInt64, lastShippedAtNanos: UInt64?,
                    problem: String?) {
            self.collector = collector
            self.hostIdentifier = hostIdentifier
            self.hostName = hostName
            self.connected = connected
            self.eventsPending = eventsPending
            self.oldestPendingAtNanos = oldestPendingAtNanos
            self.eventsShipped = eventsShipped
            self.lastShippedAtNanos = lastShippedAtNanos
            self.problem = problem
        }

        /// Seconds since the oldest pending event was captured (0 when none are pending).
        public func oldestPendingAgeNanos(nowNanos: UInt64) -> UInt64 {
            guard let oldest = oldestPendingAtNanos, nowNanos > oldest else { return 0 }
            return nowNanos - oldest
        }

        /// The status line of `lightscope status`.
        public func line(nowNanos: UInt64) -> String {
            let state = connected ? "connected" : "not connected"
            let oldest = oldestPendingAtNanos == nil ? "" : " (oldest \(StatusText.formatSeconds(oldestPendingAgeNanos(nowNanos: nowNanos))) old)"
            return "Fleet: \(collector) as \(hostName) (\(hostIdentifier)), \(state); \(eventsPending) pending\(oldest), "
                + "\(eventsShipped) shipped\(problem.map { "; \($0)" } ?? "")"
        }
    }
}
