/// The TCP ports seen answering a connection attempt with SYN-ACK: an unanswered probe of
/// such a port is a busy service, not a closed port.
///
/// Remembered for a while, not for good: a port that answered once may close, and in a
/// capture that does not say which way a packet went, one forged SYN-ACK "from" a local
/// address would otherwise silence every later `unanswered` verdict on its port. Two
/// generations of `memoryNanos` each: a port is remembered for at least `memoryNanos` after
/// its last answer and at most twice that, in two bitmaps (16 KiB) whatever the traffic.
struct AnsweredPorts {
    private var current = PortSet()
    private var previous = PortSet()
    /// When `current` began; nil before the first timer run.
    private var currentSinceNanos: UInt64?
    private let memoryNanos: UInt64

    init(memoryNanos: UInt64) {
        self.memoryNanos = max(1, memoryNanos)
    }

    @inline(__always)
    func contains(_ port: UInt16) -> Bool {
        current.contains(port) || previous.contains(port)
    }

    mutating func insert(_ port: UInt16) {
        // Every SYN-ACK comes here, nearly always for a port that is in already: a read then,
        // not a write (which checks that the bitmap's storage is not shared first).
        if !current.contains(port) { current.insert(port) }
    }

    /// Called when the engine's timers run: starts a new generation once `current` is
    /// `memoryNanos` old, forgetting the one before it (both, after a long quiet spell). A
    /// clock that stepped back starts the generation's time afresh rather than freezing it.
    mutating func age(toNanos nowNanos: UInt64) {
        guard let since = currentSinceNanos, nowNanos >= since else {
            currentSinceNanos = nowNanos
            return
        }
        let age = nowNanos - since
        guard age >= memoryNanos else { return }
        previous = age >= 2 * memoryNanos ? PortSet() : current
        current = PortSet()
        currentSinceNanos = nowNanos
    }
}
