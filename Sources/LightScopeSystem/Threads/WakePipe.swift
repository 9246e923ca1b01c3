#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking pipe that wakes a loop blocked in poll(): the read end sits in the loop's
/// poll set, a byte written to the other end (`wake()`) ends the wait. Every dedicated loop
/// (packet loops, the event writer, the metrics listener, the signal handlers) uses one for
/// shutdown or early wake-ups; libpcap's own wake-up fd is closed in non-blocking mode.
public final class WakePipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe failed: errno \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Wakes the loop; safe from any thread (and async-signal-safe: one write(2)).
    public func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe, so the next poll() waits again.
    public func drain() {
        var discard = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &discard, discard.count) > 0 {}
    }
}
