/// The `[fleet]` keys, apart from the rest so that the section reads as one piece.
extension ConfigFile {
    static let fleetKeys: [String: Apply] = [
        "url": { settings, value in
            settings.fleet.url = value.isEmpty ? nil : value
            return nil
        },
        "password_file": { settings, value in
            if value.hasSuffix("/") { return "'\(value)' names a directory; give the file (or a credential name)" }
            settings.fleet.passwordFile = value.isEmpty ? nil : value
            return nil
        },
        "host_name": { settings, value in
            guard value.count <= 253, !value.contains(where: { $0.isNewline || $0 == "\0" }) else {
                return "must be one line of at most 253 characters"
            }
            settings.fleet.hostName = value.isEmpty ? nil : value
            return nil
        },
        "batch_events": integer(in: 1...100_000) { $0.fleet.batchEvents = $1 },
        "connections": integer(in: 1...8) { $0.fleet.connections = $1 },
        "interval": duration(in: .seconds(1) ... .seconds(3600)) { $0.fleet.interval = $1 },
        "connect_timeout": duration(in: .seconds(1) ... .seconds(300)) { $0.fleet.connectTimeout = $1 },
        "statement_timeout": duration(in: .seconds(1) ... .seconds(3600)) { $0.fleet.statementTimeout = $1 },
        "network_timeout": duration(in: .seconds(1) ... .seconds(3600)) { $0.fleet.networkTimeout = $1 },
        "retry_max_interval": duration(in: .seconds(1) ... .seconds(3600)) { $0.fleet.retryMaxInterval = $1 },
    ]
}
