import LightScopeCapture
import LightScopeDaemon
import XCTest

final class CapturePlanTests: XCTestCase {
    private let interfaces = [
        NetworkInterface(name: "lo", index: 1, isUp: true, isLoopback: true, hasAddress: true),
        NetworkInterface(name: "eth0", index: 2, isUp: true, isLoopback: false, hasAddress: true),
        NetworkInterface(name: "eth1", index: 3, isUp: false, isLoopback: false, hasAddress: true),
        NetworkInterface(name: "bond0", index: 4, isUp: true, isLoopback: false, hasAddress: false),
    ]

    func testDefaultIsEveryUpNonLoopbackInterfaceWithAnAddress() {
        let plan = CapturePlan.make(named: [], current: interfaces)
        XCTAssertEqual(plan.wanted.map(\.name), ["eth0"])
        XCTAssertEqual(plan.waitingFor, [])
    }

    func testNamedInterfacesAreWaitedForUntilUp() {
        let plan = CapturePlan.make(named: ["eth1", "eth0", "wlan0", "lo", "bond0"], current: interfaces)
        XCTAssertEqual(plan.wanted.map(\.name), ["eth0", "lo", "bond0"])
        XCTAssertEqual(plan.waitingFor, ["eth1", "wlan0"])
    }
}
