import Foundation
import LightScopeTestSupport
import XCTest

/// `lightscope replay`'s output, byte for byte, against the files in `Tests/golden/replay`:
/// on the benchmark's generated captures (`lightscope-pcapgen`, fixed seeds, small), on a
/// damaged one, and its exit codes on bad input. Any change of a verdict, a field, an order,
/// a count or an exit status fails here; a change meant to change the output updates the
/// files (`LIGHTSCOPE_UPDATE_GOLDEN=1`) and shows the difference in its commit.
///
/// What legitimately varies is replaced before the comparison: the directory the captures are
/// written to (a fresh temporary one per run), shown as `<DIR>`. Nothing else varies: the
/// captures are the same bytes for the same seed, the replay is driven by their timestamps
/// alone, and the config is an empty file (the defaults, whatever /etc holds).
/// An output of more than `fullLines` lines is kept as its line count, its SHA-256, its
/// events by verdict, and its first and last lines: the whole would be megabytes.
final class ReplayGoldenTests: XCTestCase {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("golden/replay")
    static let fullLines = 100
    static let firstLines = 40
    static let lastLines = 10

    private var directory: URL!
    private var emptyConfig: String { directory.appendingPathComponent("empty.conf").path }

    override func setUpWithError() throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lightscope-golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: emptyConfig))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The benchmark's offline workload (`bench/run.sh` uses seed 5 and 3,000,000 packets).
    func testMixedCapture() throws {
        let file = try generate("mixed-30000.pcap", ["mixed", "--packets", "30000", "--seed", "5"])
        try assertGolden("mixed-summary", [file, "--config", emptyConfig])
        try assertGolden("mixed-summary-local", [file, "--config", emptyConfig, "--local", "198.51.100.0/27"])
        try assertGolden("mixed-json", [file, "--json", "--config", emptyConfig])
    }

    /// The smallest memory budget under a flood of distinct sources: the tables fill, probes
    /// and scan sources are let go, and which ones, in what order, is part of the output.
    func testFloodInTheSmallestBudget() throws {
        let file = try generate("flood-50000.pcap", ["flood", "--packets", "50000", "--sources", "40000",
                                                     "--target", "198.51.100.9", "--seed", "11"])
        let config = directory.appendingPathComponent("small.conf")
        try Data("[detection]\nmemory_budget_mib = 4\n".utf8).write(to: config)
        try assertGolden("flood-small-budget-summary", [file, "--config", config.path, "--local", "198.51.100.0/24"])
        try assertGolden("flood-small-budget-json", [file, "--json", "--config", config.path, "--local", "198.51.100.0/24"])
    }

    /// The live and footprint workload: SYNs from many sources to one target, none answered.
    func testFloodCapture() throws {
        let file = try generate("flood-20000.pcap", ["flood", "--packets", "20000", "--sources", "5000",
                                                     "--target", "198.51.100.1", "--seed", "7"])
        try assertGolden("flood-summary", [file, "--config", emptyConfig, "--local", "198.51.100.0/24"])
        try assertGolden("flood-json", [file, "--json", "--config", emptyConfig, "--local", "198.51.100.0/24"])
    }

    /// Exit statuses and messages: a damaged file is processed up to the damage and exits 1;
    /// a missing or foreign file exits 1; bad arguments 64 (usage); a missing config 78.
    func testBadInput() throws {
        let whole = try generate("whole.pcap", ["mixed", "--packets", "2000", "--seed", "3"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let truncated = directory.appendingPathComponent("truncated.pcap")
        try bytes.prefix(bytes.count - 37).write(to: truncated)
        try assertGolden("bad-truncated-json", [truncated.path, "--json", "--config", emptyConfig, "--local", "198.51.100.0/27"])
        try assertGolden("bad-truncated-summary", [truncated.path, "--config", emptyConfig, "--local", "198.51.100.0/27"])
        let foreign = directory.appendingPathComponent("foreign.pcap")
        try Data("this is not a capture file\n".utf8).write(to: foreign)
        try assertGolden("bad-foreign-file", [foreign.path, "--config", emptyConfig])
        try assertGolden("bad-missing-file", [directory.appendingPathComponent("missing.pcap").path, "--config", emptyConfig])
        try assertGolden("bad-local-prefix", [whole, "--config", emptyConfig, "--local", "198.51.100.0/33"])
        try assertGolden("bad-missing-config", [whole, "--config", directory.appendingPathComponent("missing.conf").path])
        try assertGolden("bad-no-file", ["--config", emptyConfig])
    }

    // MARK: - Machinery

    /// Writes a capture with the benchmark's generator, built beside the binary.
    private func generate(_ name: String, _ arguments: [String]) throws -> String {
        let generator = URL(fileURLWithPath: DaemonProcess.binaryPath).deletingLastPathComponent()
            .appendingPathComponent("lightscope-pcapgen").path
        guard FileManager.default.isExecutableFile(atPath: generator) else {
            throw XCTSkip("lightscope-pcapgen is not beside \(DaemonProcess.binaryPath): build it with 'swift build'")
        }
        let path = directory.appendingPathComponent(name).path
        let result = try runProcess(generator, arguments + [path])
        guard result.status == 0 else { throw TestFailure("lightscope-pcapgen failed: \(result.errors)") }
        return path
    }

    /// Runs `lightscope replay arguments` and compares what it gave with the golden file `name`.
    private func assertGolden(_ name: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runReplay(arguments)
        let shown = ["replay"] + arguments
        let actual = try Self.record(command: shown.joined(separator: " "), status: result.status,
                                     output: result.output, errors: result.errors)
            .replacingOccurrences(of: directory.path, with: "<DIR>")
        let golden = Self.goldenDirectory.appendingPathComponent(name + ".txt")
        if ProcessInfo.processInfo.environment["LIGHTSCOPE_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: golden)
            return
        }
        let expected = (try? String(contentsOf: golden, encoding: .utf8)) ?? "(no golden file \(golden.path))"
        guard actual != expected else { return }
        let kept = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lightscope-golden-\(name).txt")
        try Data(actual.utf8).write(to: kept)
        XCTFail("replay output differs from \(golden.path): diff -u \(golden.path) \(kept.path)\n"
                + Self.firstDifference(expected, actual), file: file, line: line)
    }

    /// What a run is compared by: its command, exit status, standard error, and standard
    /// output (whole, or summarised when long).
    static func record(command: String, status: Int32, output: String, errors: String) throws -> String {
        var text = "$ lightscope \(command)\nexit status: \(status)\nstderr:\n\(errors)"
        if !errors.isEmpty, !errors.hasSuffix("\n") { text += "\n" }
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > fullLines else { return text + "stdout:\n" + output }
        var verdicts: [String: Int] = [:]
        for line in lines {
            guard let start = line.range(of: "\"verdict\":\"") else { continue }
            verdicts[String(line[start.upperBound...].prefix { $0 != "\"" }), default: 0] += 1
        }
        text += "stdout: \(lines.count - 1) lines, sha256 \(try sha256(Data(output.utf8)))\n"
        text += "events by verdict: " + verdicts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        text += "first \(firstLines) lines:\n" + lines.prefix(firstLines).joined(separator: "\n") + "\n"
        text += "last \(lastLines) lines:\n" + lines.dropLast().suffix(lastLines).joined(separator: "\n") + "\n"
        return text
    }

    static func sha256(_ data: Data) throws -> String {
        let input = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("golden-\(UUID().uuidString)")
        try data.write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let result = try runProcess("/usr/bin/sha256sum", [input.path])
        return String(result.output.prefix { $0 != " " })
    }

    static func firstDifference(_ expected: String, _ actual: String) -> String {
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(expectedLines.count, actualLines.count) {
            let want = index < expectedLines.count ? String(expectedLines[index]) : "(end)"
            let got = index < actualLines.count ? String(actualLines[index]) : "(end)"
            if want != got { return "first difference at line \(index + 1):\n- \(want)\n+ \(got)" }
        }
        return ""
    }
}

/// `executable arguments`: its exit status, standard output and standard error.
private func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}
