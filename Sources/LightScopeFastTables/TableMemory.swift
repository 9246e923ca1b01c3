#if canImport(Glibc)
import Glibc
#endif
import CPrefetch
import Synchronization

/// Where the hand-made tables get their memory: whole pages mapped straight from the kernel.
///
/// A mapping starts zeroed (an empty index, dead records) and the kernel commits its pages
/// only as they are first touched, so a large table on a quiet network costs what it uses.
/// Unmapping gives the pages back at once; the allocator would keep a freed block of this
/// size for reuse, and a table that shrank after a flood would still hold its peak.
///
/// Huge pages (2 MiB, transparent: `madvise(MADV_HUGEPAGE)`) cut the TLB misses of random
/// reads in a table that outgrows the caches, and the page faults of filling it. The rule
/// (`Access`): a block of `hugePageBlockMinimum` or more that is read at random (an index,
/// a block pool) is mapped as whole huge pages and asks for them, in the daemon too (a hash
/// table's block from calloc asks from `hugePageAdviceMinimum` on); a ring, written and read
/// in order, asks only in a process that fills its tables and then ends (`lightscope
/// replay`, `preferHugePages`). A huge page is committed whole at its first touch, but no
/// random-access block that large is nearly empty: the tables start small and reach it only
/// by doubling when full, so a quarter of its buckets at least are in use, spread at random
/// (every 4 KiB page is touched anyway); a table left sparse after a flood halves at each
/// of its owner's timer runs. The tables' pools count the bytes their blocks ask for: the
/// rounding up to whole huge pages, at most one a block, comes on top of the budget. A ring is left on small pages in the daemon: in order, it gains
/// little from fewer TLB entries, and its huge pages were most of the zeroing
/// (bench/HISTORY.md, session 8, hugepages). Where the kernel's THP `defrag` setting is
/// `madvise` (Debian's default), a first touch in an advised block may compact memory
/// before it maps a huge page: on a host short of free memory, a flood's table growth can
/// then take longer, not fail.
public enum TableMemory {
    private static let hugePagesPreferred = Atomic<Bool>(false)
    /// Blocks smaller than this are not worth advising: they hold at most one huge page.
    @usableFromInline package static let hugePageAdviceMinimum = 4 << 20
    @usableFromInline package static let hugePageSize = 2 << 20
    @usableFromInline package static let pageSize = 4096
    /// A block read at random of this size or more is mapped as whole huge pages, on a huge
    /// page boundary, and advised: all of it can be on huge pages, where a block of small
    /// pages from mmap got them only for the whole 2 MiB pages inside it (none below 4 MiB).
    /// In this VM a prefetch of a random line on a small page that misses the TLB held up
    /// the loop for its page walk (~160 ns against ~30 on a huge page: bench/HISTORY.md,
    /// session 11): the connections' 1 MiB index and the fast scans' 2 MiB one were such.
    /// Rounding up costs at most one huge page less a page per block, on top of the budget
    /// (docs/capacity.md), and only for a table a flood has grown this large.
    @usableFromInline package static let hugePageBlockMinimum = 1 << 20

    /// The bytes a block of `byteCount` maps: whole pages, and whole huge pages for a block
    /// read at random of `hugePageBlockMinimum` or more.
    @inlinable package static func mappedLength(_ byteCount: Int, access: Access) -> Int {
        let length = pageRounded(max(1, byteCount))
        guard isOnHugePages(length, access: access) else { return length }
        return (length + hugePageSize - 1) / hugePageSize * hugePageSize
    }

    /// Whether a block of `length` mapped bytes is placed and advised as whole huge pages.
    @inlinable package static func isOnHugePages(_ length: Int, access: Access) -> Bool {
        access == .random && length >= hugePageBlockMinimum
    }

    /// How a block is read, which decides whether a large one asks for huge pages.
    @usableFromInline package enum Access {
        /// At random (an index, a hash table, a block pool): large blocks always ask.
        case random
        /// In order (a ring): large blocks ask only when `preferHugePages` was called.
        case inOrder
    }

    /// From now on, large ring blocks ask for huge pages too. Call before the tables are made.
    public static func preferHugePages() {
        hugePagesPreferred.store(true, ordering: .relaxed)
    }

    /// `byteCount` rounded up to whole pages: what a block of that size really takes.
    @inlinable package static func pageRounded(_ byteCount: Int) -> Int {
        (byteCount + pageSize - 1) / pageSize * pageSize
    }

    /// A zeroed block of at least `byteCount` bytes, page-aligned. Free it with `free`.
    @usableFromInline package static func allocate(byteCount: Int, access: Access = .random) -> UnsafeMutableRawPointer {
        let length = mappedLength(byteCount, access: access)
        let onHugePages = isOnHugePages(length, access: access)
        // A huge page's worth more, trimmed off again on both sides of a huge page boundary.
        let reservedLength = onHugePages ? length + hugePageSize : length
        let mapped = mmap(nil, reservedLength, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            fatalError("TableMemory: out of memory for a table block of \(length) bytes")
        }
        if onHugePages {
            let block = trimmedToHugePageBoundary(mapped, reservedLength: reservedLength, keeping: length)
            adviseHugePages(block, byteCount: length, minimum: hugePageBlockMinimum)
            return block
        }
        if access == .random || hugePagesPreferred.load(ordering: .relaxed) {
            adviseNewBlock(mapped, byteCount: length)
        }
        return mapped
    }

