import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// A fresh install on a quiet host: the daemon has created its store, and nothing has happened
/// yet. Every store command answers that nothing was found, with exit 0, so a cron job that
/// builds a blocklist does not fail before the first scanner comes.
final class QuietHostTests: XCTestCase {
    func testAnEmptyStoreAnswersNothingFoundWithExitZero() throws {
        let state = try FilledStateDirectory()
        _ = try EventStore(directory: state.path)
        let events = try lightscope(["events", "--state-dir", state.path])
        XCTAssertEqual(events.status, 0, events.errors)
        XCTAssertEqual(events.output, "")
        XCTAssertEqual(events.errors, "no events in the last 1h\n")
        let verdict = try lightscope(["events", "--verdict", "portscan", "--since", "7d", "--state-dir", state.path])
        XCTAssertEqual(verdict.errors, "no portscan events in the last 7d\n")
        let json = try lightscope(["events", "--json", "--state-dir", state.path])
        XCTAssertEqual(json.status, 0, json.errors)
        XCTAssertEqual(json.output, "", "JSON Lines: no event, no line")

        for by in ["source", "port"] {
            let top = try lightscope(["top", "--by", by, "--state-dir", state.path])
            XCTAssertEqual(top.status, 0, top.errors)
            XCTAssertEqual(top.output, "")
            XCTAssertEqual(top.errors, "no events in the last 24h\n")
        }

        let plain = try lightscope(["blocklist", "--format", "plain", "--state-dir", state.path])
        XCTAssertEqual(plain.status, 0, plain.errors)
        XCTAssertEqual(plain.output, "")
        XCTAssertTrue(plain.errors.contains("0 IPv4 and 0 IPv6 sources with at least 5 events in the last 24h"), plain.errors)
        let nft = try lightscope(["blocklist", "--format", "nft", "--state-dir", state.path])
        XCTAssertEqual(nft.status, 0, nft.errors)
        XCTAssertTrue(nft.output.contains("set blocked_v4 {"), "an empty ruleset still replaces the previous one")
    }
}
