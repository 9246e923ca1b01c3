import Foundation
@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest

/// Tables grow where they lie (`TableMemory.resize`): what they held keeps its pages, so a
/// growth costs no page faults for it, and the added memory is fresh zeroes, touched only
/// when used. The faults are counted for this thread (/proc/thread-self/stat, minflt).
final class TableGrowthTests: XCTestCase {
    /// Page faults this thread has taken that needed no I/O (first touches).
    private func minorFaults() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
        // Fields after the command's closing parenthesis start at the third (state); minflt is the tenth.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        return Int(fields[7])!
    }

    /// Start and end of the mapping (/proc/self/maps) that holds `address`.
    private func mapping(of address: UnsafeRawPointer) throws -> ClosedRange<UInt>? {
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        let target = UInt(bitPattern: address)
        for line in maps.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16) else { continue }
            if start <= target && target < end { return start...end }
        }
        return nil
    }

    /// Asserts fewer than `bound` faults, but not under a sanitizer (scripts/test-sanitizers.sh
    /// sets LIGHTSCOPE_SANITIZER), where the first touch of the sanitizer's own shadow memory
    /// is a fault of this thread too: ASan's run counted 96 for a bound of 80.
    private func assertFaults(_ faults: Int, below bound: Int, _ message: @autoclosure () -> String,
                              file: StaticString = #filePath, line: UInt = #line) {
        guard ProcessInfo.processInfo.environment["LIGHTSCOPE_SANITIZER"] == nil else { return }
        XCTAssertLessThan(faults, bound, message(), file: file, line: line)
    }

    private func pages(_ bytes: Int) -> Int { TableMemory.pageRounded(bytes) / TableMemory.pageSize }

    func testAGrowingTableDoesNotTouchItsRecordsAgain() throws {
        var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 1 << 16, initialCapacity: 1 << 15, pool: .unlimited())
        let first = table.capacity
        for number in 0..<first {
            table.upsert(IPAddress(ipv4: UInt32(0x0A00_0000 + number)), number, nowNanos: 1_000 + UInt64(number))
        }
        XCTAssertEqual(table.capacity, first, "full, not grown yet")
        let recordPages = pages(first * MemoryLayout<KeyValueRecord>.stride)
        let before = try minorFaults()
        table.upsert(IPAddress(ipv4: 0x0B00_0000), -1, nowNanos: 1_000 + UInt64(first))
        let faults = try minorFaults() - before
        XCTAssertGreaterThan(table.capacity, first, "grown")
        // The new index is touched all over (its buckets at random); the records are not:
        // a copy to a new ring took a fault for every page of them as well.
        let indexPages = pages(table.storage.index.bucketCount * MemoryLayout<UInt32>.stride)
        assertFaults(faults, below: indexPages + recordPages / 4, "\(faults) faults; index \(indexPages), records \(recordPages) pages")
        // The index's old half keeps its pages too (emptied by a write), and its new half is
        // mapped in one call: a fault for a page of it at most. A fresh index took two for
        // every page (a bucket is read before it is written: the zero page, then a copy).
        assertFaults(faults, below: indexPages / 2 + 16, "\(faults) faults; index \(indexPages) pages")
        for number in stride(from: 0, to: first, by: 97) {
            XCTAssertEqual(table[IPAddress(ipv4: UInt32(0x0A00_0000 + number))]?.value, number)
        }
        XCTAssertEqual(table.count, first + 1)
    }

    /// After a flood a table halves into new blocks: the live records are copied (a fault a
    /// page of them), and the new index, dense enough to be touched on every page, is mapped
    /// at once instead of at two faults a page (read, then written).
    func testAShrinkingTableMapsItsNewIndexAtOnce() throws {
        var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 1 << 16, initialCapacity: 1 << 10, pool: .unlimited())
        var full = 0
        while table.capacity < 1 << 16 || table.count < table.capacity {
            table.upsert(IPAddress(ipv4: UInt32(0x0A00_0000 + full)), full, nowNanos: 1_000 + UInt64(full))
            full += 1
        }
        XCTAssertEqual(full, 1 << 16)
        let kept = full / 4 - 16
        table.expire(touchedAtOrBefore: 1_000 + UInt64(full - kept) - 1) { (_: IPAddress, _: Int) in }
        XCTAssertEqual(table.count, kept)
        let before = try minorFaults()
        table.shrinkIfSparse()
        let faults = try minorFaults() - before
        XCTAssertLessThan(table.capacity, full, "halved")
        let recordPages = pages(kept * MemoryLayout<KeyValueRecord>.stride)
        let indexPages = pages(table.storage.index.bucketCount * MemoryLayout<UInt32>.stride)
        assertFaults(faults, below: recordPages + indexPages + indexPages / 4 + 8,
                          "\(faults) faults; records \(recordPages), index \(indexPages) pages")
        for number in stride(from: full - kept, to: full, by: 13) {
            XCTAssertEqual(table[IPAddress(ipv4: UInt32(0x0A00_0000 + number))]?.value, number)
        }
    }

    /// A ring that wraps when it grows: its records come out after the growth as before,
    /// oldest first, and each is found by its key. Its part at the start is the shorter
    /// (moved on past the old end), or its part at the end (moved to the new end).
    func testRecordsOfAWrappedRingSurviveAGrowthInOrder() {
        for expiredEighths in [4, 7] {
            var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 1 << 14, initialCapacity: 1 << 10, pool: .unlimited())
            let first = table.capacity
            var now: UInt64 = 1_000
            var next = 0
            func insert() {
                table.upsert(IPAddress(ipv4: UInt32(0x0A00_0000 + next)), next, nowNanos: now)
                next += 1
                now += 1
            }
            for _ in 0..<first { insert() }
            // The oldest expire; the ring (a quarter larger than the capacity) then fills
            // past its end and wraps before the table is full, and one more makes it grow.
            let oldest = first * expiredEighths / 8
            table.expire(touchedAtOrBefore: 1_000 + UInt64(oldest) - 1) { (_: IPAddress, _: Int) in }
            XCTAssertEqual(table.count, first - oldest)
            while table.capacity == first { insert() }
            XCTAssertGreaterThan(table.capacity, first)
            for _ in 0..<100 { insert() }
            for number in stride(from: oldest, to: next, by: 7) {
                XCTAssertEqual(table[IPAddress(ipv4: UInt32(0x0A00_0000 + number))]?.value, number)
            }
            var values: [Int] = []
            table.expire(touchedAtOrBefore: .max) { _, value in values.append(value) }
            XCTAssertEqual(values, Array(oldest..<next), "every record, oldest first (\(expiredEighths)/8 expired)")
        }
    }

    /// (448 KiB of blocks to 896 KiB: both on small pages. Onto huge pages, from 1 MiB, a
    /// pool copies once, `TableMemoryTests.testAnIndexGrownOntoHugePagesIsOnThemFromItsFirstByte`.)
    func testAGrowingBlockPoolKeepsItsBlocksOnTheirPagesAndHandsOutZeroes() throws {
        let initial = 7_168
        let blocks = BlockPool(maximumBlocks: 1 << 20, initialBlocks: initial, pool: .unlimited())
        for number in 1...initial {
            let handle = blocks.allocate()!
            XCTAssertEqual(Int(handle), number)
            blocks.block(handle).storeBytes(of: UInt64(number) &* 0x9E37_79B9, toByteOffset: 40, as: UInt64.self)
        }
        let before = try minorFaults()
        let grown = blocks.allocate()!
        let faults = try minorFaults() - before
        XCTAssertEqual(blocks.blockCount, 2 * initial)
        assertFaults(faults, below: pages(initial * BlockPool.blockBytes) / 2, "a copy took a fault for every page")
        for number in 1...initial {
            XCTAssertEqual(blocks.block(UInt32(number)).load(fromByteOffset: 40, as: UInt64.self), UInt64(number) &* 0x9E37_79B9)
        }
        let bytes = UnsafeRawBufferPointer(start: blocks.block(grown), count: BlockPool.blockBytes)
        XCTAssertTrue(bytes.allSatisfy { $0 == 0 }, "a block from the grown part is zero, with no memset")
    }

    /// A large block asks for huge pages when it is made; it must still be one mapping, or
    /// `resize` cannot move it (the kernel's mremap refuses a range over two mappings).
    func testAnAdvisedBlockResizesAgainKeepingItsBytes() throws {
        // Not a whole number of huge pages: advice for those only would split the mapping.
        let byteCount = (8 << 20) + 3 * TableMemory.pageSize
        let block = TableMemory.allocate(byteCount: byteCount)
        // Under ThreadSanitizer /proc/self/maps shows no mapping holding the block (its
        // runtime maps the application's memory its own way): the resizes below still run.
        if ProcessInfo.processInfo.environment["LIGHTSCOPE_SANITIZER"] == nil {
            let whole = try XCTUnwrap(mapping(of: block))
            XCTAssertTrue(whole.contains(UInt(bitPattern: block + byteCount - 1)), "one mapping from its first byte to its last")
        }
        block.storeBytes(of: 0xDEAD_BEEF, toByteOffset: 12_345 * 8, as: UInt64.self)
        guard let twice = TableMemory.resize(block, byteCount: byteCount, to: 2 * byteCount) else {
            TableMemory.free(block, byteCount: byteCount)
            return XCTFail("an advised block could not be resized")
        }
        XCTAssertEqual(twice.load(fromByteOffset: 12_345 * 8, as: UInt64.self), 0xDEAD_BEEF)
        XCTAssertEqual(twice.load(fromByteOffset: byteCount + 8 * 77, as: UInt64.self), 0, "the added part is zeroes")
        guard let again = TableMemory.resize(twice, byteCount: 2 * byteCount, to: 4 * byteCount) else {
            TableMemory.free(twice, byteCount: 2 * byteCount)
            return XCTFail("a resized block could not be resized again")
        }
        XCTAssertEqual(again.load(fromByteOffset: 12_345 * 8, as: UInt64.self), 0xDEAD_BEEF)
        TableMemory.free(again, byteCount: 4 * byteCount)
    }
}
