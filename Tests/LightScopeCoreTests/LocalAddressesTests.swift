import LightScopeCore
import XCTest

/// `LocalAddresses` answers exactly, whatever its summary word and its prefixes' masks made
/// in advance: every address it holds is local, no other is, and a prefix matches as
/// `IPPrefix.contains` says.
final class LocalAddressesTests: XCTestCase {
    private func address(_ text: String) throws -> IPAddress { try XCTUnwrap(IPAddress(text)) }

    /// Deterministic addresses of both families, spread over the whole space.
    private func scattered(_ count: Int) -> [IPAddress] {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<count).map { index in
            index % 2 == 0 ? IPAddress(ipv4: UInt32(truncatingIfNeeded: next())) : IPAddress(high: next(), low: next())
        }
    }

    /// A probe's destination found local is remembered for the next SYN, and forgotten
    /// when the host's addresses change: an address no longer the host's takes no probe.
    func testARememberedDestinationIsForgottenWhenTheAddressesChange() throws {
        let (first, second) = (try address("192.0.2.1"), try address("2001:db8::5"))
        var local = LocalAddresses(addresses: [first])
        XCTAssertTrue(local.mayBeInbound(sourceIsLocal: false, destination: first))
        XCTAssertTrue(local.mayBeInbound(sourceIsLocal: false, destination: first))
        XCTAssertFalse(local.mayBeInbound(sourceIsLocal: true, destination: first))
        XCTAssertFalse(local.mayBeInbound(sourceIsLocal: false, destination: second))
        local.replace(addresses: [second])
        XCTAssertFalse(local.mayBeInbound(sourceIsLocal: false, destination: first))
        XCTAssertTrue(local.mayBeInbound(sourceIsLocal: false, destination: second))
        var prefixed = LocalAddresses(prefixes: [try XCTUnwrap(IPPrefix("192.0.2.0/24"))])
        XCTAssertTrue(prefixed.mayBeInbound(sourceIsLocal: false, destination: first))
        XCTAssertTrue(prefixed.mayBeInbound(sourceIsLocal: false, destination: first))
        XCTAssertFalse(prefixed.mayBeInbound(sourceIsLocal: false, destination: second))
    }

    func testEveryHeldAddressIsLocalAndNoOtherIs() throws {
        let held: Set<IPAddress> = try Set(["192.0.2.1", "10.1.2.3", "127.0.0.1", "::1", "2001:db8::5", "fe80::1"].map(address))
        let local = LocalAddresses(addresses: held)
        for address in held { XCTAssertTrue(local.contains(address), "\(address)") }
        let others = scattered(200_000).filter { !held.contains($0) }
        XCTAssertEqual(others.filter(local.contains), [])
        XCTAssertEqual(local.exact, held)
    }

    /// So many addresses that every bit of the summary is set: the table still decides.
    func testManyAddressesFillTheSummaryAndStayExact() {
        let all = scattered(2_000)
        let held = Set(all.prefix(1_000))
        let local = LocalAddresses(addresses: held)
        XCTAssertEqual(all.filter(local.contains), Array(all.prefix(1_000)))
    }

    func testReplacedAddressesLeaveNoneOfTheOldBehind() throws {
        var local = LocalAddresses(addresses: [try address("192.0.2.1"), try address("2001:db8::1")])
        local.replace(addresses: [try address("192.0.2.2")])
        XCTAssertFalse(local.contains(try address("192.0.2.1")))
        XCTAssertFalse(local.contains(try address("2001:db8::1")))
        XCTAssertTrue(local.contains(try address("192.0.2.2")))
    }

    func testLearnedAddressesAreFoundAndOnlyThose() {
        var local = LocalAddresses.learnedFromAnswers()
        let all = scattered(1_000)
        for address in all.prefix(100) { XCTAssertTrue(local.acceptAnswer(from: address)) }
        XCTAssertEqual(all.filter(local.contains), Array(all.prefix(100)))
    }

    func testPrefixesMatchAsIPPrefixDoes() throws {
        let prefixes = try ["0.0.0.0/0", "::/0", "192.0.2.0/24", "10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32",
                            "2001:db8::/100", "2001:db8::1/128", "203.0.113.0/25", "::/1", "8000::/1", "2001:db8::/64"]
            .map { try XCTUnwrap(IPPrefix($0)) }
        let candidates = try ["192.0.2.7", "192.0.2.255", "192.0.3.1", "10.255.0.1", "11.0.0.1", "0.0.0.0", "255.255.255.255",
                              "203.0.113.127", "203.0.113.128", "2001:db8::1", "2001:db8::2", "2001:db9::1", "::", "::1",
                              "2001:db8::ffff:1", "ffff::1"].map(address) + scattered(2_000)
        for prefix in prefixes {
            let local = LocalAddresses(prefixes: [prefix])
            for candidate in candidates {
                XCTAssertEqual(local.contains(candidate), prefix.contains(candidate), "\(prefix) \(candidate)")
            }
        }
        let both = LocalAddresses(addresses: [try address("198.51.100.1")], prefixes: Array(prefixes[2...3]))
        XCTAssertTrue(both.contains(try address("198.51.100.1")))
        XCTAssertTrue(both.contains(try address("10.9.9.9")))
        XCTAssertFalse(both.contains(try address("198.51.100.2")))
    }
}
