import Foundation
import XCTest

/// Operator-facing output compared byte for byte with a file under `Tests/golden/<area>/`.
/// A deliberate change rewrites the files with `LIGHTSCOPE_UPDATE_GOLDEN=1` (the same switch
/// the replay goldens use) and shows the difference in its commit.
enum GoldenFile {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("golden")

    static func assertMatches(_ actual: String, area: String, name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = root.appendingPathComponent(area)
        let golden = directory.appendingPathComponent(name + ".txt")
        if ProcessInfo.processInfo.environment["LIGHTSCOPE_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: golden)
            return
        }
        let expected = (try? String(contentsOf: golden, encoding: .utf8)) ?? "(no golden file \(golden.path))"
        guard actual != expected else { return }
        let kept = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lightscope-golden-\(area)-\(name).txt")
        try Data(actual.utf8).write(to: kept)
        XCTFail("\(area)/\(name) differs from its golden file: diff -u \(golden.path) \(kept.path)\n"
            + "(if the change is deliberate, rerun with LIGHTSCOPE_UPDATE_GOLDEN=1 and commit the new file)", file: file, line: line)
    }

    /// One command's whole result: exit status, stdout and stderr, each marked.
    static func transcript(_ result: CLIResult, masks: [(String, String)]) -> String {
        let text = "exit \(result.status)\n--- stdout\n\(result.output)--- stderr\n\(result.errors)"
        return masks.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1, options: .regularExpression) }
    }
}
