#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on CLOCK_REALTIME: what capture timestamps and retention cut-offs are measured in.
/// Never for intervals, which use `MonotonicClock`.
public enum WallClock {
    public static func nowNanos() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
