@testable import LightScopeCore
import XCTest

final class ByteCursorTests: XCTestCase {
    func testReadsBigEndianAndStopsAtTheEnd() {
        let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]
        bytes.withUnsafeBytes { buffer in
            var cursor = ByteCursor(buffer)
            XCTAssertEqual(cursor.readUInt16(), 0x0102)
            XCTAssertEqual(cursor.readUInt32(), 0x0304_0506)
            XCTAssertNil(cursor.readUInt16(), "one byte left cannot make a UInt16")
            XCTAssertEqual(cursor.offset, 6, "a failed read must not move the cursor")
            XCTAssertEqual(cursor.readUInt8(), 0x07)
            XCTAssertNil(cursor.readUInt8())
        }
    }

    func testEmptyBufferReadsNothing() {
        var cursor = ByteCursor(UnsafeRawBufferPointer(start: nil, count: 0))
        XCTAssertNil(cursor.peekUInt8())
        XCTAssertNil(cursor.readUInt32())
        XCTAssertTrue(cursor.skip(0))
        XCTAssertFalse(cursor.skip(1))
    }

    func testSkipRejectsNegativeAndOverlongCounts() {
        [UInt8](repeating: 0, count: 4).withUnsafeBytes { buffer in
            var cursor = ByteCursor(buffer)
            XCTAssertFalse(cursor.skip(-1))
            XCTAssertFalse(cursor.skip(5))
            XCTAssertFalse(cursor.skip(Int.max))
            XCTAssertEqual(cursor.remaining, 4)
            XCTAssertTrue(cursor.skip(4))
            XCTAssertEqual(cursor.remaining, 0)
        }
    }

    func testTakeBoundsTheFieldAndAdvancesPastIt() {
        let bytes: [UInt8] = [0xAA, 0xBB, 0xCC, 0xDD]
        bytes.withUnsafeBytes { buffer in
            var cursor = ByteCursor(buffer)
            guard var field = cursor.take(2) else { return XCTFail("two bytes are there") }
            XCTAssertEqual(field.readUInt8(), 0xAA)
            XCTAssertNil(field.readUInt16(), "reads must not escape the field into what follows")
            XCTAssertEqual(cursor.readUInt16(), 0xCCDD)
            XCTAssertNil(cursor.take(1))
        }
    }

    func testLimitShrinksButNeverGrows() {
        [UInt8](repeating: 1, count: 10).withUnsafeBytes { buffer in
            var cursor = ByteCursor(buffer)
            cursor.limit(to: 100)
            XCTAssertEqual(cursor.remaining, 10)
            cursor.limit(to: 3)
            XCTAssertEqual(cursor.remaining, 3)
            cursor.limit(to: -5)
            XCTAssertEqual(cursor.remaining, 0)
        }
    }

    func testHeaderIsCheckedOnceAndReadAtOffsets() {
        let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B]
        bytes.withUnsafeBytes { buffer in
            var cursor = ByteCursor(buffer)
            XCTAssertTrue(cursor.skip(1))
            XCTAssertNil(cursor.readHeader(11), "ten bytes left")
            XCTAssertNil(cursor.readHeader(0))
            XCTAssertEqual(cursor.offset, 1, "a failed read must not move the cursor")
            guard let header = cursor.readHeader(10) else { return XCTFail("ten bytes are there") }
            XCTAssertEqual(header.uint8(at: 0), 0x02)
            XCTAssertEqual(header.uint16(at: 1), 0x0304)
            XCTAssertEqual(header.uint32(at: 2), 0x0405_0607)
            XCTAssertEqual(header.uint64(at: 2), 0x0405_0607_0809_0A0B)
            XCTAssertEqual(cursor.remaining, 0)
        }
        var empty = ByteCursor(UnsafeRawBufferPointer(start: nil, count: 0))
        XCTAssertNil(empty.readHeader(1))
    }

    func testCopy() {
        let bytes: [UInt8] = (0..<16).map { UInt8($0) }
        bytes.withUnsafeBytes { buffer in
            var cursor = ByteCursor(buffer)
            var copy = [UInt8](repeating: 0, count: 3)
            XCTAssertTrue(copy.withUnsafeMutableBytes { cursor.copyBytes(into: $0) })
            XCTAssertEqual(copy, [0, 1, 2])
            var tooBig = [UInt8](repeating: 0, count: 14)
            XCTAssertFalse(tooBig.withUnsafeMutableBytes { cursor.copyBytes(into: $0) })
            XCTAssertEqual(cursor.remaining, 13)
        }
    }
}