    /// The `length` bytes from the first huge page boundary of a fresh mapping of
    /// `reservedLength`, the rest of it unmapped. The kernel places large mappings on such a
    /// boundary itself only since Linux 6.7; Debian 12's is 6.1.
    @usableFromInline static func trimmedToHugePageBoundary(_ reserved: UnsafeMutableRawPointer, reservedLength: Int,
                                                            keeping length: Int) -> UnsafeMutableRawPointer {
        let address = UInt(bitPattern: reserved)
        let mask = UInt(hugePageSize - 1)
        let start = (address + mask) & ~mask
        let head = Int(start - address)
        let tail = reservedLength - head - length
        if head > 0 { munmap(reserved, head) }
        let block = reserved + head
        if tail > 0 { munmap(block + length, tail) }
        return block
    }

    /// Gives back a block from `allocate`, with the size it was asked for.
    @usableFromInline package static func free(_ block: UnsafeMutableRawPointer, byteCount: Int, access: Access = .random) {
        munmap(block, mappedLength(byteCount, access: access))
    }

    /// Resizes a block from `allocate` (or from here) to `newByteCount` without copying it:
    /// the kernel moves its pages (`mremap`), so the bytes it held keep their values on the
    /// pages they were on, and the bytes added at its end are zeroes, committed at their
    /// first touch. Growing a table this way touches each page once, where allocate-and-copy
    /// touches the old size again in the new block (and held both at once). The block may
    /// move; nil if the kernel said no, the block then as it was (copy it instead).
    ///
    /// Also nil for a block that grows from small pages onto huge ones: moved, its small pages
    /// would hold the first huge page's place, and the kernel maps small pages around them
    /// there until its khugepaged collapses them, at its own pace (a flood's first-failure
    /// tier, grown to a 2 MiB index, was read at random on small pages all through its
    /// verdicts). Its caller takes a fresh block instead: an index, rebuilt anyway, copies
    /// nothing; anything else copies less than `hugePageBlockMinimum`.
    @usableFromInline package static func resize(_ block: UnsafeMutableRawPointer, byteCount: Int, to newByteCount: Int,
                                                  access: Access = .random) -> UnsafeMutableRawPointer? {
        let length = mappedLength(byteCount, access: access)
        let newLength = mappedLength(newByteCount, access: access)
        guard newLength != length else { return block }
        if newLength > length, isOnHugePages(newLength, access: access) {
            guard isOnHugePages(length, access: access) else { return nil }
            return movedToHugePageBoundary(block, length, newLength)
        }
        // Shrinking stays where it is, on the boundary it was on.
        guard let resized = lightscope_remap(block, length, newLength) else { return nil }
        // Before the new pages' first touch: a block that has just become large asks now.
        if access == .random || hugePagesPreferred.load(ordering: .relaxed) {
            adviseNewBlock(resized, byteCount: newLength)
        }
        return resized
    }

    /// `resize` of a block growing to whole huge pages: moved (its pages, not their bytes) into
    /// a reservation of its new length and a huge page more, on a boundary inside it, the
    /// reservation's spare ends unmapped. Nil if the kernel said no (the block as it was).
    private static func movedToHugePageBoundary(_ block: UnsafeMutableRawPointer, _ length: Int,
                                                _ newLength: Int) -> UnsafeMutableRawPointer? {
        let reservedLength = newLength + hugePageSize
        let reserved = mmap(nil, reservedLength, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let reserved, reserved != MAP_FAILED else { return nil }
        let mask = UInt(hugePageSize - 1)
        guard let target = UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: reserved) + mask) & ~mask),
              let moved = lightscope_remap_to(block, length, newLength, target) else {
            munmap(reserved, reservedLength)
            return nil
        }
        // The block now fills the reservation from its boundary on: the spare ends go.
        _ = trimmedToHugePageBoundary(reserved, reservedLength: reservedLength, keeping: newLength)
        adviseHugePages(moved, byteCount: newLength, minimum: hugePageBlockMinimum)
        return moved
    }

    /// Maps the whole pages of `byteCount` bytes at `start` writable at once, for memory about
    /// to be written all over (an index being rebuilt): one call instead of two page faults
    /// a page (a lookup reads a bucket before it writes one, and a read of a fresh page maps
    /// the shared zero page, which the write then copies). Only for pages that will all be
    /// touched anyway: it commits them. A hint: nothing fails if the kernel declines it.
    @usableFromInline package static func populate(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        let address = UInt(bitPattern: start)
        let mask = UInt(pageSize - 1)
        let first = (address + mask) & ~mask
        let end = (address + UInt(byteCount)) & ~mask
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = lightscope_populate_write(aligned, Int(end - first))
    }

    /// Zeroes a block from `allocate`: large ones by handing their pages back (the kernel
    /// maps zeroes in again as they are touched), without writing every byte.
    @usableFromInline package static func zero(_ block: UnsafeMutableRawPointer, byteCount: Int) {
        let length = mappedLength(byteCount, access: .random)
        if length < hugePageAdviceMinimum || madvise(block, length, MADV_DONTNEED) != 0 {
            block.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        }
    }

    /// Advises huge pages for a fresh block read at random (see `Access`, `adviseHugePages`).
    @usableFromInline package static func adviseNewBlock(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        adviseHugePages(start, byteCount: byteCount)
    }

    /// Advises huge pages for a block, if the block is large: the kernel maps them for the
    /// whole 2 MiB pages inside it. The whole pages of the block are advised, not only those,
    /// so that a block from `allocate` stays one mapping (`resize` cannot move a block split
    /// in parts). A hint: nothing fails if the kernel declines it.
    @usableFromInline package static func adviseHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int,
                                                          minimum: Int = hugePageAdviceMinimum) {
        guard byteCount >= minimum else { return }
        // A block from elsewhere (calloc's) may start inside a page: madvise wants whole pages.
        let address = UInt(bitPattern: start)
        let mask = UInt(pageSize - 1)
        let first = (address + mask) & ~mask
        let end = (address + UInt(byteCount)) & ~mask
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(aligned, Int(end - first), MADV_HUGEPAGE)
    }
}
