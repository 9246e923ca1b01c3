import LightScopeCore
import XCTest
import LightScopeTestSupport

/// Random and mutated config text: `ConfigFile.parse` must either succeed or throw a
/// `ConfigError` (its typed throws allow nothing else), never trap. A trap ends the whole
/// test process, so this test fails loudly; the seed in each message reproduces a case.
final class ConfigFuzzTests: XCTestCase {
    /// A valid file using every section, the base for mutations.
    private static let validConfig = """
    # LightScope
    [capture]
    interfaces = eth0, eth1
    snaplen = 256
    buffer_size_mib = 4
    interface_rescan_interval = 5s
    [watchdog]
    ping_interval = auto
    stall_limit = 30s
    status_interval = 5s
    [detection]
    syn_answer_timeout = 10s
    grace = 20m
    portscan_ports = 15
    portscan_window = 5m
    addrscan_addresses = 25
    addrscan_window = 5m
    memory_budget_mib = 64
    listening_refresh_interval = 30s
    [metrics]
    listen = [::1]:9870
    [log]
    level = info   # an inline comment
    [store]
    retention_days = 90
    max_events = 1000000
    anonymise = dst
    """

    private static let keysBySection: [(section: String, keys: [String])] = [
        ("capture", ["interfaces", "snaplen", "buffer_size_mib", "interface_rescan_interval"]),
        ("watchdog", ["ping_interval", "stall_limit", "status_interval"]),
        ("detection", ["syn_answer_timeout", "grace", "portscan_ports", "portscan_window", "addrscan_addresses",
                       "addrscan_window", "memory_budget_mib", "listening_refresh_interval"]),
        ("metrics", ["listen"]),
        ("log", ["level"]),
        ("store", ["retention_days", "max_events", "anonymise"]),
        ("blocklist", ["exclude_local_networks", "allow"]),
    ]
    private static let keys = keysBySection.flatMap(\.keys)
    private static let sections = keysBySection.map { "[\($0.section)]" } + ["[", "]", "[]"]

    /// Pieces a hostile or careless editor might produce: every key, numbers at and beyond
    /// the integer and Double limits, unit suffixes, brackets, comments, control characters.
    private static let tokens: [String] = {
        let values = ["0", "1", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                      "18446744073709551616", "1e300", "1e19", "9.3e18", "1e-300", "nan", "inf", "-inf", "0x10", "1_000",
                      "auto", "off", "", "ms", "us", "s", "m", "h", "d", "1.5", ".5", "5.", "99999999999", "1e10",
                      "eth0", "a/b", "127.0.0.1:0", "[::1]:65536", "[::1]", "[", "::ffff:1.2.3.4:80", "1.2.3.4:99999",
                      "debug", "none", "both", "ééé", "\u{0}", "\u{FEFF}", "🙂"]
        let punctuation = [" = ", "=", "==", " ", "\t", "\n", "\r\n", "\r", "#", " #", ";", ",", ":", "/", "\\"]
        return ConfigFuzzTests.keys + ConfigFuzzTests.sections + values + punctuation
    }()

    func testRandomTextOnlyEverThrowsConfigError() {
        var generator = SplitMix64(seed: 0x1157_5C09E)
        for round in 0..<3000 {
            let seed = generator.next()
            var random = SplitMix64(seed: seed)
            func token() -> String { Self.tokens[random.next(below: Self.tokens.count)] }
            // Mostly line-shaped, keys mostly from the section they are under, so that values
            // reach their parsers instead of failing at the first line.
            var section = Self.keysBySection[random.next(below: Self.keysBySection.count)]
            var lines = ["[\(section.section)]"]
            for _ in 0..<random.next(below: 12) {
                switch random.next(below: 8) {
                case 0:
                    section = Self.keysBySection[random.next(below: Self.keysBySection.count)]
                    lines.append("[\(section.section)]")
                case 1:
                    lines.append(Self.sections[random.next(below: Self.sections.count)])
                case 2:
                    lines.append((0..<random.next(below: 8)).map { _ in token() }.joined())
                case 3:
                    lines.append(Self.keys[random.next(below: Self.keys.count)] + " = " + token())
                default:
                    let key = section.keys[random.next(below: section.keys.count)]
                    lines.append(key + " = " + token() + (random.next(below: 3) == 0 ? token() : ""))
                }
            }
            check(lines.joined(separator: "\n"), context: "round \(round), seed \(seed)")
        }
    }

    func testMutatedValidConfigOnlyEverThrowsConfigError() {
        XCTAssertNoThrow(try ConfigFile.parse(Self.validConfig, source: "valid.conf"))
        var generator = SplitMix64(seed: 0xC0_FF1C)
        for round in 0..<3000 {
            let seed = generator.next()
            var random = SplitMix64(seed: seed)
            var scalars = Array(Self.validConfig.unicodeScalars)
            for _ in 0...(random.next() % 6) {
                let position = Int(random.next() % UInt64(scalars.count + 1))
                switch random.next() % 4 {
                case 0 where !scalars.isEmpty:
                    scalars.remove(at: min(position, scalars.count - 1))
                case 1:
                    let token = Self.tokens[random.next(below: Self.tokens.count)]
                    scalars.insert(contentsOf: token.unicodeScalars, at: position)
                case 2 where !scalars.isEmpty:
                    scalars[min(position, scalars.count - 1)] = Unicode.Scalar(UInt8(truncatingIfNeeded: random.next()))
                default:
                    // Replace a value: what follows the '=' of some line.
                    if let equals = scalars[min(position, scalars.count)...].firstIndex(of: "=") {
                        let end = scalars[equals...].firstIndex(of: "\n") ?? scalars.count
                        let value = Self.tokens[random.next(below: Self.tokens.count)]
                        scalars.replaceSubrange(equals + 1..<end, with: " \(value)".unicodeScalars)
                    }
                }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            check(text, context: "round \(round), seed \(seed)")
        }
    }

    /// Cases the random runs found: durations so large that converting them to nanoseconds
    /// overflowed Int64 and trapped instead of being reported on their line.
    func testHugeDurationsAreRejectedOnTheirLine() {
        for value in ["1e300", "1e19", "9.3e18", "99999999999", "1e10s", "200000000000m", "1e17h", "1e15d"] {
            let text = "[capture]\ninterface_rescan_interval = \(value)\n"
            XCTAssertThrowsError(try ConfigFile.parse(text, source: "big.conf"), value) { error in
                let configError = error as? ConfigError
                XCTAssertEqual(configError?.line, 2, value)
                XCTAssertTrue(configError?.problem.contains("must be a duration") ?? false, "\(error)")
            }
            XCTAssertNil(DurationText.parse(value), value)
        }
        XCTAssertEqual(DurationText.parse("9000000000"), .seconds(9_000_000_000))
    }

    private func check(_ text: String, context: String) {
        // Lines end at LF bytes: a CRLF is one Character to Swift, so count the scalars.
        let lineCount = text.unicodeScalars.filter { $0 == "\n" }.count + 1
        do {
            let settings = try ConfigFile.parse(text, source: "fuzz.conf")
            XCTAssertNil(ConfigFile.validate(settings), context)
        } catch {
            if let line = error.line {
                XCTAssertTrue((1...lineCount).contains(line), "line \(line) of \(lineCount) (\(context)): \(error)")
            }
            XCTAssertTrue(error.description.hasPrefix("invalid config fuzz.conf"), "\(context): \(error)")
        }
    }
}
