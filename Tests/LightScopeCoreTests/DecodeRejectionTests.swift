import LightScopeCore
import XCTest

final class DecodeRejectionTests: XCTestCase {
    func testRawValuesIndexAFixedCounterArray() {
        XCTAssertEqual(DecodeRejection.allCases.map(\.rawValue), Array(0..<DecodeRejection.allCases.count))
        var counts = [UInt64](repeating: 0, count: DecodeRejection.allCases.count)
        for bytes: [UInt8] in [[], [0x06], Array(repeating: 0, count: 13)] {
            if let reason = rejection(bytes, linkType: LinkType.raw) { counts[reason.rawValue] += 1 }
        }
        XCTAssertEqual(counts[DecodeRejection.empty.rawValue], 1)
        XCTAssertEqual(counts[DecodeRejection.badIPVersion.rawValue], 2)
    }

    func testNamesAreUniqueSnakeCase() {
        let names = DecodeRejection.allCases.map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
        for name in names {
            XCTAssertTrue(name.allSatisfy { $0.isLowercase || $0 == "_" || $0.isNumber }, name)
        }
    }

    func testOutOfScopeTrafficIsNotMalformed() {
        let malformed = DecodeRejection.allCases.filter(\.isMalformed)
        XCTAssertEqual(Set(DecodeRejection.allCases).subtracting(malformed), [.unsupportedLinkType, .notIP])
        XCTAssertTrue(DecodeRejection.truncatedTCPHeader.isTruncation)
        XCTAssertFalse(DecodeRejection.badTCPDataOffset.isTruncation)
    }
}
