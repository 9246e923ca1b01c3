/// Parses and prints the durations used in the config file: `250ms`, `10s`, `5m`, `1h`.
/// A bare number means seconds, as systemd's own `WatchdogSec=30` does.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmedSpaces
        guard !trimmed.isEmpty else { return nil }
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ms", 1e6), ("us", 1e3), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = String(trimmed.dropLast(unit.suffix.count)).trimmedSpaces
            guard let value = Double(number) else { return nil }
            return duration(nanoseconds: value * unit.nanoseconds)
        }
        guard let seconds = Double(trimmed) else { return nil }
        return duration(nanoseconds: seconds * 1e9)
    }

    /// nil for negative, NaN, infinite, or more nanoseconds than Int64 holds (about 292
    /// years): converting those would trap, and no setting wants them.
    private static func duration(nanoseconds: Double) -> Duration? {
        guard nanoseconds >= 0, nanoseconds < Double(Int64.max) else { return nil }
        return .nanoseconds(Int64(nanoseconds))
    }

    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        if milliseconds % 3_600_000 == 0, milliseconds >= 3_600_000 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds >= 60_000 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

extension Duration {
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
}
