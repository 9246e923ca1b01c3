@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest

final class BlockPoolTests: XCTestCase {
    func testBlocksComeBackAndThePoolGrowsOnlyWithinItsBytes() {
        let blocksPerPage = TableMemory.pageSize / BlockPool.blockBytes
        let pool = TableBytePool(limitBytes: 3 * TableMemory.pageSize)
        let blocks = BlockPool(maximumBlocks: 10_000, initialBlocks: blocksPerPage, pool: pool)
        var handles: [UInt32] = []
        while let handle = blocks.allocate() {
            blocks.block(handle).storeBytes(of: handle, toByteOffset: 8, as: UInt32.self)
            handles.append(handle)
        }
        XCTAssertEqual(handles.count, 3 * blocksPerPage, "as many blocks as three pages hold")
        XCTAssertEqual(Set(handles).count, handles.count, "no block twice")
        XCTAssertEqual(pool.reservedBytes, 3 * TableMemory.pageSize)
        // Each block kept what was written in it through the growing (it moved).
        for handle in handles { XCTAssertEqual(blocks.block(handle).load(fromByteOffset: 8, as: UInt32.self), handle) }
        blocks.free(handles[5])
        blocks.free(handles[9])
        XCTAssertEqual(blocks.inUse, handles.count - 2)
        let again = [blocks.allocate(), blocks.allocate()]
        XCTAssertEqual(Set(again), [handles[5], handles[9]], "freed blocks are reused")
        XCTAssertNil(blocks.allocate())
        for handle in handles { blocks.free(handle) }
        blocks.shrinkIfUnused()
        XCTAssertEqual(pool.reservedBytes, TableMemory.pageSize, "back to its first size")
        XCTAssertNotNil(blocks.allocate())
    }
}
