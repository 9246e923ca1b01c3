@testable import LightScopeCore
import XCTest

/// Files as editors and accidents produce them: Windows line endings, a byte-order mark, a key
/// set twice, NUL bytes and invalid UTF-8. Both readers of the file (`parse` and
/// `alertCommand`) must read them alike.
final class ConfigEdgeCaseTests: XCTestCase {
    private let unixText = "# LightScope\n[capture]\ninterfaces = eth0, eth1\n[log]\nlevel = debug\n[alert]\ncommand = mail -s \"x\" root\n"

    private func parseError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            _ = try ConfigFile.parse(bytes: bytes, source: "x.conf")
            XCTFail("parsed without error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testCRLFReadsLikeLF() throws {
        let crlf = Array(unixText.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let settings = try ConfigFile.parse(bytes: crlf, source: "x.conf")
        XCTAssertEqual(settings, try ConfigFile.parse(unixText, source: "x.conf"))
        XCTAssertEqual(settings.alert.command, "mail -s \"x\" root")
        XCTAssertEqual(try ConfigFile.alertCommand(in: crlf, source: "x.conf"), "mail -s \"x\" root")
        // Errors still name the right line.
        let broken = Array("[capture]\r\nsnaplen = 256\r\nsnaplen = lots\r\n".utf8)
        XCTAssertEqual(parseError(broken)?.line, 3)
    }

    func testAByteOrderMarkIsIgnored() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(unixText.utf8)
        XCTAssertEqual(try ConfigFile.parse(bytes: bytes, source: "x.conf"), try ConfigFile.parse(unixText, source: "x.conf"))
    }

    func testAKeySetTwiceIsRejectedNamingBothLines() {
        let text = "[log]\nlevel = debug\n[capture]\nsnaplen = 300\n[log]\nlevel = error\n"
        let error = parseError(Array(text.utf8))
        XCTAssertEqual(error?.line, 6)
        XCTAssertTrue(error?.problem.contains("'level' in [log] is set twice, on line 2 and on line 6") ?? false, "\(String(describing: error))")
        // The same key in two sections is two keys.
        XCTAssertNoThrow(try ConfigFile.parse("[metrics]\nlisten = off\n[store]\nanonymise = none\n", source: "x"))
    }

    func testBothReadersRejectACommandSetTwice() {
        let text = Array("[alert]\ncommand = mail root\n[log]\nlevel = info\n[alert]\ncommand = curl -d @- https://x.invalid\n".utf8)
        let parsed = parseError(text)
        XCTAssertEqual(parsed?.line, 6)
        XCTAssertThrowsError(try ConfigFile.alertCommand(in: text, source: "x.conf")) { error in
            XCTAssertEqual(error as? ConfigError, parsed)
        }
    }

    func testNULAndInvalidUTF8AreRejectedOnTheirLineEvenInAComment() {
        let cases: [([UInt8], Int, String)] = [
            (Array("[log]\n# a comment\u{0} with NUL\nlevel = info\n".utf8), 2, "a NUL byte at column 12"),
            (Array("[log]\nlevel = info\n".utf8) + [0x23, 0x20, 0xFF, 0xFE, 0x0A], 3, "not valid UTF-8 ('# \\xff\\xfe')"),
            (Array("[alert]\ncommand = mail ".utf8) + [0xC3, 0x28] + [0x0A], 2, "not valid UTF-8 ('command = mail \\xc3(')"),
        ]
        for (bytes, line, fragment) in cases {
            let error = parseError(bytes)
            XCTAssertEqual(error?.line, line, fragment)
            XCTAssertTrue(error?.problem.contains(fragment) ?? false, "\(String(describing: error)) lacks \(fragment)")
            // The message shows the bad bytes escaped, never raw.
            XCTAssertFalse(error?.description.unicodeScalars.contains { $0.value == 0 || $0 == "\u{FFFD}" } ?? true)
        }
        // The alert reader refuses a command whose own line is damaged, and reads past damage elsewhere.
        XCTAssertThrowsError(try ConfigFile.alertCommand(in: cases[2].0, source: "x.conf"))
        XCTAssertEqual(try ConfigFile.alertCommand(in: cases[1].0 + Array("[alert]\ncommand = mail root\n".utf8), source: "x"), "mail root")
    }

