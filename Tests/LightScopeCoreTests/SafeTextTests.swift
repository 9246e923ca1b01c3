import LightScopeCore
import XCTest

final class SafeTextTests: XCTestCase {
    func testPlainTextIsUnchanged() {
        for text in ["", "eth0", "unwanted tcp [2001:db8::7]:80 -> 192.0.2.1:23 closed", "café ü 名前", "a\\b"] {
            XCTAssertEqual(SafeText.escaped(text), text)
            XCTAssertEqual(SafeText.escaped(bytes: Array(text.utf8)), text)
        }
    }

    func testControlCharactersBecomeEscapes() {
        XCTAssertEqual(SafeText.escaped("red \u{1B}[31mALERT\u{1B}[0m"), "red \\e[31mALERT\\e[0m")
        XCTAssertEqual(SafeText.escaped("one\ntwo\rthree\tfour"), "one\\ntwo\\rthree\\tfour")
        XCTAssertEqual(SafeText.escaped("nul\u{0}bell\u{7}del\u{7F}"), "nul\\x00bell\\x07del\\x7f")
        // C1 CSI, a right-to-left override and a line separator.
        XCTAssertEqual(SafeText.escaped("a\u{9B}31m b\u{202E}cba c\u{2028}d"), "a\\u{9b}31m b\\u{202e}cba c\\u{2028}d")
    }

    func testCRLFIsTwoEscapesNotOneCharacterLeftAlone() {
        // Swift treats "\r\n" as one Character; the escaping must still see both scalars.
        XCTAssertEqual(SafeText.escaped("x\r\ny"), "x\\r\\ny")
    }

    func testInvalidUTF8BytesAreShownAsHex() {
        XCTAssertEqual(SafeText.escaped(bytes: [0x61, 0xFF, 0x62]), "a\\xffb")
        // A lone continuation byte, an overlong slash, a surrogate, a cut-short sequence.
        XCTAssertEqual(SafeText.escaped(bytes: [0x80]), "\\x80")
        XCTAssertEqual(SafeText.escaped(bytes: [0xC0, 0xAF]), "\\xc0\\xaf")
        XCTAssertEqual(SafeText.escaped(bytes: [0xED, 0xA0, 0x80]), "\\xed\\xa0\\x80")
        XCTAssertEqual(SafeText.escaped(bytes: [0x41, 0xE2, 0x82]), "A\\xe2\\x82")
        // Valid multi-byte text around an escape survives intact.
        XCTAssertEqual(SafeText.escaped(bytes: Array("é".utf8) + [0x1B] + Array("€".utf8)), "é\\e€")
    }

    /// Escaped text has no control character left, so escaping it again changes nothing:
    /// every layer may escape without knowing whether an earlier one did.
    func testEscapingIsIdempotentOnRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let once = SafeText.escaped(bytes: bytes)
            XCTAssertEqual(SafeText.escaped(once), once)
            XCTAssertFalse(once.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, once)
        }
    }
}
