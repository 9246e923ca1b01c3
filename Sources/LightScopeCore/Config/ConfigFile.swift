/// Reads LightScope's config file: INI-style sections whose keys map 1:1 onto `Settings`.
///
///     [capture]
///     interfaces = eth0, eth1
///     [watchdog]
///     ping_interval = 10s
///
/// Comments start with `#` or `;`. Unknown sections or keys and bad values are errors that
/// name the line, so a typo never silently falls back to a default.
public enum ConfigFile {
    public static func parse(_ text: String, source: String) throws(ConfigError) -> Settings {
        var settings = Settings()
        var section = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = stripComment(String(rawLine)).trimmedSpaces
            if line.isEmpty { continue }
            func fail(_ problem: String) -> ConfigError {
                ConfigError(source: source, line: lineNumber, problem: problem)
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail("section header '\(line)' is missing its closing ']'") }
                section = String(line.dropFirst().dropLast()).trimmedSpaces
                guard Self.keys.keys.contains(section) else {
                    throw fail("unknown section [\(section)]; known sections: \(Self.keys.keys.sorted().map { "[\($0)]" }.joined(separator: ", "))")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw fail("expected 'key = value', found '\(line)'")
            }
            let key = String(line[..<equals]).trimmedSpaces
            let value = String(line[line.index(after: equals)...]).trimmedSpaces
            guard !section.isEmpty else { throw fail("'\(key)' appears before any [section] header") }
            guard let apply = Self.keys[section]?[key] else {
                let known = Self.keys[section]!.keys.sorted().joined(separator: ", ")
                throw fail("unknown key '\(key)' in [\(section)]; known keys: \(known)")
            }
            if let problem = apply(&settings, value) { throw fail("\(key): \(problem)") }
        }
        if let problem = validate(settings) {
            throw ConfigError(source: source, line: nil, problem: problem)
        }
        return settings
    }

    /// Just `[alert] command` from a file that may be broken elsewhere: the alert about a
    /// failed service must not be silenced by the very config error that failed it.
    public static func alertCommand(in text: String) -> String? {
        var section = ""
        for rawLine in text.split(separator: "\n") {
            let line = stripComment(String(rawLine)).trimmedSpaces
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmedSpaces
            } else if section == "alert", let equals = line.firstIndex(of: "="),
                      String(line[..<equals]).trimmedSpaces == "command" {
                let value = String(line[line.index(after: equals)...]).trimmedSpaces
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }

    /// Cross-field checks that no single line can see.
    public static func validate(_ settings: Settings) -> String? {
        if let ping = settings.watchdog.pingInterval, let stall = settings.watchdog.stallLimit, stall <= ping {
            return "stall_limit (\(DurationText.format(stall))) must be longer than ping_interval (\(DurationText.format(ping)))"
        }
        return nil
    }

    private static func stripComment(_ line: String) -> String {
        let trimmed = line.trimmedSpaces
        if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { return "" }
        // An inline comment needs a space before '#', so values never lose a '#' by accident.
        var previous: Character = " "
        for index in line.indices {
            if line[index] == "#", previous == " " || previous == "\t" { return String(line[..<index]) }
            previous = line[index]
        }
        return line
    }

    /// Applies one value, returning a description of the problem if it is invalid.
    typealias Apply = @Sendable (inout Settings, String) -> String?

    static let keys: [String: [String: Apply]] = [
        "capture": [
            "interfaces": { settings, value in
                let names = value.split(separator: ",").map { $0.trimmedSpaces }.filter { !$0.isEmpty }
                if let bad = names.first(where: { !InterfaceName.isValid($0) }) {
                    return "'\(bad)' is not a valid interface name"
                }
                settings.capture.interfaces = names
                return nil
            },
            "snaplen": integer(in: 96...65535) { $0.capture.snaplenBytes = $1 },
            "buffer_size_mib": integer(in: 1...1024) { $0.capture.bufferSizeMiB = $1 },
            "interface_rescan_interval": duration(in: .milliseconds(100) ... .seconds(3600)) {
                $0.capture.interfaceRescanInterval = $1
            },
        ],
        "watchdog": [
            "ping_interval": optionalDuration(in: .milliseconds(100) ... .seconds(3600)) { $0.watchdog.pingInterval = $1 },
            "stall_limit": optionalDuration(in: .milliseconds(200) ... .seconds(86400)) { $0.watchdog.stallLimit = $1 },
            "status_interval": duration(in: .milliseconds(100) ... .seconds(3600)) { $0.watchdog.statusInterval = $1 },
        ],
        "detection": [
            "syn_answer_timeout": duration(in: .milliseconds(100) ... .seconds(600)) { $0.detection.synAnswerTimeout = $1 },
            "grace": duration(in: .seconds(0) ... .seconds(86400)) { $0.detection.grace = $1 },
            "portscan_ports": integer(in: 2...65535) { $0.detection.portscanPorts = $1 },
            "portscan_window": duration(in: .seconds(1) ... .seconds(86400)) { $0.detection.portscanWindow = $1 },
            "addrscan_addresses": integer(in: 2...65535) { $0.detection.addrscanAddresses = $1 },
            "addrscan_window": duration(in: .seconds(1) ... .seconds(86400)) { $0.detection.addrscanWindow = $1 },
            "memory_budget_mib": integer(in: 4...65536) { $0.detection.memoryBudgetMiB = $1 },
            "listening_refresh_interval": duration(in: .seconds(1) ... .seconds(3600)) { $0.detection.listeningRefreshInterval = $1 },
        ],
        "metrics": [
            "listen": { settings, value in
                if value.isEmpty || value == "off" { settings.metrics.listen = nil; return nil }
                guard let endpoint = MetricsEndpoint(value) else {
                    return "'\(value)' is not an address:port, like 127.0.0.1:9870 or [::1]:9870 (empty or off: no metrics)"
                }
                settings.metrics.listen = endpoint
                return nil
            },
        ],
        "alert": [
            "command": { settings, value in
                settings.alert.command = value.isEmpty ? nil : value
                return nil
            },
        ],
        "log": [
            "level": { settings, value in
                guard let level = LogLevel(name: value) else {
                    return "'\(value)' is not a log level; use one of \(LogLevel.allCases.map(\.name).joined(separator: ", "))"
                }
                settings.log.level = level
                return nil
            },
        ],
        "store": [
            "retention_days": integer(in: 1...36500) { $0.store.retentionDays = $1 },
            "max_events": integer(in: 1000...1_000_000_000) { $0.store.maxEvents = $1 },
            "journal_events_per_second": integer(in: 1...100_000) { $0.store.journalEventsPerSecond = $1 },
            "anonymise": { settings, value in
                guard let mode = AddressAnonymisation(rawValue: value) else {
                    return "'\(value)' is not an anonymisation mode; use none, dst (local addresses) or both (also the senders)"
                }
                settings.store.anonymise = mode
                return nil
            },
        ],
        "fleet": fleetKeys,
    ]

    static func integer(in range: ClosedRange<Int>, _ set: @escaping @Sendable (inout Settings, Int) -> Void) -> Apply {
        { settings, value in
            guard let number = Int(value), range.contains(number) else {
                return "'\(value)' must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            }
            set(&settings, number)
            return nil
        }
    }

    static func duration(in range: ClosedRange<Duration>, _ set: @escaping @Sendable (inout Settings, Duration) -> Void) -> Apply {
        { settings, value in
            guard let duration = DurationText.parse(value), range.contains(duration) else {
                return "'\(value)' must be a duration from \(DurationText.format(range.lowerBound)) to \(DurationText.format(range.upperBound)), like 10s, 500ms or 5m"
            }
            set(&settings, duration)
            return nil
        }
    }

    private static func optionalDuration(in range: ClosedRange<Duration>, _ set: @escaping @Sendable (inout Settings, Duration?) -> Void) -> Apply {
        { settings, value in
            if value == "auto" || value.isEmpty { set(&settings, nil); return nil }
            return duration(in: range) { settings, duration in set(&settings, duration) }(&settings, value)
        }
    }
}

/// A config problem, with the place it is at and what to do about it.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int?
    public var problem: String

    public init(source: String, line: Int?, problem: String) {
        self.source = source
        self.line = line
        self.problem = problem
    }

    public var description: String {
        let place = line.map { "\(source) line \($0)" } ?? source
        return "invalid config \(place): \(problem). Fix the file and run 'systemctl reload lightscope' (or restart it)"
    }
}
