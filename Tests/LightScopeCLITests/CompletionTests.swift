import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// The bash completion the package ships (generated from the binary), run by a real bash as
/// the Tab key would: option values are offered where there is a fixed set of them.
final class CompletionTests: XCTestCase {
    private var script = ""

    override func setUpWithError() throws {
        let generated = try lightscope(["--generate-completion-script", "bash"])
        XCTAssertEqual(generated.status, 0, generated.errors)
        script = NSTemporaryDirectory() + "lightscope-completion-\(UUID().uuidString).bash"
        try generated.output.write(toFile: script, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: script)
    }

    /// What bash offers after `line` (which ends where the cursor is).
    private func complete(_ line: String) throws -> [String] {
        let driver = """
        source "$1"
        COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
        read -ra COMP_WORDS <<< "$COMP_LINE"
        [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMPREPLY=()
        _lightscope lightscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\\n' "${COMPREPLY[@]}"
        """
        return try shell(["bash", "-O", "extglob", "-c", driver, "bash", script, line]).output.split(separator: "\n").map(String.init)
    }

    func testOptionValuesAreOffered() throws {
        XCTAssertEqual(try complete("lightscope events --verdict "), Verdict.allCases.map(\.rawValue))
        XCTAssertEqual(try complete("lightscope events --verdict po"), ["portscan"])
        XCTAssertEqual(try complete("lightscope blocklist --format "), ["plain", "nft", "ipset"])
        XCTAssertEqual(try complete("lightscope top --by "), ["source", "port", "tool"])
        XCTAssertEqual(try complete("lightscope events --tool "), ScanTool.allCases.map(\.name))
        XCTAssertEqual(try complete("lightscope run --log-level "), LogLevel.allCases.map(\.name))
        let interfaces = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        XCTAssertEqual(try complete("lightscope run --interface ").sorted(), interfaces)
        XCTAssertEqual(try complete("lightscope run --interface l"), interfaces.filter { $0.hasPrefix("l") })
    }
}
