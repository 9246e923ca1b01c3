import LightScopeCore
import XCTest

final class StatusTextTests: XCTestCase {
    func testProcessingLineCarriesTheLiveFigures() {
        let totals = InterfaceCounters.Snapshot(interfaceName: "all", packets: 1_234_567, bytes: 0, unwanted: 37, drops: 0)
        XCTAssertEqual(StatusText.processing(totals: totals, packetsPerSecond: 812, capturing: ["eth0", "eth1"], waitingFor: []),
                       "Processing packets: 1234567 seen, 812 pps, 37 unwanted, 0 dropped; interfaces eth0,eth1")
    }

    func testWaitingIsShown() {
        let zero = StatusText.sum([])
        XCTAssertEqual(StatusText.processing(totals: zero, packetsPerSecond: 0, capturing: [], waitingFor: []),
                       "Processing packets: 0 seen, 0 pps, 0 unwanted, 0 dropped; no interface captured yet; waiting for an up, non-loopback interface with an address")
        XCTAssertTrue(StatusText.processing(totals: zero, packetsPerSecond: 0, capturing: ["eth0"], waitingFor: ["eth1"])
            .hasSuffix("interfaces eth0; waiting for eth1"))
    }

    func testCountersKeepDropsOfClosedHandles() {
        let counters = InterfaceCounters(interfaceName: "eth0")
        counters.addPackets(3, bytes: 180)
        counters.setHandleDrops(5)
        counters.handleClosed()
        counters.setHandleDrops(2)
        XCTAssertEqual(counters.snapshot, InterfaceCounters.Snapshot(interfaceName: "eth0", packets: 3, bytes: 180, unwanted: 0, drops: 7))
        XCTAssertEqual(StatusText.sum([counters.snapshot, counters.snapshot]).packets, 6)
    }
}
