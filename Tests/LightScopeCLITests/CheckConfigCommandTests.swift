import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `lightscope check-config` through the real binary: 0 for a file `run` would accept, 78 with
/// the line for one it would reject, for the same reasons.
final class CheckConfigCommandTests: XCTestCase {
    private func file(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "lightscope-check-\(UUID().uuidString).conf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testAValidFileAndAWindowsFileExitZero() throws {
        for text in ["[capture]\ninterfaces = eth0\n[log]\nlevel = debug\n", "[capture]\r\ninterfaces = eth0\r\n[log]\r\nlevel = debug\r\n"] {
            let path = try file(Array(text.utf8))
            let result = try lightscope(["check-config", "--config", path])
            XCTAssertEqual(result.status, 0, result.errors)
            XCTAssertEqual(result.output, "\(path): valid\n")
            XCTAssertEqual(result.errors, "")
        }
    }

    func testEachRejectedFileExits78WithItsLine() throws {
        let cases: [([UInt8], String)] = [
            (Array("[capture]\n\nsnaplen = lots\n".utf8), "line 3: snaplen: 'lots' must be a whole number"),
            (Array("[log]\nlevel = info\n[log]\nlevel = debug\n".utf8), "line 4: 'level' in [log] is set twice, on line 2 and on line 4"),
            (Array("[log]\n# note\u{0}\n".utf8), "line 2: a NUL byte at column 7"),
            (Array("[log]\nlevel = info\n# caf".utf8) + [0xE9] + [0x0A], "line 3: not valid UTF-8 ('# caf\\xe9')"),
            (Array("[detection]\naddrscan_addresses = 65535\n".utf8), "line 2: addrscan_addresses = 65535 lets each scanning source"),
        ]
        for (bytes, expected) in cases {
            let path = try file(bytes)
            let result = try lightscope(["check-config", "--config", path])
            XCTAssertEqual(result.status, 78, expected)
            XCTAssertEqual(result.output, "")
            XCTAssertTrue(result.errors.contains("invalid config \(path) \(expected)"), result.errors)
        }
    }

    func testANamedFileThatIsMissingIsAnError() throws {
        let result = try lightscope(["check-config", "--config", "/nonexistent/lightscope.conf"])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.errors.contains("cannot read it (No such file or directory)"), result.errors)
    }
}
