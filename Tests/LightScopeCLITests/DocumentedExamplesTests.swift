import Foundation
import LightScopeTestSupport
import XCTest

/// The documents' examples that need no systemd, run as written and compared with the
/// documents (Tests/examples/manifest says which test runs which example; the ones that need
/// systemd run in Tests/system). The store examples read events that the real engine found
/// in `ExampleTraffic`'s capture.
final class DocumentedExamplesTests: XCTestCase {
    /// Read when a test runs (XCTest makes every test case object before the first test runs).
    private var nowNanos: UInt64 { UInt64(Date().timeIntervalSince1970) * 1_000_000_000 }

    func testEveryExampleHasATestAndEveryTestItsExample() throws {
        let check = try examplesTool(["check"])
        XCTAssertEqual(check.status, 0, check.output)
    }

    func testStoreExamples() throws {
        let state = try ExampleTraffic.filledStore(nowNanos: nowNanos)
        for id in ["events", "top", "blocklist-plain", "man-store"] {
            try runDocumentedExample(id, in: state.path, environment: ["STATE_DIRECTORY": state.path])
        }
    }

    func testReplayExample() throws {
        let directory = try FilledStateDirectory()
        try ExampleTraffic.capture(endingAt: nowNanos).write(to: URL(fileURLWithPath: directory.path + "/capture.pcap"))
        try runDocumentedExample("replay", in: directory.path)
    }

    /// Each ```ini block of the documents is a LightScope config that `check-config` accepts.
    func testEveryConfigSnippetIsValid() throws {
        let snippets = try examplesTool(["config-snippets"]).output.split(separator: "\0").filter { !$0.isEmpty }
        XCTAssertFalse(snippets.isEmpty)
        let directory = try FilledStateDirectory()
        for snippet in snippets {
            let where_ = String(snippet.prefix { $0 != "\n" }), text = snippet.drop { $0 != "\n" }.dropFirst()
            let path = directory.path + "/snippet.conf"
            try String(text).write(toFile: path, atomically: true, encoding: .utf8)
            let result = try lightscope(["check-config", "--config", path])
            XCTAssertEqual(result.status, 0, "\(where_): \(result.errors)")
        }
    }
}
