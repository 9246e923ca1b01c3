@testable import LightScopeCore
import XCTest

/// `LocalAddresses` answers prefix questions from masks it works out once: the same answers
/// as `IPPrefix.contains`, for either family and every length, and never across families.
final class LocalAddressesTests: XCTestCase {
    func testPrefixesAnswerAsIPPrefixDoes() throws {
        let prefixes = try ["192.0.2.0/24", "10.0.0.0/8", "0.0.0.0/0", "198.51.100.7/32", "::/0", "::/8", "2001:db8::/32",
                            "2001:db8:aa::/48", "fe80::1/128", "::/64"].map { try XCTUnwrap(IPPrefix($0), $0) }
        let addresses = try ["192.0.2.1", "192.0.3.1", "10.9.8.7", "11.0.0.1", "0.0.0.0", "198.51.100.7", "198.51.100.8",
                             "::", "::1", "2001:db8::1", "2001:db8:aa::9", "2001:db9::1", "fe80::1", "fe80::2"]
            .map { try XCTUnwrap(IPAddress($0), $0) }
        for prefix in prefixes {
            let local = LocalAddresses(prefixes: [prefix])
            for address in addresses {
                XCTAssertEqual(local.contains(address), prefix.contains(address), "\(prefix) \(address)")
            }
        }
        XCTAssertFalse(LocalAddresses(prefixes: [try XCTUnwrap(IPPrefix("::/0"))]).contains(try XCTUnwrap(IPAddress("192.0.2.1"))),
                       "an IPv6 prefix never holds an IPv4 address")
        let both = LocalAddresses(addresses: [try XCTUnwrap(IPAddress("203.0.113.5"))], prefixes: Array(prefixes.prefix(2)))
        XCTAssertTrue(both.contains(try XCTUnwrap(IPAddress("203.0.113.5"))), "an exact address")
        XCTAssertTrue(both.contains(try XCTUnwrap(IPAddress("10.1.2.3"))), "in a prefix")
        XCTAssertFalse(both.contains(try XCTUnwrap(IPAddress("203.0.113.6"))), "neither")
    }
}
