@testable import LightScopeCore
import LightScopeFastTables
import XCTest

/// The scan tables share a seed, and a failed attempt hashes its source once for them all
/// (`ScanDetector.recordFailure`, `prefetch`): an IPv4 source's `IPv4Key` (the fast scans'
/// IPv4 table) must hash as its `IPAddress` does (the slow scans' table, the wide one).
final class ScanSourceHashTests: XCTestCase {
    func testAnIPv4KeyHashesAsItsAddress() {
        for _ in 0..<4 {
            let seed = FastHashSeed.random()
            for value: UInt32 in [0, 1, 0xC000_0201, 0x0A00_0001, .max, 0x8000_0000] {
                XCTAssertEqual(IPv4Key(value: value).hash(seed: seed), IPAddress(ipv4: value).hash(seed: seed), "\(value)")
            }
        }
    }
}
