import LightScopeCore
import XCTest

final class BlocklistPolicyTests: XCTestCase {
    private let host = HostNetwork(addresses: [IPPrefix("192.0.2.1/24")!, IPPrefix("2001:db8::1/64")!, IPPrefix("127.0.0.1/8")!],
                                   gateways: [IPAddress("192.0.2.254")!, IPAddress("fe80::1")!, IPAddress("2001:db8::fffe")!],
                                   resolvers: [IPAddress("198.51.100.53")!, IPAddress("2001:db8:53::53")!])

    func testNeverListedAddressesAreExcludedWithTheirReason() {
        let policy = BlocklistPolicy(host: host, allow: [IPPrefix("203.0.113.0/28")!])
        let expected: [(String, String?)] = [
            ("127.0.0.2", "loopback"), ("::1", "loopback"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
            ("255.255.255.255", "broadcast"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
            ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
            ("192.0.2.1", "this host's address"), ("2001:db8::1", "this host's address"),
            ("192.0.2.254", "default gateway"), ("2001:db8::fffe", "default gateway"),
            ("198.51.100.53", "DNS resolver"), ("2001:db8:53::53", "DNS resolver"),
            ("203.0.113.9", "[blocklist] allow 203.0.113.0/28"),
            ("203.0.113.16", nil), ("192.0.2.77", nil), ("2001:db8::77", nil), ("198.51.100.54", nil),
        ]
        for (text, reason) in expected {
            XCTAssertEqual(policy.exclusion(of: IPAddress(text)!), reason, text)
        }
    }

    func testFleetHostsAddressesAreExcludedByName() {
        let policy = BlocklistPolicy(host: host, fleetHosts: [IPAddress("198.51.100.20")!: "web2", IPAddress("2001:db8:20::20")!: "web2"])
        XCTAssertEqual(policy.exclusion(of: IPAddress("198.51.100.20")!), "fleet host web2")
        XCTAssertEqual(policy.exclusion(of: IPAddress("2001:db8:20::20")!), "fleet host web2")
        XCTAssertEqual(policy.exclusion(of: IPAddress("192.0.2.1")!), "this host's address", "this host first")
        XCTAssertNil(policy.exclusion(of: IPAddress("198.51.100.21")!))
        XCTAssertNil(BlocklistPolicy(host: host).exclusion(of: IPAddress("198.51.100.20")!))
    }

    func testBackscatterVictimsAreNeverListed() {
        let policy = BlocklistPolicy(host: host, backscatterVictims: [IPAddress("198.51.100.80")!])
        XCTAssertEqual(policy.exclusion(of: IPAddress("198.51.100.80")!), "backscatter victim")
        XCTAssertNil(policy.exclusion(of: IPAddress("198.51.100.81")!))
    }

    func testLocalNetworksOnlyWhenAskedFor() {
        let policy = BlocklistPolicy(host: host, excludeLocalNetworks: true)
        XCTAssertEqual(policy.exclusion(of: IPAddress("192.0.2.77")!), "local network 192.0.2.0/24")
        XCTAssertEqual(policy.exclusion(of: IPAddress("2001:db8::77")!), "local network 2001:db8::/64")
        XCTAssertNil(policy.exclusion(of: IPAddress("192.0.3.1")!))
        XCTAssertNil(BlocklistPolicy(host: host).exclusion(of: IPAddress("192.0.2.77")!))
    }

    func testTheBlocklistLeavesOutWhatThePolicyExcludes() {
        let blocklist = Blocklist(sources: ["203.0.113.16", "127.0.0.2", "192.0.2.254", "anon4-6cf5eedfd3530cb1", "2001:db8:1::66", "ff02::1"],
                                  policy: BlocklistPolicy(host: host))
        XCTAssertEqual(blocklist.addresses.map(\.description), ["203.0.113.16", "2001:db8:1::66"])
        XCTAssertEqual(blocklist.excluded.map(\.description), ["127.0.0.2 (loopback)", "192.0.2.254 (default gateway)", "ff02::1 (multicast)"])
        XCTAssertEqual(blocklist.skipped, ["anon4-6cf5eedfd3530cb1"])
        // Special-use addresses are left out even without any host facts.
        XCTAssertEqual(Blocklist(sources: ["0.0.0.0", "255.255.255.255", "203.0.113.7"]).addresses.map(\.description), ["203.0.113.7"])
    }

    func testAnEarlierOutputOfEveryFormatReadsBack() {
        let blocklist = Blocklist(sources: ["203.0.113.7", "198.51.100.1", "2001:db8::7"])
        for format in Blocklist.Format.allCases {
            XCTAssertEqual(Blocklist.addresses(inOutput: blocklist.render(format, header: ["1.2.3.4 in a comment"])),
                           Set(blocklist.addresses), format.rawValue)
        }
        XCTAssertEqual(Blocklist.addresses(inOutput: ""), [])
    }

    /// The kernel's own text, as a host with a default route on each family prints it.
    func testRoutesAndResolversAreReadFromTheirFiles() {
        let route = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        eth1\t0000000A\t0100000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0
        """
        XCTAssertEqual(route.split(separator: "\n").compactMap(HostNetwork.defaultGateway(procNetRouteLine:)), [IPAddress("192.0.2.1")!])
        let ipv6Route = """
        fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
        """
        XCTAssertEqual(ipv6Route.split(separator: "\n").compactMap(HostNetwork.defaultGateway(procNetIPv6RouteLine:)), [IPAddress("fe80::1")!])
        let resolvConf = "# generated\nsearch example.org\nnameserver 192.0.2.53\nnameserver fe80::53%eth0\nnameserver\noptions edns0\n"
        XCTAssertEqual(HostNetwork.resolvers(resolvConf: resolvConf), [IPAddress("192.0.2.53")!, IPAddress("fe80::53")!])
    }

    func testTheBlocklistSection() throws {
        let settings = try ConfigFile.parse("[blocklist]\nexclude_local_networks = yes\nallow = 198.51.100.0/24, 2001:db8::/32,203.0.113.7\n",
                                            source: "x")
        XCTAssertTrue(settings.blocklist.excludeLocalNetworks)
        XCTAssertEqual(settings.blocklist.allow.map(\.description), ["198.51.100.0/24", "2001:db8::/32", "203.0.113.7/32"])
        XCTAssertThrowsError(try ConfigFile.parse("[blocklist]\nallow = 198.51.100.0/33\n", source: "x")) { error in
            XCTAssertTrue("\(error)".contains("'198.51.100.0/33' is not an address or prefix"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigFile.parse("[blocklist]\nexclude_local_networks = maybe\n", source: "x"))
    }
}
