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
