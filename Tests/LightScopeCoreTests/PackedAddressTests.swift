@testable import LightScopeCore
import XCTest

/// `PackedAddress` keeps an address in 4-byte words laid out as its two 64-bit halves are in
/// memory, so that the compiler moves each half with one 8-byte access (the slow-scan table
/// writes and compares a source and a target this way for every judged probe).
final class PackedAddressTests: XCTestCase {
    private let addresses = [
        IPAddress(high: 0x2001_0DB8_1122_3344, low: 0x5566_7788_99AA_BBCC),
        IPAddress(ipv4: 0xC000_0201),
        IPAddress(high: 0, low: 0),
        IPAddress(high: .max, low: 1),
    ]

    func testItGivesBackTheAddress() {
        for address in addresses {
            XCTAssertEqual(PackedAddress(address).address, address)
            let packed = PackedAddress(address)
            XCTAssertEqual(PackedAddress(word0: packed.word0, word1: packed.word1, word2: packed.word2, word3: packed.word3).address,
                           address)
        }
    }

    func testItsBytesAreTheHalvesInMemoryOrder() {
        for address in addresses {
            var packed = PackedAddress(address)
            var halves = (address.high, address.low)
            let packedBytes = withUnsafeBytes(of: &packed) { Array($0) }
            let halvesBytes = withUnsafeBytes(of: &halves) { Array($0) }
            XCTAssertEqual(packedBytes, halvesBytes, "\(address)")
        }
    }
}
