/// The line `lightscope replay` keeps rewriting on a terminal while it reads a large capture,
/// as tools that read large files do (`pv`, `dd status=progress`):
///
///     replay: 1.2 GiB of 4.0 GiB (30%), 2.1M packets/s, 42s left
///
/// or, reading a pipe whose size is unknown, `replay: 1.2 GiB read, 2.1M packets/s`.
public enum ReplayProgressLine {
    public static func text(bytesRead: UInt64, totalBytes: UInt64?, packets: UInt64, elapsedNanos: UInt64) -> String {
        let seconds = Double(max(elapsedNanos, 1)) / 1e9
        let rate = "\(count(Double(packets) / seconds)) packets/s"
        guard let totalBytes, totalBytes > 0 else { return "replay: \(size(bytesRead)) read, \(rate)" }
        let read = min(bytesRead, totalBytes)
        let percent = read * 100 / totalBytes
        var line = "replay: \(size(read)) of \(size(totalBytes)) (\(percent)%), \(rate)"
        if read > 0 {
            let left = Double(totalBytes - read) / (Double(read) / seconds)
            line += ", \(RunHistory.formatSpan(UInt64(min(left, 1e7) * 1e9))) left"
        }
        return line
    }

    /// Bytes in binary units with one decimal: `512 B`, `12.0 MiB`, `4.0 GiB`.
    static func size(_ bytes: UInt64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\(oneDecimal(value)) \(units[unit])"
    }

    /// `950`, `85.0k`, `2.1M`.
    static func count(_ value: Double) -> String {
        if value >= 1e6 { return "\(oneDecimal(value / 1e6))M" }
        if value >= 1e3 { return "\(oneDecimal(value / 1e3))k" }
        return "\(Int(value))"
    }

    private static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
