#if canImport(Glibc)
import Glibc
#endif

/// A libpcap packet time as nanoseconds since the epoch.
///
/// A pcap file stores seconds and microseconds as signed 32-bit fields, so a crafted or
/// damaged file hands over negative values; converting those with `UInt64(_:)` trapped and
/// ended `lightscope replay`. They clamp to zero (the epoch) instead.
enum PacketTimestamp {
    static func nanoseconds(_ time: timeval) -> UInt64 {
        UInt64(clamping: time.tv_sec) &* 1_000_000_000 &+ UInt64(clamping: time.tv_usec) &* 1000
    }
}
