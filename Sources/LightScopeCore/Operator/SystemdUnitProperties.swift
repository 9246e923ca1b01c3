/// What `systemctl show lightscope -p Type,WatchdogUSec,...` prints: `Key=Value` lines.
///
/// Parsed from the text rather than asked over D-Bus so that `lightscope doctor` needs nothing
/// but the `systemctl` an admin would run by hand, and so the parsing is testable on text.
public struct SystemdUnitProperties: Equatable, Sendable {
    /// Every property `doctor` reads; pass them to `systemctl show -p`.
    public static let names = [
        "LoadState", "ActiveState", "SubState", "Result", "Type", "NotifyAccess", "WatchdogUSec",
        "WatchdogTimestampMonotonic", "AmbientCapabilities", "User", "DropInPaths", "MainPID",
        "MemoryMax", "TasksMax", "IPAddressAllow", "IPAddressDeny",
    ]

    public var values: [String: String]

    public init(parsing text: String) {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        self.values = values
    }

    public subscript(_ name: String) -> String? { values[name] }

    /// `not-found` when the unit file is not installed.
    public var loadState: String { values["LoadState"] ?? "" }
    public var isLoaded: Bool { loadState == "loaded" }
    public var activeState: String { values["ActiveState"] ?? "" }
    public var subState: String { values["SubState"] ?? "" }
    public var type: String { values["Type"] ?? "" }
    public var notifyAccess: String { values["NotifyAccess"] ?? "" }

    /// `WatchdogSec=` in microseconds; 0 when off, nil when the text is not a time span.
    public var watchdogMicros: UInt64? { values["WatchdogUSec"].flatMap(SystemdTimespan.parseMicros) }

    /// CLOCK_MONOTONIC in microseconds of the last `WATCHDOG=1` systemd received; 0 for none yet.
    public var watchdogTimestampMonotonicMicros: UInt64? { values["WatchdogTimestampMonotonic"].flatMap { UInt64($0) } }

    /// Lower-case capability names, e.g. `["cap_net_raw"]`.
    public var ambientCapabilities: [String] {
        (values["AmbientCapabilities"] ?? "").split(separator: " ").map { $0.lowercased() }
    }

    public var user: String? { values["User"].flatMap { $0.isEmpty ? nil : $0 } }
    public var dropInPaths: [String] { (values["DropInPaths"] ?? "").split(separator: " ").map(String.init) }
}

/// systemd's time spans as `systemctl show` prints them: `30s`, `1min 30s`, `500ms`, `infinity`.
public enum SystemdTimespan {
    /// Microseconds; nil for text that is not a span. `infinity` is `UInt64.max`.
    public static func parseMicros(_ text: String) -> UInt64? {
        let trimmed = text.trimmedSpaces
        if trimmed == "infinity" { return .max }
        let units: [(suffix: String, micros: UInt64)] = [
            ("usec", 1), ("us", 1), ("msec", 1000), ("ms", 1000), ("min", 60_000_000), ("sec", 1_000_000),
            ("s", 1_000_000), ("h", 3_600_000_000), ("d", 86_400_000_000), ("w", 604_800_000_000),
        ]
        var total: UInt64 = 0
        let tokens = trimmed.split(separator: " ")
        guard !tokens.isEmpty else { return nil }
        for token in tokens {
            // systemd prints fractions such as `1.500000s` for WatchdogSec=1.5.
            let number = token.prefix(while: { $0.isNumber || $0 == "." })
            let unit = token.dropFirst(number.count)
            guard let value = Double(number), value >= 0 else { return nil }
            // A bare number is microseconds, as systemctl shows *USec values without a unit.
            let scale = unit.isEmpty ? 1 : units.first(where: { $0.suffix == unit })?.micros
            guard let scale else { return nil }
            total += UInt64((value * Double(scale)).rounded())
        }
        return total
    }

    /// `30s`, `1.5s`, `250ms`: short and exact enough for one line of output.
    public static func format(micros: UInt64) -> String {
        if micros == .max { return "infinity" }
        if micros % 1_000_000 == 0 { return "\(micros / 1_000_000)s" }
        if micros >= 1_000_000 {
            let tenths = micros / 100_000
            return "\(tenths / 10).\(tenths % 10)s"
        }
        return "\(micros / 1000)ms"
    }
}
