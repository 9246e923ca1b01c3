@testable import LightScopeCore
import XCTest

/// Port weighting as a named policy (issue 23, part 0): `uniform`, today's rule, by default;
/// `privileged` weighs ports below 1024 as scanlogd does, set from the config file.
final class PortWeightingTests: EngineTestCase {
    /// Five closed privileged ports from one source, then fourteen high ones from another.
    private func scanEvents(_ weighting: PortWeighting?) -> [UnwantedEvent] {
        events = []
        let engine = makeEngine { if let weighting { $0.portWeighting = weighting } }
        let other = IPAddress("198.51.100.8")!
        for (index, port) in [21, 22, 23, 25, 80].enumerated() {
            feed(engine, tcp(remote, 40000, local, UInt16(port), .syn), at: UInt64(index) * 1000)
            feed(engine, tcp(local, UInt16(port), remote, 40000, [.rst, .ack]), at: UInt64(index) * 1000 + 500)
        }
        for port in UInt16(2000)..<2014 {
            feed(engine, tcp(other, 40000, local, port, .syn), at: UInt64(port) * 1000)
            feed(engine, tcp(local, port, other, 40000, [.rst, .ack]), at: UInt64(port) * 1000 + 500)
        }
        return events.filter { $0.verdict == .portscan }
    }

    func testTheDefaultWeighsEveryPortOne() {
        XCTAssertEqual(Settings.Detection().portWeighting, .uniform)
        XCTAssertEqual(scanEvents(nil), [])
        XCTAssertEqual(scanEvents(.uniform), [])
    }

    func testPrivilegedPortsWeighThreeAsInScanlogd() {
        let scans = scanEvents(.privileged)
        XCTAssertEqual(scans.map(\.source), [remote], "five privileged ports weigh 15; fourteen high ones 14")
        XCTAssertEqual(scans.first?.ports, 5, "the event counts the ports, not their weight")
        XCTAssertEqual(PortWeighting.privileged.weight(of: 1023), 3)
        XCTAssertEqual(PortWeighting.privileged.weight(of: 1024), 1)
    }

    func testTheConfigFileSetsIt() throws {
        let settings = try ConfigFile.parse("[detection]\nport_weighting = privileged\n", source: "x")
        XCTAssertEqual(settings.detection.portWeighting, .privileged)
        XCTAssertThrowsError(try ConfigFile.parse("[detection]\nport_weighting = heavy\n", source: "x")) { error in
            XCTAssertTrue("\(error)".contains("use one of uniform, privileged"), "\(error)")
        }
    }
}
