import LightScopeCore
import XCTest

final class BlocklistTests: XCTestCase {
    func testSortsSplitsByFamilyDeduplicatesAndSkipsPseudonyms() {
        let blocklist = Blocklist(sources: ["203.0.113.9", "anon4-6cf5eedfd3530cb1", "2001:db8::7", "198.51.100.1",
                                            "203.0.113.9", "2001:DB8:0:0::7", "anon6-0011223344556677", "not an address"])
        XCTAssertEqual(blocklist.ipv4.map(\.description), ["198.51.100.1", "203.0.113.9"])
        XCTAssertEqual(blocklist.ipv6.map(\.description), ["2001:db8::7"])
        XCTAssertEqual(blocklist.skipped, ["anon4-6cf5eedfd3530cb1", "anon6-0011223344556677", "not an address"])
    }

    func testPlainIsOneAddressPerLineIPv4First() {
        let blocklist = Blocklist(sources: ["2001:db8::7", "203.0.113.9"])
        XCTAssertEqual(blocklist.render(.plain, header: ["ignored"]), "203.0.113.9\n2001:db8::7\n")
        XCTAssertEqual(Blocklist(sources: []).render(.plain), "")
    }

    func testNftRulesetReplacesItsTableAndDropsBothFamilies() {
        let text = Blocklist(sources: ["203.0.113.9", "198.51.100.1", "2001:db8::7"]).render(.nft, header: ["made by a test"])
        XCTAssertEqual(text, """
            #!/usr/sbin/nft -f
            # made by a test
            table inet lightscope
            delete table inet lightscope
            table inet lightscope {
            \tset blocked_v4 {
            \t\ttype ipv4_addr
            \t\telements = {
            \t\t\t198.51.100.1,
            \t\t\t203.0.113.9
            \t\t}
            \t}
            \tset blocked_v6 {
            \t\ttype ipv6_addr
            \t\telements = {
            \t\t\t2001:db8::7
            \t\t}
            \t}
            \tchain input {
            \t\ttype filter hook input priority filter - 10; policy accept;
            \t\tip saddr @blocked_v4 drop
            \t\tip6 saddr @blocked_v6 drop
            \t}
            }

            """)
    }

    func testNftOmitsElementsOfAnEmptySet() {
        let text = Blocklist(sources: ["2001:db8::7"]).render(.nft)
        XCTAssertTrue(text.contains("\tset blocked_v4 {\n\t\ttype ipv4_addr\n\t}\n"), text)
        XCTAssertEqual(text.components(separatedBy: "elements").count, 2, "only the IPv6 set has elements")
    }

    func testIpsetScriptCreatesFlushesAndAddsIdempotently() {
        let text = Blocklist(sources: ["2001:db8::7", "203.0.113.9"]).render(.ipset, header: ["made by a test"])
        XCTAssertEqual(text, """
            # made by a test
            create lightscope-v4 hash:ip family inet -exist
            create lightscope-v6 hash:ip family inet6 -exist
            flush lightscope-v4
            flush lightscope-v6
            add lightscope-v4 203.0.113.9 -exist
            add lightscope-v6 2001:db8::7 -exist

            """)
    }

    func testTheFleetListHasItsOwnTableAndSets() {
        let blocklist = Blocklist(sources: ["2001:db8::7", "203.0.113.9"])
        let nft = blocklist.render(.nft, names: .fleet)
        XCTAssertTrue(nft.contains("table inet lightscope_fleet\ndelete table inet lightscope_fleet\ntable inet lightscope_fleet {\n"), nft)
        XCTAssertFalse(nft.contains("table inet lightscope\n"), nft)
        let ipset = blocklist.render(.ipset, names: .fleet)
        XCTAssertTrue(ipset.contains("create lightscope-fleet-v4 hash:ip family inet -exist\n"), ipset)
        XCTAssertTrue(ipset.contains("add lightscope-fleet-v6 2001:db8::7 -exist\n"), ipset)
        XCTAssertFalse(ipset.contains("lightscope-v4"), ipset)
        XCTAssertEqual(Blocklist.addresses(inOutput: ipset), Set(blocklist.addresses), "--dry-run reads the fleet list too")
    }
}
