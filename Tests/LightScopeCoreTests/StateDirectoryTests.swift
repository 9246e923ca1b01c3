import LightScopeCore
import XCTest

final class StateDirectoryTests: XCTestCase {
    func testExplicitWinsOverSystemdAndDefault() {
        XCTAssertEqual(StateDirectory.resolve(explicit: "/srv/ls", environment: ["STATE_DIRECTORY": "/var/lib/lightscope"]), "/srv/ls")
    }

    func testSystemdsFirstEntryWinsOverDefault() {
        XCTAssertEqual(StateDirectory.resolve(explicit: nil, environment: ["STATE_DIRECTORY": "/var/lib/a:/var/lib/b"]), "/var/lib/a")
        XCTAssertEqual(StateDirectory.resolve(explicit: "", environment: ["STATE_DIRECTORY": "/var/lib/a"]), "/var/lib/a")
    }

    func testDefaultWhenNothingIsSet() {
        XCTAssertEqual(StateDirectory.resolve(explicit: nil, environment: [:]), "/var/lib/lightscope")
        XCTAssertEqual(StateDirectory.resolve(explicit: nil, environment: ["STATE_DIRECTORY": ""]), "/var/lib/lightscope")
    }
}
