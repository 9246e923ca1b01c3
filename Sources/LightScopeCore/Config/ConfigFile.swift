/// Reads LightScope's config file: INI-style sections whose keys map 1:1 onto `Settings`.
///
///     [capture]
///     interfaces = eth0, eth1
///     [watchdog]
///     ping_interval = 10s
///
/// Comments start with `#` or `;`. Unknown sections or keys, a key set twice and bad values
/// are errors that name the line, so a typo never silently falls back to a default and no
/// reader of the file has to choose between two values. Lines are read from the file's bytes
/// (`ConfigLines`): CRLF is accepted, NUL bytes and invalid UTF-8 are errors on their line.
public enum ConfigFile {
    public static func parse(_ text: String, source: String) throws(ConfigError) -> Settings {
        try parse(bytes: Array(text.utf8), source: source)
    }

    public static func parse(bytes: [UInt8], source: String) throws(ConfigError) -> Settings {
        var settings = Settings()
        var section = ""
        var keyLines: [String: Int] = [:]
        for line in ConfigLines(bytes: bytes).lines {
            func fail(_ problem: String) -> ConfigError {
                ConfigError(source: source, line: line.number, problem: problem)
            }
            if let problem = line.problem { throw fail(problem) }
            let content = line.content
            if content.isEmpty { continue }
            if content.hasPrefix("[") {
                guard content.hasSuffix("]") else { throw fail("section header '\(content)' is missing its closing ']'") }
                section = String(content.dropFirst().dropLast()).trimmedSpaces
                guard Self.keys.keys.contains(section) else {
                    throw fail("unknown section [\(section)]; known sections: \(Self.keys.keys.sorted().map { "[\($0)]" }.joined(separator: ", "))")
                }
                continue
            }
            guard let (key, value) = assignment(content) else {
                throw fail("expected 'key = value', found '\(content)'")
            }
            guard !section.isEmpty else { throw fail("'\(key)' appears before any [section] header") }
            guard let apply = Self.keys[section]?[key] else {
                let known = Self.keys[section]!.keys.sorted().joined(separator: ", ")
                throw fail("unknown key '\(key)' in [\(section)]; known keys: \(known)")
            }
            if let earlier = keyLines["\(section).\(key)"] {
                throw fail("'\(key)' in [\(section)] is set twice, on line \(earlier) and on line \(line.number); keep one of them")
            }
            keyLines["\(section).\(key)"] = line.number
            if let problem = apply(&settings, value) { throw fail("\(key): \(problem)") }
        }
        if let (problem, key) = crossFieldProblem(settings) {
            throw ConfigError(source: source, line: key.flatMap { keyLines[$0] }, problem: problem)
        }
        return settings
    }

    /// Just `[alert] command` from a file that may be broken elsewhere: the alert about a
    /// failed service must not be silenced by the very config error that failed it. nil when
    /// unset. It throws what `parse` would report about the command itself (its line is no
    /// text, or it is set twice), so the two readers never run different commands.
    public static func alertCommand(in bytes: [UInt8], source: String) throws(ConfigError) -> String? {
        var section = ""
        var found: (line: Int, value: String)?
        for line in ConfigLines(bytes: bytes).lines {
            let content = line.content
            if content.hasPrefix("["), content.hasSuffix("]") {
                section = String(content.dropFirst().dropLast()).trimmedSpaces
                continue
            }
            guard section == "alert", let (key, value) = assignment(content), key == "command" else { continue }
            if let problem = line.problem { throw ConfigError(source: source, line: line.number, problem: problem) }
            if let earlier = found {
                throw ConfigError(source: source, line: line.number,
                                  problem: "'command' in [alert] is set twice, on line \(earlier.line) and on line \(line.number); keep one of them")
            }
            found = (line.number, value)
        }
        guard let value = found?.value, !value.isEmpty else { return nil }
        return value
    }

    /// `key = value` split at the first '=', both trimmed.
    private static func assignment(_ content: String) -> (key: String, value: String)? {
        guard let equals = content.firstIndex(of: "=") else { return nil }
        return (String(content[..<equals]).trimmedSpaces, String(content[content.index(after: equals)...]).trimmedSpaces)
    }

    /// Cross-field checks that no single line can see.
    public static func validate(_ settings: Settings) -> String? {
        crossFieldProblem(settings)?.problem
    }

    /// The problem, and the `section.key` whose line it is best reported on (nil: no one line).
    private static func crossFieldProblem(_ settings: Settings) -> (problem: String, key: String?)? {
        if let ping = settings.watchdog.pingInterval, let stall = settings.watchdog.stallLimit, stall <= ping {
            return ("stall_limit (\(DurationText.format(stall))) must be longer than ping_interval (\(DurationText.format(ping)))", nil)
        }
        if let (key, problem) = DetectionCapacities.budgetProblem(settings.detection) {
            return (problem, "detection.\(key)")
        }
        return nil
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

    /// Escaped (`SafeText`): the problem quotes the file's own bytes, which may hold anything.
    public var description: String {
        let place = line.map { "\(source) line \($0)" } ?? source
        return SafeText.escaped("invalid config \(place): \(problem). Fix the file and run 'systemctl reload lightscope' (or restart it)")
    }
}
