@testable import LightScopeCore
import XCTest

/// The two scan windows (issue 17, item 13).
final class ScanWindowTests: EngineTestCase {
    /// Issue 17, item 13: each scan counts in its own window. Here address scans in 10 s,
    /// port scans in 100 s: an address scan spread over 12 s is no scan, a port scan over
    /// 80 s is one (with one window for both, of either length, one of the two was wrong).
    func testPortscanAndAddrscanWindowsAreEachHonoured() {
        var settings = Settings.Detection()
        settings.portscanPorts = 3
        settings.addrscanAddresses = 3
        settings.portscanWindow = .seconds(100)
        settings.addrscanWindow = .seconds(10)
        let local3 = IPAddress("192.0.2.10")!
        let engine = DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: [local, local2, local3]))
        let addressScanner = IPAddress("198.51.100.20")!
        let portScanner = IPAddress("198.51.100.30")!
        for (step, host) in [local, local2, local3].enumerated() {
            let time = 100 * second + UInt64(step) * 6 * second
            feed(engine, tcp(addressScanner, 40000, host, 23, .syn), at: time)
            feed(engine, tcp(host, 23, addressScanner, 40000, [.rst, .ack]), at: time + 1)
        }
        for (step, port) in [UInt16(81), 82, 83].enumerated() {
            let time = 200 * second + UInt64(step) * 40 * second
            feed(engine, tcp(portScanner, 40000, local, port, .syn), at: time)
            feed(engine, tcp(local, port, portScanner, 40000, [.rst, .ack]), at: time + 1)
        }
        XCTAssertEqual(events.filter { $0.verdict == .addrscan }, [], "12 s is longer than the address scans' window")
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.map(\.source), [portScanner])
        // The other way round: address scans in 100 s, port scans in 10 s.
        settings.portscanWindow = .seconds(10)
        settings.addrscanWindow = .seconds(100)
        let swapped = DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: [local, local2, local3]))
        events.removeAll()
        for (step, host) in [local, local2, local3].enumerated() {
            let time = 100 * second + UInt64(step) * 40 * second
            feed(swapped, tcp(addressScanner, 40000, host, 23, .syn), at: time)
            feed(swapped, tcp(host, 23, addressScanner, 40000, [.rst, .ack]), at: time + 1)
        }
        for (step, port) in [UInt16(81), 82, 83].enumerated() {
            let time = 300 * second + UInt64(step) * 6 * second
            feed(swapped, tcp(portScanner, 40000, local, port, .syn), at: time)
            feed(swapped, tcp(local, port, portScanner, 40000, [.rst, .ack]), at: time + 1)
        }
        XCTAssertEqual(events.filter { $0.verdict == .addrscan }.map(\.source), [addressScanner])
        XCTAssertEqual(events.filter { $0.verdict == .portscan }, [], "12 s is longer than the port scans' window")
    }
}
