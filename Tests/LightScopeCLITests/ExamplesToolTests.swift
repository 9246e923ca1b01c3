import Foundation
import XCTest

/// Tests/examples/examples.py on a small tree of its own: it must catch an example without a
/// test, a test without its example, and an output that differs from the document.
final class ExamplesToolTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "lightscope-examples-\(UUID().uuidString)"
        for directory in ["docs", "Tests/examples", "Tests/system", "Tests/LightScopeCLITests"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try write("Tests/system/examples.sh", "scenario_greeting() {\n    doc_example greeting\n}\n")
        try write("Tests/LightScopeCLITests/T.swift", "final class T: XCTestCase {\n    func testCount() throws {\n        try runDocumentedExample(\"count\", in: \"/\")\n    }\n}\n")
        try write("Tests/examples/manifest", "greeting  system:scenario_greeting\ncount  cli:T.testCount  number\n")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    private func write(_ path: String, _ text: String) throws {
        try text.write(toFile: root + "/" + path, atomically: true, encoding: .utf8)
    }

    private func tool(_ arguments: [String]) throws -> CLIResult {
        try examplesTool(arguments, environment: ["LIGHTSCOPE_DOCS_ROOT": root])
    }

    private let documented = """
        <!-- example: greeting -->
        ```console
        $ echo hello; echo world >&2
        hello
        world
        ```

        <!-- example: count -->
        ```console
        $ seq 3 | wc -l
        3
        ```

        ```ini
        [log]
        level = debug
        ```
        """

    func testEveryExampleWithItsTestPasses() throws {
        try write("README.md", documented)
        let check = try tool(["check"])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output, "2 examples, each run by its test\n")
        XCTAssertEqual(try tool(["run", "greeting"]).status, 0)
        XCTAssertEqual(try tool(["config-snippets"]).output, "README.md:14\n[log]\nlevel = debug\n\0")
    }

    func testAnExampleWithoutATestFailsTheCheck() throws {
        try write("README.md", documented + "\n\n```sh\nrm -rf /tmp/nothing\n```\n\n```\nan untagged block\n```\n")
        try write("docs/page.md", "<!-- example: new -->\n```sh\ntrue\n```\n")
        let check = try tool(["check"])
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.output.contains("README.md:19: a ```sh block without a test: put <!-- example: ID --> on the line before it"), check.output)
        XCTAssertTrue(check.output.contains("README.md:23: a ``` block without a language"), check.output)
        XCTAssertTrue(check.output.contains("docs/page.md:2: example 'new' has no line in Tests/examples/manifest"), check.output)
    }

    func testATestThatNoLongerRunsItsExampleFailsTheCheck() throws {
        try write("README.md", documented)
        try write("Tests/system/examples.sh", "scenario_greeting() {\n    doc_example farewell\n}\n")
        try write("Tests/examples/manifest", "greeting  system:scenario_greeting\ncount  cli:T.testCount\ngone  cli:T.testCount\n")
        let check = try tool(["check"])
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.output.contains("example 'greeting': scenario_greeting in Tests/system/examples.sh does not run 'doc_example greeting'"), check.output)
        XCTAssertTrue(check.output.contains("'gone' is no longer an example in any document"), check.output)
    }

    func testAnOutputThatDiffersFromTheDocumentFailsItsRun() throws {
        try write("README.md", documented.replacingOccurrences(of: "hello\nworld", with: "hello\nthere"))
        let run = try tool(["run", "greeting"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.output.contains("FAIL: the output differs from README.md:2"), run.output)
        // What varies is replaced on both sides: 3 lines or 5, a number is a number.
        try write("README.md", documented.replacingOccurrences(of: "$ seq 3 | wc -l\n3", with: "$ seq 5 | wc -l\n3"))
        XCTAssertEqual(try tool(["run", "count"]).status, 0)
    }

    func testTheManPageExamplesAreExamplesToo() throws {
        try write("README.md", documented)
        try FileManager.default.createDirectory(atPath: root + "/packaging", withIntermediateDirectories: true)
        try write("packaging/lightscope.8", ".SH EXAMPLES\nPlain text.\n.PP\n.nf\nlightscope status \\-\\-json\n.fi\n.SH SEE ALSO\n")
        let check = try tool(["check"])
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.output.contains("packaging/lightscope.8:5: an example without a marker"), check.output)
        XCTAssertFalse(check.output.contains("Plain text"), "prose is not a command")
    }
}
