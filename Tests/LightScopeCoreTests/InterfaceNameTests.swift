import LightScopeCore
import XCTest

final class InterfaceNameTests: XCTestCase {
    func testNamesRoundTrip() {
        for name in ["eth0", "pcap", "", "enp0s31f6", "veth-lightscope", "wlö0"] {
            XCTAssertEqual(InterfaceName(name).description, name)
            XCTAssertEqual(InterfaceName(name), InterfaceName(name))
        }
        XCTAssertNotEqual(InterfaceName("eth0"), InterfaceName("eth1"))
    }

    func testALongerStringKeepsWholeCharactersOfItsFirst15Bytes() {
        XCTAssertEqual(InterfaceName("abcdefghijklmnopq").description, "abcdefghijklmno")
        // "é" is two bytes: the 15th byte would split it; "€" three.
        XCTAssertEqual(InterfaceName("abcdefghijklmné").description, "abcdefghijklmn")
        XCTAssertEqual(InterfaceName("abcdefghijklmé").description, "abcdefghijklmé", "exactly 15 bytes")
        XCTAssertEqual(InterfaceName("abcdefghijklmé€").description, "abcdefghijklmé")
        XCTAssertEqual(InterfaceName("abcdefghijkl€€").description, "abcdefghijkl€")
    }

    /// Every event is copied to the threads that write it; a reference inside would make
    /// each copy touch a reference count (see `UnwantedEvent`).
    func testAnEventIsPlainData() {
        XCTAssertTrue(_isPOD(UnwantedEvent.self))
        XCTAssertTrue(_isPOD(InterfaceName.self))
    }
}
