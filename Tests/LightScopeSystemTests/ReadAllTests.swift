import Foundation
import LightScopeSystem
import SystemPackage
import XCTest

/// Whole small files read through swift-system, against real files.
final class ReadAllTests: XCTestCase {
    func testAFileIsReadWholeAndTheLimitAndAbsenceAreErrnos() throws {
        let path = NSTemporaryDirectory() + "lightscope-readall-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try ReadAll.read(path, maximumBytes: bytes.count).get(), bytes, "several 64 KiB reads, in order")
        XCTAssertThrowsError(try ReadAll.read(path, maximumBytes: bytes.count - 1).get()) { XCTAssertEqual($0 as? Errno, .fileTooLarge) }
        XCTAssertThrowsError(try ReadAll.read(path + "-absent", maximumBytes: 10).get()) { XCTAssertEqual($0 as? Errno, .noSuchFileOrDirectory) }
    }
}
