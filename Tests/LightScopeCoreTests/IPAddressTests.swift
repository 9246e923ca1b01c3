import LightScopeCore
import XCTest

final class IPAddressTests: XCTestCase {
    func testIPv4RoundTrip() {
        let address = IPAddress("192.0.2.33")
        XCTAssertEqual(address?.description, "192.0.2.33")
        XCTAssertEqual(address?.ipv4Value, 0xC000_0221)
        XCTAssertEqual(address, IPAddress(bytes: [192, 0, 2, 33]))
        XCTAssertNil(IPAddress("192.0.2"))
        XCTAssertNil(IPAddress("192.0.2.256"))
        XCTAssertNil(IPAddress("1.2.3.4.5"))
    }

    /// Every octet value in every position, spelt as decimal without leading zeros.
    func testIPv4TextSpellsEveryOctet() {
        for octet in UInt32(0)...255 {
            for shift in [24, 16, 8, 0] as [UInt32] {
                let value = 0x0A09_6301 & ~(0xFF << shift) | octet << shift
                let expected = [24, 16, 8, 0].map { String(value >> UInt32($0) & 0xFF) }.joined(separator: ".")
                XCTAssertEqual(IPAddress(ipv4: value).description, expected)
            }
        }
        XCTAssertEqual(IPAddress(ipv4: 0xFFFF_FFFF).description, "255.255.255.255")
        XCTAssertEqual(IPAddress(ipv4: 0).description, "0.0.0.0")
    }

    func testIPv6TextFollowsRFC5952() {
        XCTAssertEqual(IPAddress("2001:db8::1")?.description, "2001:db8::1")
        XCTAssertEqual(IPAddress("2001:0db8:0:0:1:0:0:1")?.description, "2001:db8::1:0:0:1")
        XCTAssertEqual(IPAddress("::")?.description, "::")
        XCTAssertEqual(IPAddress("::1")?.description, "::1")
        XCTAssertEqual(IPAddress("fe80::")?.description, "fe80::")
        XCTAssertEqual(IPAddress("64:ff9b::192.0.2.33")?.description, "64:ff9b::c000:221")
        XCTAssertNil(IPAddress("2001:db8::1::2"))
        XCTAssertNil(IPAddress("12345::"))
        XCTAssertNil(IPAddress("1:2:3:4:5:6:7:8:9"))
        XCTAssertFalse(IPAddress("2001:db8::1")!.isIPv4)
    }

    func testBytesRoundTrip() {
        let address = IPAddress("2001:db8:1:2:3:4:5:6")!
        XCTAssertEqual(IPAddress(bytes: address.bytes), address)
        XCTAssertEqual(address.bytes.count, 16)
    }

    func testPrefixes() {
        let v4 = IPPrefix("192.0.2.0/24")!
        XCTAssertTrue(v4.contains(IPAddress("192.0.2.200")!))
        XCTAssertFalse(v4.contains(IPAddress("192.0.3.1")!))
        XCTAssertFalse(v4.contains(IPAddress("2001:db8::1")!))
        let v6 = IPPrefix("2001:db8::/32")!
        XCTAssertTrue(v6.contains(IPAddress("2001:db8:ffff::1")!))
        XCTAssertFalse(v6.contains(IPAddress("2001:db9::1")!))
        XCTAssertTrue(IPPrefix("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        XCTAssertTrue(IPPrefix("2001:db8::1/128")!.contains(IPAddress("2001:db8::1")!))
        XCTAssertTrue(IPPrefix("2001:db8::/100")!.contains(IPAddress("2001:db8::fff")!))
        XCTAssertNil(IPPrefix("192.0.2.0/33"))
        XCTAssertEqual(IPPrefix("192.0.2.1")?.length, 32)
    }

    /// IPv4 lives in ::ffff:0:0/96 inside the type, so IPv6 text in that range is refused
    /// rather than read as the IPv4 address; the kernel's 16 bytes for a dual-stack socket's
    /// IPv4 peer are that IPv4 address.
    func testIPv4MappedTextIsRefusedAndKernelBytesAreIPv4() {
        for text in ["::ffff:198.51.100.77", "::FFFF:198.51.100.77", "::ffff:c633:644d", "0:0:0:0:0:ffff:c633:644d"] {
            XCTAssertNil(IPAddress(text), text)
            XCTAssertNil(IPPrefix(text + "/128"), text)
        }
        XCTAssertEqual(IPAddress("::198.51.100.77")?.isIPv4, false, "IPv4-compatible (deprecated) is plain IPv6")
        XCTAssertEqual(IPAddress("64:ff9b::198.51.100.77")?.description, "64:ff9b::c633:644d")
        XCTAssertEqual(IPAddress(bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 51, 100, 77])?.description, "198.51.100.77")
        let blocklist = Blocklist(sources: ["::ffff:198.51.100.77", "198.51.100.78"])
        XCTAssertEqual(blocklist.addresses.map(\.description), ["198.51.100.78"])
        XCTAssertEqual(blocklist.skipped, ["::ffff:198.51.100.77"])
    }
}

