import LightScopeCore
import LightScopeSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Turns process signals into bytes on a pipe that the runner polls, so signal handling
/// happens in the runner loop, not in a handler. The handler only does an
/// async-signal-safe write(2), whichever thread the kernel picked.
public enum SignalPipe {
    /// Kept for the life of the process; its ends are copied below for the handler.
    nonisolated(unsafe) private static var pipe: WakePipe?
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    /// The read end; poll it for POLLIN, then `drain()`.
    nonisolated(unsafe) public private(set) static var readEnd: Int32 = -1

    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2]

    /// Installs the handlers. Call once, before any thread is started.
    public static func install() {
        guard readEnd < 0 else { return }
        let created = WakePipe()
        pipe = created
        readEnd = created.readEnd
        writeEnd = created.writeEnd
        for signalNumber in handled {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signalNumber in
                let savedErrno = errno
                var byte = UInt8(truncatingIfNeeded: signalNumber)
                _ = Glibc.write(SignalPipe.writeEnd, &byte, 1)
                errno = savedErrno
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signalNumber, &action, nil)
        }
        // A dead peer on a socket must be an error, not a silent process kill.
        signal(SIGPIPE, SIG_IGN)
    }

    /// The signals received since the last drain, in arrival order.
    public static func drain() -> [Int32] {
        var received: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = read(readEnd, &buffer, buffer.count)
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count].map { Int32($0) })
        }
        return received
    }
}
