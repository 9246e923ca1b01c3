import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `lightscope blocklist` through the real binary, and its output through the real nft and
/// ipset (Debian's nftables and ipset packages), each run inside a network namespace this
/// test creates and removes, so the host's firewall is never touched.
final class BlocklistCommandTests: XCTestCase {
    private var namespace: String?

    override func tearDown() {
        if let namespace { _ = try? shell(["ip", "netns", "del", namespace], allowFailure: true) }
        namespace = nil
    }

    private func makeNamespace() throws -> String {
        try requireRoot()
        let name = "lsT-fw-\(getpid() % 100000)-\(UInt16.random(in: 0...UInt16.max))"
        try shell(["ip", "netns", "add", name])
        namespace = name
        return name
    }

    private func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "lightscope-blocklist-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Three IPv4 and two IPv6 scanners over the bar, one below it, one anonymised.
    private func filledStore() throws -> FilledStateDirectory {
        let state = try FilledStateDirectory()
        var records: [EventRecord] = []
        for (source, count) in [("203.0.113.7", 6), ("198.51.100.1", 5), ("192.0.2.200", 9), ("2001:db8::7", 5),
                                ("2001:db8:0:1::99", 7), ("203.0.113.8", 4), ("anon4-6cf5eedfd3530cb1", 12)] {
            records += (0..<count).map { state.event(source, secondsAgo: 60 + UInt64($0)) }
        }
        records.append(state.event("203.0.113.8", secondsAgo: 2 * 86400))
        try state.insert(records)
        return state
    }

