#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where the hand-made tables get their memory: whole pages mapped straight from the kernel.
///
/// A mapping starts zeroed (an empty index, dead records) and the kernel commits its pages
/// only as they are first touched, so a large table on a quiet network costs what it uses.
/// Unmapping gives the pages back at once; the allocator would keep a freed block of this
/// size for reuse, and a table that shrank after a flood would still hold its peak.
///
/// Huge pages (2 MiB, transparent: `madvise(MADV_HUGEPAGE)`) cut the TLB misses of random
/// reads in a table that outgrows the caches, and the page faults of filling it. They are
/// only asked for by a process that fills its tables and then ends (`lightscope replay`):
/// a huge page is committed whole at its first touch, so in the daemon a table that a
/// quiet network keeps nearly empty would hold megabytes where it uses kilobytes.
public enum TableMemory {
    private static let hugePagesPreferred = Atomic<Bool>(false)
    /// Blocks smaller than this are not worth advising: they hold at most one huge page.
    @usableFromInline package static let hugePageAdviceMinimum = 4 << 20
    @usableFromInline package static let hugePageSize = 2 << 20
    @usableFromInline package static let pageSize = 4096

    /// From now on, large table blocks ask for huge pages. Call before the tables are made.
    public static func preferHugePages() {
        hugePagesPreferred.store(true, ordering: .relaxed)
    }

    /// `byteCount` rounded up to whole pages: what a block of that size really takes.
    @inlinable package static func pageRounded(_ byteCount: Int) -> Int {
        (byteCount + pageSize - 1) / pageSize * pageSize
    }

    /// A zeroed block of at least `byteCount` bytes, page-aligned. Free it with `free`.
    @usableFromInline package static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let length = pageRounded(max(1, byteCount))
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            fatalError("TableMemory: out of memory for a table block of \(length) bytes")
        }
        adviseNewBlock(mapped, byteCount: length)
        return mapped
    }

    /// Gives back a block from `allocate`, with the size it was asked for.
    @usableFromInline package static func free(_ block: UnsafeMutableRawPointer, byteCount: Int) {
        munmap(block, pageRounded(max(1, byteCount)))
    }

    /// Zeroes a block from `allocate`: large ones by handing their pages back (the kernel
    /// maps zeroes in again as they are touched), without writing every byte.
    @usableFromInline package static func zero(_ block: UnsafeMutableRawPointer, byteCount: Int) {
        let length = pageRounded(max(1, byteCount))
        if length < hugePageAdviceMinimum || madvise(block, length, MADV_DONTNEED) != 0 {
            block.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        }
    }

    /// Advises huge pages for a fresh block, if preferred (see `adviseHugePages`).
    @usableFromInline package static func adviseNewBlock(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        guard hugePagesPreferred.load(ordering: .relaxed) else { return }
        adviseHugePages(start, byteCount: byteCount)
    }

    /// Advises huge pages for the whole 2 MiB pages inside a block, if the block is large.
    /// A hint: nothing fails if the kernel declines it.
    @usableFromInline package static func adviseHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        guard byteCount >= hugePageAdviceMinimum else { return }
        let address = UInt(bitPattern: start)
        let mask = UInt(hugePageSize - 1)
        let first = (address + mask) & ~mask
        let end = (address + UInt(byteCount)) & ~mask
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(aligned, Int(end - first), MADV_HUGEPAGE)
    }
}
