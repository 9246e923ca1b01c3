import LightScopeCore

/// What the shipper says about trouble: one line when a kind of trouble starts (an unreachable
/// collector, refused credentials, an unreadable store), one when it ends, and nothing in
/// between however often the attempts fail, so a long outage or a wrong password never floods
/// the journal. The current problem is also the STATUS= note.
struct FleetProblems {
    enum Kind: Equatable {
        case collector
        case credentials
        case store
    }

    private(set) var current: (kind: Kind, message: String, sinceNanos: UInt64)?

    /// The line to log, or nil when this kind of trouble was already said.
    mutating func report(_ kind: Kind, _ message: String, nowNanos: UInt64) -> (LogLevel, String)? {
        if let current, current.kind == kind {
            self.current = (kind, message, current.sinceNanos)
            return nil
        }
        current = (kind, message, nowNanos)
        switch kind {
        case .collector:
            return (.warning, "Fleet: cannot ship to the collector: \(message). Events keep accumulating in the local store and are shipped when it answers again; retrying with back-off")
        case .credentials:
            let isCertificate = message.utf8.contains("certificate".utf8) || message.utf8.contains("private key".utf8)
            let fix = isCertificate ? "the client certificate or key in [fleet] url (CN = the role; key mode 0600, or 0640 owned by root)" : "[fleet] url or password_file"
            return (.error, "Fleet: the collector refuses this host: \(message). Events keep accumulating in the local store; fix \(fix), then systemctl reload lightscope")
        case .store:
            return (.error, "Fleet: cannot read the local event store: \(message); retrying")
        }
    }

    /// The line to log when the trouble is over, or nil when there was none.
    mutating func resolved(nowNanos: UInt64, pending: UInt64) -> String? {
        guard let current else { return nil }
        self.current = nil
        let span = RunHistory.formatSpan(nowNanos &- current.sinceNanos)
        return "Fleet: shipping again after \(span); \(pending) events were waiting"
    }

    /// The note for STATUS= and `lightscope status`.
    var note: String? {
        guard let current else { return nil }
        switch current.kind {
        case .collector: return "fleet: collector unreachable (\(current.message))"
        case .credentials: return "fleet: refused by the collector (\(current.message))"
        case .store: return "fleet: store unreadable (\(current.message))"
        }
    }
}