    func testPlainListsSourcesOverTheBarAndCountsTheSkippedOnes() throws {
        let state = try filledStore()
        let result = try lightscope(["blocklist", "--min-events", "5", "--format", "plain", "--state-dir", state.path])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.lines, ["192.0.2.200", "198.51.100.1", "203.0.113.7", "2001:db8::7", "2001:db8:0:1::99"])
        XCTAssertTrue(result.errors.contains("skipped 1 anonymised sources"), result.errors)
        XCTAssertTrue(result.errors.contains("3 IPv4 and 2 IPv6 sources with at least 5 events in the last 24h"), result.errors)
        let wider = try lightscope(["blocklist", "--since", "3d", "--min-events", "5", "--format", "plain", "--state-dir", state.path])
        XCTAssertTrue(wider.lines.contains("203.0.113.8"), "4 events today and 1 two days ago")
    }

    /// A source whose events in the window include backscatter is a victim of an attack that
    /// forged this host's address: never listed, whatever else it did, and named on stderr.
    func testBackscatterVictimsAreNeverListed() throws {
        let state = try FilledStateDirectory()
        var records = (0..<6).map { state.event("203.0.113.7", secondsAgo: 60 + UInt64($0)) }
        records += (0..<3).map { state.event("198.51.100.80", secondsAgo: 60 + UInt64($0)) }
        var backscatter = state.event("198.51.100.80", secondsAgo: 30, port: nil, packets: 412)
        backscatter.verdict = .backscatter
        backscatter.answer = .synAck
        records.append(backscatter)
        try state.insert(records)
        let result = try lightscope(["blocklist", "--min-events", "1", "--format", "plain", "--state-dir", state.path])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.lines, ["203.0.113.7"])
        XCTAssertTrue(result.errors.contains("198.51.100.80 (backscatter victim)"), result.errors)
    }

    func testFormatIsRequired() throws {
        let result = try lightscope(["blocklist", "--state-dir", "/nonexistent"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.errors.contains("--format"), result.errors)
    }

    func testNftAcceptsAndReappliesTheRulesetInANamespace() throws {
        let state = try filledStore()
        let result = try lightscope(["blocklist", "--format", "nft", "--state-dir", state.path])
        XCTAssertEqual(result.status, 0, result.errors)
        let file = try write(result.output)
        let namespace = try makeNamespace()
        try shell(["ip", "netns", "exec", namespace, "nft", "-c", "-f", file])
        // Applied twice: the second run replaces the first instead of failing or adding twice.
        try shell(["ip", "netns", "exec", namespace, "nft", "-f", file])
        try shell(["ip", "netns", "exec", namespace, "nft", "-f", file])
        let v4 = try shell(["ip", "netns", "exec", namespace, "nft", "list", "set", "inet", "lightscope", "blocked_v4"]).output
        for address in ["192.0.2.200", "198.51.100.1", "203.0.113.7"] { XCTAssertTrue(v4.contains(address), v4) }
        XCTAssertFalse(v4.contains("203.0.113.8"), v4)
        let v6 = try shell(["ip", "netns", "exec", namespace, "nft", "list", "set", "inet", "lightscope", "blocked_v6"]).output
        XCTAssertTrue(v6.contains("2001:db8::7") && v6.contains("2001:db8:0:1::99"), v6)
        let chains = try shell(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", "lightscope"]).output
        XCTAssertEqual(chains.components(separatedBy: "ip saddr @blocked_v4 drop").count, 2, chains)
    }

    func testNftAcceptsEmptySets() throws {
        let namespace = try makeNamespace()
        for sources in [[], ["2001:db8::7"], ["203.0.113.7"]] {
            let file = try write(Blocklist(sources: sources).render(.nft, header: ["test"]))
            try shell(["ip", "netns", "exec", namespace, "nft", "-c", "-f", file])
            try shell(["ip", "netns", "exec", namespace, "nft", "-f", file])
        }
        let v4 = try shell(["ip", "netns", "exec", namespace, "nft", "list", "set", "inet", "lightscope", "blocked_v4"]).output
        XCTAssertTrue(v4.contains("203.0.113.7"), v4)
    }

    func testIpsetRestoresAndReplacesTheSetsInANamespace() throws {
        let state = try filledStore()
        let result = try lightscope(["blocklist", "--format", "ipset", "--state-dir", state.path])
        XCTAssertEqual(result.status, 0, result.errors)
        let namespace = try makeNamespace()
        let file = try write(result.output)
        let restore = "ipset restore < \(file)"
        try shell(["ip", "netns", "exec", namespace, "sh", "-c", restore])
        try shell(["ip", "netns", "exec", namespace, "sh", "-c", restore])
        let v4 = try shell(["ip", "netns", "exec", namespace, "ipset", "list", "lightscope-v4"]).output
        XCTAssertTrue(v4.contains("Type: hash:ip") && v4.contains("family inet "), v4)
        for address in ["192.0.2.200", "198.51.100.1", "203.0.113.7"] { XCTAssertTrue(v4.split(separator: "\n").contains(Substring(address)), v4) }
        XCTAssertTrue(v4.contains("Number of entries: 3"), v4)
        let v6 = try shell(["ip", "netns", "exec", namespace, "ipset", "list", "lightscope-v6"]).output
        XCTAssertTrue(v6.contains("family inet6") && v6.contains("Number of entries: 2"), v6)
        // A later, shorter list replaces the old one: flush drops what is no longer listed.
        let shorter = try write(Blocklist(sources: ["203.0.113.7"]).render(.ipset))
        try shell(["ip", "netns", "exec", namespace, "sh", "-c", "ipset restore < \(shorter)"])
        let after = try shell(["ip", "netns", "exec", namespace, "ipset", "list", "lightscope-v4"]).output
        XCTAssertTrue(after.contains("Number of entries: 1") && after.contains("203.0.113.7"), after)
        let emptied = try shell(["ip", "netns", "exec", namespace, "ipset", "list", "lightscope-v6"]).output
        XCTAssertTrue(emptied.contains("Number of entries: 0"), emptied)
    }

    func testOutputReplacesTheFileAndDryRunShowsTheChangeWithoutWriting() throws {
        let state = try filledStore()
        let directory = try FilledStateDirectory()
        let file = directory.path + "/blocklist.nft"
        let previous = Blocklist(sources: ["203.0.113.7", "198.51.100.250", "2001:db8::dead"]).render(.nft)
        try previous.write(toFile: file, atomically: true, encoding: .utf8)

        let dry = try lightscope(["blocklist", "--format", "nft", "--output", file, "--dry-run", "--state-dir", state.path])
        XCTAssertEqual(dry.status, 0, dry.errors)
        XCTAssertEqual(dry.lines, ["add 192.0.2.200", "add 198.51.100.1", "add 2001:db8::7", "add 2001:db8:0:1::99",
                                   "remove 198.51.100.250", "remove 2001:db8::dead"])
        XCTAssertTrue(dry.errors.contains("dry run, \(file) not written: 4 added, 2 removed, 1 kept"), dry.errors)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), previous, "a dry run writes nothing")

        let written = try lightscope(["blocklist", "--format", "nft", "--output", file, "--state-dir", state.path])
        XCTAssertEqual(written.status, 0, written.errors)
        XCTAssertEqual(written.output, "", "the list goes to the file")
        XCTAssertTrue(written.errors.contains("wrote \(file): 4 added, 2 removed, 1 kept"), written.errors)
        let rendered = try lightscope(["blocklist", "--format", "nft", "--state-dir", state.path]).output
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), rendered)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["blocklist.nft"], "no temporary file left")

        let again = try lightscope(["blocklist", "--format", "nft", "--output", file, "--dry-run", "--state-dir", state.path])
        XCTAssertEqual(again.output, "")
        XCTAssertTrue(again.errors.contains("0 added, 0 removed, 5 kept"), again.errors)

        let noOutput = try lightscope(["blocklist", "--format", "nft", "--dry-run", "--state-dir", state.path])
        XCTAssertNotEqual(noOutput.status, 0)
        XCTAssertTrue(noOutput.errors.contains("give --output FILE"), noOutput.errors)
    }

    func testTheConfigsAllowListAndNeverBlockedAddressesAreLeftOutAndNamed() throws {
        let state = try FilledStateDirectory()
        var records: [EventRecord] = []
        for source in ["203.0.113.7", "198.51.100.1", "127.0.0.2", "0.0.0.0", "255.255.255.255", "224.0.0.1", "::1", "fe80::1"] {
            records += (0..<5).map { state.event(source, secondsAgo: 60 + UInt64($0)) }
        }
        try state.insert(records)
        let config = state.path + "/test.conf"
        try "[blocklist]\nallow = 198.51.100.0/24\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try lightscope(["blocklist", "--format", "plain", "--config", config, "--state-dir", state.path])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.lines, ["203.0.113.7"])
        XCTAssertTrue(result.errors.contains("left out 7 that must never be blocked: 0.0.0.0 (unspecified), 127.0.0.2 (loopback), "
            + "198.51.100.1 ([blocklist] allow 198.51.100.0/24), 224.0.0.1 (multicast), 255.255.255.255 (broadcast), ::1 (loopback), "
            + "fe80::1 (link-local)"), result.errors)
        let badConfig = try lightscope(["blocklist", "--format", "plain", "--config", "/nonexistent.conf", "--state-dir", state.path])
        XCTAssertEqual(badConfig.status, 78)
    }
}

