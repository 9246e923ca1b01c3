@testable import LightScopeCore
import Foundation
import XCTest

/// The conffile the .deb ships must list every option with its real default.
final class ShippedConfigTests: XCTestCase {
    private func shippedConfig() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("packaging/lightscope.conf"), encoding: .utf8)
    }

    /// `#key = value` lines are the commented defaults: uncommented, they must parse to `Settings()`.
    func testEveryCommentedDefaultIsTheRealDefault() throws {
        let uncommented = try shippedConfig().split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let text = String(line)
            if text.hasPrefix("#"), let first = text.dropFirst().first, first.isLetter, text.contains(" = ") || text.hasSuffix(" =") {
                return String(text.dropFirst())
            }
            return text
        }.joined(separator: "\n")
        XCTAssertEqual(try ConfigFile.parse(uncommented, source: "lightscope.conf"), Settings())
    }

    func testEveryOptionIsListed() throws {
        let text = try shippedConfig()
        for (section, keys) in ConfigFile.keys {
            XCTAssertTrue(text.contains("[\(section)]"), "section [\(section)] missing from packaging/lightscope.conf")
            for key in keys.keys {
                XCTAssertTrue(text.contains("#\(key) ="), "\(section).\(key) missing from packaging/lightscope.conf")
            }
        }
    }
}

/// The lists of log levels a person reads (conffile, man page) are the parser's.
final class LogLevelListTests: XCTestCase {
    private func file(_ path: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The README points to these two rather than listing the levels a third time.
    func testTheConffileAndTheManPageListEveryLevel() throws {
        let names = LogLevel.allCases.map(\.name)
        let conffile = try file("packaging/lightscope.conf")
        XCTAssertTrue(conffile.contains("# \(names.dropLast().joined(separator: ", ")) or \(names.last!). "), "packaging/lightscope.conf")
        let manPage = try file("packaging/lightscope.8")
        // troff: ".BR name ," for each but the last two, ".B name" before "or", ".BR last ;".
        let manList = names.dropLast(2).map { ".BR \($0) ,\n" }.joined() + ".B \(names[names.count - 2])\nor\n.BR \(names.last!) ;"
        XCTAssertTrue(manPage.contains(manList), "packaging/lightscope.8 lacks:\n\(manList)")
    }
}
