#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest

/// Huge pages are a hint to the kernel, so what is checked is that the hint is given (the
/// mapping is flagged `hg` in /proc/self/smaps) to a large table's blocks when preferred,
/// and not otherwise.
final class TableMemoryTests: XCTestCase {
    private struct NoMapping: Error {}

    /// The VmFlags of the mapping that holds `address`.
    private func mappingFlags(of address: UnsafeRawPointer) throws -> [Substring] {
        // Read to the end: procfs reports a size of zero, so a sized read gets nothing.
        let data = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data()
        let smaps = String(decoding: data, as: UTF8.self)
        let target = UInt(bitPattern: address)
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let start = UInt(line[..<dash], radix: 16), let end = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inside = start <= target && target < end
            } else if inside, line.hasPrefix("VmFlags:") {
                return line.dropFirst("VmFlags:".count).split(separator: " ")
            }
        }
        throw NoMapping()
    }

    func testLargeTablesAskForHugePagesOnlyWhenPreferred() throws {
        // 16 MiB of buckets: several whole huge pages, whatever the alignment.
        let plain = EntryIndex(maximumCount: 1 << 21, slotCount: 1 << 21)
        defer { plain.deallocate() }
        XCTAssertFalse(try mappingFlags(of: UnsafeRawPointer(plain.buckets)).contains("hg"), "not preferred: no advice")

        // What `preferHugePages` turns on for every new block, given here to one block only:
        // the preference is the process's, shared with the other tests.
        let byteCount = 16 << 20
        let advised = TableMemory.allocate(byteCount: byteCount)
        defer { TableMemory.free(advised, byteCount: byteCount) }
        TableMemory.adviseHugePages(advised, byteCount: byteCount)
        // The first whole huge page inside the block carries the advice.
        let start = UInt(bitPattern: UnsafeRawPointer(advised))
        let firstHugePage = (start + UInt(TableMemory.hugePageSize - 1)) & ~UInt(TableMemory.hugePageSize - 1)
        XCTAssertTrue(try mappingFlags(of: UnsafeRawPointer(bitPattern: firstHugePage)!).contains("hg"), "preferred: advised")

        let smallBytes = TableMemory.hugePageAdviceMinimum - TableMemory.pageSize
        let small = TableMemory.allocate(byteCount: smallBytes)
        defer { TableMemory.free(small, byteCount: smallBytes) }
        TableMemory.adviseHugePages(small, byteCount: smallBytes)
        XCTAssertFalse(try mappingFlags(of: UnsafeRawPointer(small)).contains("hg"), "a small block is left alone")
    }
}
