import LightScopeCore
import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// How a connection waits for its socket: in slices no longer than `slice`, beating the owning
/// loop's heartbeat after each, so a collector that answers slowly (or never) cannot stall the
/// loop past the watchdog's stall limit; and giving up at once when the loop is told to stop.
public struct SocketWaiter {
    /// A wake pipe's read end in the same poll set, so `stop` is noticed mid-wait.
    public var wakeDescriptor: Int32?
    public var slice: Duration
    public var beat: () -> Void
    public var shouldStop: () -> Bool

    public init(wakeDescriptor: Int32?, slice: Duration, beat: @escaping () -> Void, shouldStop: @escaping () -> Bool) {
        self.wakeDescriptor = wakeDescriptor
        self.slice = slice
        self.beat = beat
        self.shouldStop = shouldStop
    }

    /// For the fleet commands: no loop to beat, nothing to stop them but the deadline.
    public static var plain: SocketWaiter { SocketWaiter(wakeDescriptor: nil, slice: .seconds(1), beat: {}, shouldStop: { false }) }

    /// Waits until `descriptor` is ready for `events` (POLLIN, POLLOUT); returns the ready events.
    func wait(for descriptor: Int32, events: Int16, deadlineNanos: UInt64) throws(PostgresError) -> Int16 {
        guard descriptor >= 0 else { throw PostgresError(.connection, "the connection has no socket") }
        while true {
            if shouldStop() { throw PostgresError(.stopped, "stopping") }
            let now = MonotonicClock.nowNanos()
            guard now < deadlineNanos else { throw PostgresError(.timeout, "no answer from the collector in time") }
            let remainingMilliseconds = Int64((deadlineNanos - now) / 1_000_000) + 1
            var descriptors = [pollfd(fd: descriptor, events: events, revents: 0)]
            if let wakeDescriptor { descriptors.append(pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)) }
            let timeout = Int32(max(1, min(remainingMilliseconds, slice.milliseconds)))
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            beat()
            if ready < 0 && errno != EINTR {
                throw PostgresError(.connection, "poll failed: \(String(cString: strerror(errno)))")
            }
            if descriptors[0].revents != 0 { return descriptors[0].revents }
            // A nudge for new events means nothing mid-statement; a stop is seen at the top.
            if descriptors.count > 1, descriptors[1].revents != 0 { Self.drain(descriptors[1].fd) }
        }
    }

    private static func drain(_ descriptor: Int32) {
        var discard = [UInt8](repeating: 0, count: 64)
        while read(descriptor, &discard, discard.count) > 0 {}
    }
}
