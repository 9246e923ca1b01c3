/// Fixed-size blocks of memory handed out by number, for state that grows in steps and is
/// freed all at once (a scan source's targets beyond the first). Allocating and freeing
/// are a free-list push and pop: no allocator call, no per-block header.
///
/// The blocks live in one array that doubles when it runs out, as long as its
/// `TableBytePool` has the bytes; past that, `allocate` says no and the owner frees blocks
/// (by evicting what holds them). `shrinkIfUnused` gives the memory back once every block
/// is free again. A handle is the block's number plus one, so 0 can mean "none".
@usableFromInline package final class BlockPool {
    @usableFromInline package static let blockBytes = 64
    // Unchecked: the pool is one thread's (its owner's), which never reenters it.
    @usableFromInline @exclusivity(unchecked) var blocks: UnsafeMutableRawPointer
    @usableFromInline @exclusivity(unchecked) package var blockCount: Int
    @usableFromInline package let maximumBlocks: Int
    @usableFromInline package let minimumBlocks: Int
    @usableFromInline let pool: TableBytePool
    /// The first free block's handle; each free block's first 4 bytes hold the next's.
    @usableFromInline @exclusivity(unchecked) var freeHead: UInt32 = 0
    /// Blocks from here on were never handed out (and are not on the free list).
    @usableFromInline @exclusivity(unchecked) var neverUsed = 0
    @usableFromInline @exclusivity(unchecked) package var inUse = 0

    @inlinable package init(maximumBlocks: Int, initialBlocks: Int, pool: TableBytePool) {
        precondition(maximumBlocks > 0 && maximumBlocks < Int(UInt32.max))
        self.maximumBlocks = maximumBlocks
        // What the pool has left, if less, but a page of blocks at least.
        let pageOfBlocks = TableMemory.pageSize / Self.blockBytes
        minimumBlocks = max(min(pageOfBlocks, maximumBlocks), min(initialBlocks, maximumBlocks, pool.availableBytes / Self.blockBytes))
        self.pool = pool
        blockCount = minimumBlocks
        pool.reserveRegardless(Self.bytes(blocks: minimumBlocks))
        blocks = TableMemory.allocate(byteCount: minimumBlocks * Self.blockBytes)
    }

    deinit {
        TableMemory.free(blocks, byteCount: blockCount * Self.blockBytes)
        pool.release(Self.bytes(blocks: blockCount))
    }

    @inlinable package static func bytes(blocks: Int) -> Int { TableMemory.pageRounded(blocks * blockBytes) }

    @inlinable package var reservedBytes: Int { Self.bytes(blocks: blockCount) }

    /// The memory of the block `handle` (non-zero, from `allocate`).
    @inline(__always)
    @inlinable package func block(_ handle: UInt32) -> UnsafeMutableRawPointer {
        blocks + (Int(handle) - 1) * Self.blockBytes
    }

    /// A free block's handle, growing the pool if it must; nil if it cannot.
    @inlinable package func allocate() -> UInt32? {
        if freeHead != 0 {
            let handle = freeHead
            freeHead = block(handle).load(as: UInt32.self)
            inUse += 1
            return handle
        }
        if neverUsed == blockCount && !grow() { return nil }
        neverUsed += 1
        inUse += 1
        return UInt32(neverUsed)
    }

    @inlinable package func free(_ handle: UInt32) {
        precondition(handle != 0 && Int(handle) <= neverUsed, "BlockPool: no block \(handle)")
        block(handle).storeBytes(of: freeHead, as: UInt32.self)
        freeHead = handle
        inUse -= 1
    }

    /// Back to the first size, when no block is in use.
    @inlinable package func shrinkIfUnused() {
        guard inUse == 0, blockCount > minimumBlocks else { return }
        TableMemory.free(blocks, byteCount: blockCount * Self.blockBytes)
        pool.release(Self.bytes(blocks: blockCount) - Self.bytes(blocks: minimumBlocks))
        blockCount = minimumBlocks
        blocks = TableMemory.allocate(byteCount: minimumBlocks * Self.blockBytes)
        freeHead = 0
        neverUsed = 0
    }

    /// Doubles the blocks, or takes what the pool has left up to that.
    @inlinable func grow() -> Bool {
        guard blockCount < maximumBlocks else { return false }
        let current = Self.bytes(blocks: blockCount)
        var target = min(maximumBlocks, 2 * blockCount)
        if !pool.reserve(Self.bytes(blocks: target) - current) {
            target = min(target, (current + pool.availableBytes) / TableMemory.pageSize * (TableMemory.pageSize / Self.blockBytes))
            guard target > blockCount, pool.reserve(Self.bytes(blocks: target) - current) else { return false }
        }
        // In place (the blocks keep their pages), or by a copy where `resize` declines (the
        // kernel said no, or the blocks move onto huge pages from small ones).
        if let resized = TableMemory.resize(blocks, byteCount: blockCount * Self.blockBytes, to: target * Self.blockBytes) {
            blocks = resized
        } else {
            let bigger = TableMemory.allocate(byteCount: target * Self.blockBytes)
            bigger.copyMemory(from: blocks, byteCount: neverUsed * Self.blockBytes)
            TableMemory.free(blocks, byteCount: blockCount * Self.blockBytes)
            blocks = bigger
        }
        blockCount = target
        return true
    }
}
