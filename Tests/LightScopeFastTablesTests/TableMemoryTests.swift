#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest

/// Huge pages are a hint to the kernel, so what is checked is that the hint is given (the
/// mapping is flagged `hg` in /proc/self/smaps) to a large table's blocks, and not to a
/// small one's.
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

    /// Whether the first whole huge page inside a block of `byteCount` at `block` is advised.
    private func advised(_ block: UnsafeRawPointer, byteCount: Int) throws -> Bool {
        let mask = UInt(TableMemory.hugePageSize - 1)
        let firstHugePage = (UInt(bitPattern: block) + mask) & ~mask
        XCTAssertLessThanOrEqual(firstHugePage + mask + 1, UInt(bitPattern: block) + UInt(byteCount), "a whole huge page inside")
        return try mappingFlags(of: UnsafeRawPointer(bitPattern: firstHugePage)!).contains("hg")
    }

    /// The daemon's way to a large table: it starts at `DetectionBudget.initialEntries` on
    /// small pages and doubles as a flood fills it; once its index reaches the threshold it
    /// is on huge pages, with no preference set (only `lightscope replay` sets one, which
    /// before was the only way to them); its ring, read in order, stays on small pages.
    func testATableGrownPastTheThresholdAsksForHugePagesForItsIndex() throws {
        var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 1 << 20, initialCapacity: DetectionBudget.initialEntries,
                                                  pool: .unlimited())
        XCTAssertFalse(try mappingFlags(of: UnsafeRawPointer(table.storage.index.buckets)).contains("hg"),
                       "a small table stays small")
        XCTAssertFalse(try mappingFlags(of: UnsafeRawPointer(table.storage.records)).contains("hg"))

        // Past 2^18 entries the table doubles to 2^19: an index of 2^20 buckets, 4 MiB.
        for number in 0..<((1 << 18) + 1) {
            table.upsert(IPAddress(ipv4: UInt32(0x0A00_0000 + number)), number, nowNanos: 1_000)
        }
        let index = table.storage.index
        XCTAssertGreaterThanOrEqual(index.bucketCount * MemoryLayout<UInt32>.stride, TableMemory.hugePageAdviceMinimum)
        XCTAssertTrue(try advised(UnsafeRawPointer(index.buckets), byteCount: index.bucketCount * MemoryLayout<UInt32>.stride),
                      "the grown index is advised")
        let ringBytes = table.storage.ringCapacity * MemoryLayout<KeyValueRecord>.stride
        XCTAssertFalse(try advised(UnsafeRawPointer(table.storage.records), byteCount: ringBytes), "the ring is not")
    }

    func testLargeRingsAskForHugePagesOnlyWhenPreferred() throws {
        let byteCount = 16 << 20
        let ring = TableMemory.allocate(byteCount: byteCount, access: .inOrder)
        defer { TableMemory.free(ring, byteCount: byteCount) }
        XCTAssertFalse(try advised(ring, byteCount: byteCount), "not preferred: no advice")
        // What `preferHugePages` adds for every ring, given here to one block only: the
        // preference is the process's, shared with the other tests.
        TableMemory.adviseHugePages(ring, byteCount: byteCount)
        XCTAssertTrue(try advised(ring, byteCount: byteCount), "preferred: advised")
    }

    func testOnlyLargeBlocksAskForHugePages() throws {
        let byteCount = 16 << 20
        let large = TableMemory.allocate(byteCount: byteCount)
        defer { TableMemory.free(large, byteCount: byteCount) }
        XCTAssertTrue(try advised(large, byteCount: byteCount), "a large block is advised")

        let smallBytes = TableMemory.hugePageBlockMinimum - TableMemory.pageSize
        let small = TableMemory.allocate(byteCount: smallBytes)
        defer { TableMemory.free(small, byteCount: smallBytes) }
        XCTAssertFalse(try mappingFlags(of: UnsafeRawPointer(small)).contains("hg"), "a small block is left alone")
    }

    /// A table's index that grows onto huge pages from small ones (past 2^16 entries here,
    /// 512 KiB of buckets to 1 MiB) is a fresh block, on huge pages from its first byte. Moved
    /// there (`mremap`), its small pages held the first huge page's place, and the kernel
    /// filled the rest of that place with small pages too, until khugepaged's next pass:
    /// under a flood, the first-failure tier's 2 MiB index was on small pages all through
    /// its verdicts. The kernel may decline huge pages (THP off, memory short): then a fresh
    /// block shows none either, and only the block's own way is checked.
    func testAnIndexGrownOntoHugePagesIsOnThemFromItsFirstByte() throws {
        let smallBytes = 512 << 10
        let small = TableMemory.allocate(byteCount: smallBytes)
        XCTAssertNil(TableMemory.resize(small, byteCount: smallBytes, to: TableMemory.hugePageBlockMinimum),
                     "small pages are not moved onto huge ones: the caller takes a fresh block")
        TableMemory.free(small, byteCount: smallBytes)

        let fresh = TableMemory.allocate(byteCount: TableMemory.hugePageSize)
        defer { TableMemory.free(fresh, byteCount: TableMemory.hugePageSize) }
        fresh.initializeMemory(as: UInt8.self, repeating: 1, count: TableMemory.hugePageSize)
        let kernelGivesHugePages = try hugePageKiB(of: fresh) >= 2048

        var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 1 << 20, initialCapacity: DetectionBudget.initialEntries,
                                                  pool: .unlimited())
        for number in 0..<((1 << 17) + 1) {
            table.upsert(IPAddress(ipv4: UInt32(0x0A00_0000 + number)), number, nowNanos: 1_000)
        }
        let index = table.storage.index
        XCTAssertEqual(index.bucketCount * MemoryLayout<UInt32>.stride, TableMemory.hugePageSize, "one huge page of buckets")
        XCTAssertTrue(isOnHugePageBoundary(UnsafeRawPointer(index.buckets)))
        guard kernelGivesHugePages else { throw XCTSkip("this kernel gave a fresh advised block no huge page") }
        XCTAssertGreaterThanOrEqual(try hugePageKiB(of: UnsafeRawPointer(index.buckets)), 2048,
                                    "the grown index is on a huge page")
    }

    /// The KiB of huge pages (`AnonHugePages`) in the mapping that holds `address`.
    private func hugePageKiB(of address: UnsafeRawPointer) throws -> Int {
        let field = try XCTUnwrap(mappingField("AnonHugePages", of: address))
        return try XCTUnwrap(Int(field.split(separator: " ").first ?? ""))
    }

    /// The line of `name:` in the smaps entry of the mapping that holds `address`.
    private func mappingField(_ name: String, of address: UnsafeRawPointer) throws -> Substring? {
        let data = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data()
        let target = UInt(bitPattern: address)
        var inside = false
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let start = UInt(line[..<dash], radix: 16), let end = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inside = start <= target && target < end
            } else if inside, line.hasPrefix(name + ":") {
                return line.dropFirst(name.count + 1).drop(while: { $0 == " " })
            }
        }
        return nil
    }

    private func isOnHugePageBoundary(_ block: UnsafeRawPointer) -> Bool {
        UInt(bitPattern: block) % UInt(TableMemory.hugePageSize) == 0
    }

    /// A block read at random from `hugePageBlockMinimum` on (the connections' 1 MiB index at
    /// the default budget) is whole huge pages on a huge page boundary, advised, and eligible
    /// (`THPeligible`): from mmap's small pages it held no whole huge page, nor asked for any.
    func testARandomBlockFromTheMinimumOnIsWholeHugePagesOnABoundary() throws {
        let byteCount = TableMemory.hugePageBlockMinimum
        XCTAssertEqual(TableMemory.mappedLength(byteCount, access: .random), TableMemory.hugePageSize)
        let block = TableMemory.allocate(byteCount: byteCount)
        defer { TableMemory.free(block, byteCount: byteCount) }
        XCTAssertTrue(isOnHugePageBoundary(block), "at \(block)")
        XCTAssertTrue(try mappingFlags(of: block).contains("hg"), "advised")
        XCTAssertEqual(try mappingField("THPeligible", of: block), "1")
        // The whole huge page is the block's: its last byte is mapped, written and read.
        let last = block + TableMemory.hugePageSize - 1
        last.storeBytes(of: 0xA5, as: UInt8.self)
        XCTAssertEqual(last.load(as: UInt8.self), 0xA5)

        // A ring of the same size stays on small pages, as asked.
        let ring = TableMemory.allocate(byteCount: byteCount, access: .inOrder)
        defer { TableMemory.free(ring, byteCount: byteCount, access: .inOrder) }
        XCTAssertEqual(TableMemory.mappedLength(byteCount, access: .inOrder), byteCount)
        XCTAssertFalse(try mappingFlags(of: ring).contains("hg"))
    }

    /// Growing a block on huge pages moves it onto a huge page boundary with its bytes,
    /// without a copy; shrinking keeps them where they are.
    func testResizedRandomBlocksKeepTheirBytesOnAHugePageBoundary() throws {
        let first = TableMemory.hugePageBlockMinimum
        var block = TableMemory.allocate(byteCount: first)
        let words = first / 8
        for word in 0..<words { block.storeBytes(of: UInt64(word) &* 0x9E37_79B9, toByteOffset: word * 8, as: UInt64.self) }

        for (from, to) in [(first, 3 << 20), (3 << 20, 8 << 20)] {
            block = try XCTUnwrap(TableMemory.resize(block, byteCount: from, to: to))
            XCTAssertTrue(isOnHugePageBoundary(block), "grown to \(to) at \(block)")
            XCTAssertTrue(try mappingFlags(of: block).contains("hg"))
            XCTAssertEqual(try mappingField("THPeligible", of: block), "1")
            for word in 0..<words { XCTAssertEqual(block.load(fromByteOffset: word * 8, as: UInt64.self), UInt64(word) &* 0x9E37_79B9) }
            XCTAssertEqual(block.load(fromByteOffset: to - 8, as: UInt64.self), 0, "the added bytes are zeroes")
        }
        block = try XCTUnwrap(TableMemory.resize(block, byteCount: 8 << 20, to: 2 << 20))
        XCTAssertTrue(isOnHugePageBoundary(block))
        for word in 0..<words { XCTAssertEqual(block.load(fromByteOffset: word * 8, as: UInt64.self), UInt64(word) &* 0x9E37_79B9) }
        TableMemory.free(block, byteCount: 2 << 20)
    }
}
