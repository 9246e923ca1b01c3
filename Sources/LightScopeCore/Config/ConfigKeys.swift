/// Every section and key of the config file, each with the parser that applies its value to
/// `Settings`: the one table both `ConfigFile.parse` and the shipped conffile's test read.
extension ConfigFile {
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
            "threads": { settings, value in
                guard let threads = CaptureThreads(text: value) else {
                    return "'\(value)' is not a number of packet loops per interface; use auto (one per CPU) or a whole number from 1 to \(CaptureThreads.most)"
                }
                settings.capture.threads = threads
                return nil
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
            "port_weighting": { settings, value in
                guard let weighting = PortWeighting(rawValue: value) else {
                    return "'\(value)' is not a port weighting; use one of \(PortWeighting.allCases.map(\.rawValue).joined(separator: ", "))"
                }
                settings.detection.portWeighting = weighting
                return nil
            },
            "addrscan_addresses": integer(in: 2...65535) { $0.detection.addrscanAddresses = $1 },
            "addrscan_window": duration(in: .seconds(1) ... .seconds(86400)) { $0.detection.addrscanWindow = $1 },
            "slowscan_ports": integer(in: 2...DistinctSketch.largestThreshold) { $0.detection.slowscanPorts = $1 },
            "slowscan_addresses": integer(in: 2...DistinctSketch.largestThreshold) { $0.detection.slowscanAddresses = $1 },
            "slowscan_window": duration(in: .seconds(1) ... .seconds(86400)) { $0.detection.slowscanWindow = $1 },
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
        "blocklist": [
            "exclude_local_networks": boolean { $0.blocklist.excludeLocalNetworks = $1 },
            "allow": { settings, value in
                let items = value.split(separator: ",").map { $0.trimmedSpaces }.filter { !$0.isEmpty }
                var prefixes: [IPPrefix] = []
                for item in items {
                    guard let prefix = IPPrefix(item) else {
                        return "'\(item)' is not an address or prefix; use e.g. 198.51.100.0/24, 2001:db8::/32 or 203.0.113.7"
                    }
                    prefixes.append(prefix)
                }
                settings.blocklist.allow = prefixes
                return nil
            },
        ],
        "store": [
            "retention_days": integer(in: 1...36500) { $0.store.retentionDays = $1 },
            "max_events": integer(in: 1000...1_000_000_000) { $0.store.maxEvents = $1 },
            "max_store_mib": integer(in: 64...1_048_576) { $0.store.maxStoreMiB = $1 },
            "journal_events_per_second": integer(in: 1...100_000) { $0.store.journalEventsPerSecond = $1 },
            "anonymise": { settings, value in
                guard let mode = AddressAnonymisation(rawValue: value) else {
                    return "'\(value)' is not an anonymisation mode; use none, dst (local addresses) or both (also the senders)"
                }
                settings.store.anonymise = mode
                return nil
            },
            "anonymisation_key": { settings, value in
                if value.hasSuffix("/") { return "'\(value)' names a directory; give the key file (or a credential name)" }
                settings.store.anonymisationKeyFile = value.isEmpty ? nil : value
                return nil
            },
        ],
        "fleet": fleetKeys,
    ]

    private static func boolean(_ set: @escaping @Sendable (inout Settings, Bool) -> Void) -> Apply {
        { settings, value in
            switch value.lowercased() {
            case "yes", "true", "on": set(&settings, true)
            case "no", "false", "off": set(&settings, false)
            default: return "'\(value)' must be yes or no"
            }
            return nil
        }
    }

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
