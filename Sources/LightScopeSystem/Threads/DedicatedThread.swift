#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A named POSIX thread for a loop that blocks in poll(). Loops must never run on the
/// cooperative pool: a blocked pool thread would starve unrelated work.
public final class DedicatedThread: @unchecked Sendable {
    // Written once by `start`, read by `join`, both on the runner thread.
    private var thread: pthread_t?
    private let finished = Atomic<Bool>(false)

    private final class Body {
        let name: String
        let work: () -> Void
        init(name: String, work: @escaping () -> Void) { self.name = name; self.work = work }
    }

    public init() {}

    public func start(name: String, _ work: @escaping () -> Void) {
        let body = Unmanaged.passRetained(Body(name: name) { [self] in
            work()
            self.finished.store(true, ordering: .releasing)
        }).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            DedicatedThread.nameCurrentThread(body.name)
            body.work()
            return nil
        }, body)
        precondition(result == 0, "pthread_create failed: \(result)")
        thread = handle
    }

    /// Stops waiting for the thread: it runs on, and the system frees it when it ends. For a
    /// loop declared hung, which is never joined (the sanitizers report a finished thread that
    /// nobody joined as a leak). `join` returns at once afterwards.
    public func detach() {
        guard let handle = thread else { return }
        pthread_detach(handle)
        thread = nil
    }

    /// Names the calling thread as `top -H` and /proc/PID/task/*/comm show it; Linux keeps 15
    /// bytes. Through /proc, since Swift's Glibc module does not export pthread_setname_np.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(fd, bytes, bytes.count)
        close(fd)
    }

    /// Waits for the thread to end, however long that takes: for work known to be finishing
    /// (it has said so through a queue), where a polling `join(timeout:)` would only add delay.
    public func join() {
        guard let handle = thread else { return }
        pthread_join(handle, nil)
        thread = nil
    }

    /// Waits for the thread to end. Returns false if it is still running after `timeout`
    /// (a hung loop); the thread is then left behind, never killed mid-flight.
    public func join(timeout: Duration) -> Bool {
        guard let handle = thread else { return true }
        let (seconds, attoseconds) = timeout.components
        let deadline = MonotonicClock.nowNanos() + UInt64(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        while !finished.load(ordering: .acquiring) {
            if MonotonicClock.nowNanos() >= deadline { return false }
            usleep(10_000)
        }
        pthread_join(handle, nil)
        thread = nil
        return true
    }
}
