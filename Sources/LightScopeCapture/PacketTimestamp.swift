#if canImport(Glibc)
import Glibc
#endif

/// A libpcap packet time as nanoseconds since the epoch.
///
/// A pcap file stores seconds and microseconds as signed 32-bit fields, so a crafted or
/// damaged file hands over negative values; converting those with `UInt64(_:)` trapped and
/// ended `lightscope replay`. They clamp to zero (the epoch) instead.
@usableFromInline
enum PacketTimestamp {
    static func nanoseconds(_ time: timeval) -> UInt64 {
        nanoseconds(seconds: time.tv_sec, microseconds: time.tv_usec)
    }

    @inlinable @inline(__always)
    static func nanoseconds(seconds: Int, microseconds: Int) -> UInt64 {
        UInt64(clamping: seconds) &* 1_000_000_000 &+ UInt64(clamping: microseconds) &* 1000
    }
}
