import LightScopeCore
import LightScopeSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Shows a replay's progress on a terminal (`ReplayProgressLine`), from a thread of its own
/// that wakes every `interval`, so the replay's threads do no printing and no clock reads.
///
/// What it reads costs them nothing per packet: the bytes come from the kernel's count of
/// what this process has read (`rchar` in /proc/self/io; the capture is nearly all of it),
/// and the reading thread publishes its packet count only when the engine's timers run
/// (`PacketDrivenTimers`, every 100 ms of capture time). Only `lightscope replay` with stderr
/// on a terminal makes one.
public final class ReplayProgress: @unchecked Sendable {
    public static let interval: Duration = .milliseconds(500)

    private let packets = Atomic<UInt64>(0)
    private let totalBytes: UInt64?
    private let output: Int32
    private let wake = WakePipe()
    private let thread = DedicatedThread()
    // The progress thread's alone, from `start` on.
    private var startBytes: UInt64 = 0
    private var startNanos: UInt64 = 0

    /// `totalBytes`: the capture file's size; nil when it is a pipe.
    public init(totalBytes: UInt64?, output: Int32 = STDERR_FILENO) {
        self.totalBytes = totalBytes
        self.output = output
    }

    /// The size of `path` when it is a regular file.
    public static func size(of path: String) -> UInt64? {
        var facts = stat()
        guard stat(path, &facts) == 0, facts.st_mode & S_IFMT == S_IFREG else { return nil }
        return UInt64(facts.st_size)
    }

    @inline(__always)
    public func publish(packets count: UInt64) {
        packets.store(count, ordering: .relaxed)
    }

    public func start() {
        startBytes = Self.bytesRead() ?? 0
        startNanos = MonotonicClock.nowNanos()
        thread.start(name: "lightscope-progress") { [self] in
            var descriptor = pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)
            while poll(&descriptor, 1, Int32(Self.interval.milliseconds)) == 0 { show() }
            // "\r" and erase to the end of the line: the summary that follows starts clean.
            write("\r\u{1B}[K")
        }
    }

    public func stop() {
        wake.wake()
        thread.join()
    }

    private func show() {
        guard let bytes = Self.bytesRead() else { return }
        let line = ReplayProgressLine.text(bytesRead: bytes &- startBytes, totalBytes: totalBytes,
                                           packets: packets.load(ordering: .relaxed),
                                           elapsedNanos: MonotonicClock.nowNanos() &- startNanos)
        write("\r" + line + "\u{1B}[K")
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
    }

    /// `rchar` of /proc/self/io: every byte this process has read through read(2) and pread(2).
    /// One read(2): procfs hands this small file over whole; a failed read skips one update.
    private static func bytesRead() -> UInt64? {
        let fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = Glibc.read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("rchar:") {
            return UInt64(line.dropFirst("rchar:".count).trimmedSpaces)
        }
        return nil
    }
}