    func testControlCharactersInAValueAreEscapedInTheMessage() {
        let error = parseError(Array("[log]\nlevel = \u{1B}[2J\u{1B}]0;owned\u{7}\n".utf8))
        XCTAssertEqual(error?.line, 2)
        let message = error?.description ?? ""
        XCTAssertTrue(message.contains("'\\e[2J\\e]0;owned\\x07' is not a log level"), message)
        XCTAssertFalse(message.unicodeScalars.contains { $0.value < 0x20 }, message)
    }
}

/// Scan thresholds so high that 16 sources scanning at once would not fit in the scan-target share of
/// the memory budget: rejected on the threshold's line, naming the values that fit.
final class ConfigBudgetTests: XCTestCase {
    func testAHugeAddrscanThresholdIsCheckedAgainstTheBudget() throws {
        let text = "[detection]\nmemory_budget_mib = 64\naddrscan_addresses = 65535\n"
        XCTAssertThrowsError(try ConfigFile.parse(text, source: "x.conf")) { error in
            let configError = error as? ConfigError
            XCTAssertEqual(configError?.line, 3)
            XCTAssertTrue(configError?.problem.contains("addrscan_addresses = 65535 lets each scanning source keep up to 65535 targets") ?? false,
                          "\(error)")
        }
        let problem = try XCTUnwrap(DetectionCapacities.budgetProblem(try settings(budget: 64, addrscan: 65535)))
        // The advice is exact: the largest threshold it names fits, one more does not; the budget it names fits.
        let most = try XCTUnwrap(Int(try XCTUnwrap(problem.problem.split(separator: " ").drop { $0 != "most" }.dropFirst().first).trimmingCharacters(in: .punctuationCharacters)))
        XCTAssertNil(DetectionCapacities.budgetProblem(try settings(budget: 64, addrscan: most)))
        XCTAssertNotNil(DetectionCapacities.budgetProblem(try settings(budget: 64, addrscan: most + 1)))
        let least = try XCTUnwrap(Int(try XCTUnwrap(problem.problem.split(separator: " ").last)))
        XCTAssertNil(DetectionCapacities.budgetProblem(try settings(budget: least, addrscan: 65535)))
        // Whatever fits the check keeps the scan table's worst case inside the budget.
        let capacities = DetectionCapacities(settings: try settings(budget: 64, addrscan: most))
        XCTAssertGreaterThanOrEqual(capacities.scanSources, 16)
        let targets = ScanTracker.maximumTargets(portscanPorts: 15, addrscanAddresses: most)
        XCTAssertGreaterThanOrEqual(capacities.scanTargetBlocks, 16 * ScanTargets.blocks(holding: targets, wide: true),
                                    "16 IPv6 sources at the target cap fit in the scan-target blocks")
    }

    func testTheDefaultsAndTheSmallestBudgetWithDefaultThresholdsFit() throws {
        XCTAssertNil(DetectionCapacities.budgetProblem(Settings().detection))
        XCTAssertNil(DetectionCapacities.budgetProblem(try settings(budget: 4, addrscan: 25)))
        XCTAssertThrowsError(try ConfigFile.parse("[detection]\nportscan_ports = 65535\nmemory_budget_mib = 4\n", source: "x")) { error in
            XCTAssertEqual((error as? ConfigError)?.line, 2)
            XCTAssertTrue((error as? ConfigError)?.problem.contains("lower portscan_ports to at most") ?? false, "\(error)")
        }
    }

    private func settings(budget: Int, addrscan: Int) throws -> Settings.Detection {
        var detection = Settings().detection
        detection.memoryBudgetMiB = budget
        detection.addrscanAddresses = addrscan
        return detection
    }
}
