@testable import LightScopeCore
import XCTest

final class VerdictRunTests: XCTestCase {
    /// A run asks `LocalAddresses` once per destination in a row, not once per probe.
    func testARepeatedDestinationIsAskedOnce() {
        var run = VerdictRun(mayBeLate: false)
        var asked: [IPAddress] = []
        let local = IPAddress("192.0.2.1")!, other = IPAddress("198.51.100.7")!
        func ask(_ address: IPAddress) -> Bool { asked.append(address); return address == local }
        XCTAssertTrue(run.isLocal(local, asking: ask))
        XCTAssertTrue(run.isLocal(local, asking: ask))
        XCTAssertFalse(run.isLocal(other, asking: ask))
        XCTAssertFalse(run.isLocal(other, asking: ask))
        XCTAssertTrue(run.isLocal(local, asking: ask))
        XCTAssertEqual(asked, [local, other, local])
    }

    /// Whether a probe may be a late packet of a connection is the run's, as it began.
    func testTheRunKeepsWhetherConnectionsWereRecent() {
        XCTAssertTrue(VerdictRun(mayBeLate: true).mayBeLate)
        XCTAssertFalse(VerdictRun(mayBeLate: false).mayBeLate)
    }
}
