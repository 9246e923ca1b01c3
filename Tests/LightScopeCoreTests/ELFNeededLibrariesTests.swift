import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// On real binaries: the system's own and the freshly built lightscope.
final class ELFNeededLibrariesTests: XCTestCase {
    private func needed(_ path: String) throws -> [String]? {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        return ELFNeededLibraries.parse { offset, count in
            guard offset < bytes.count else { return [] }
            return Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + count)])
        }
    }

    func testAgreesWithReadelfOnSystemBinaries() throws {
        for path in ["/bin/ls", "/usr/sbin/ip"] {
            let readelf = try shell(["readelf", "-d", path]).output
            let expected = readelf.split(separator: "\n").compactMap { line -> String? in
                guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
                return String(line[line.index(after: open)..<close])
            }
            XCTAssertFalse(expected.isEmpty)
            XCTAssertEqual(try needed(path), expected, path)
        }
    }

    func testTheBuiltBinaryLinksLibsystemd() throws {
        let libraries = try XCTUnwrap(try needed(DaemonProcess.binaryPath))
        XCTAssertTrue(libraries.contains { $0.hasPrefix("libsystemd.so") }, "\(libraries)")
    }

    func testNonELFAndTruncatedInputGiveNil() {
        XCTAssertNil(ELFNeededLibraries.parse { _, _ in Array("#!/bin/sh\necho hello\n".utf8) })
        XCTAssertNil(ELFNeededLibraries.parse { _, _ in [] })
    }
}
