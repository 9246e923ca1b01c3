#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// How the detection tables ask the kernel for their memory.
///
/// A table that outgrows the caches is read at random, and with 4 KiB pages nearly every
/// such read also misses the TLB (a page walk, dearer still in a virtual machine). Huge
/// pages (2 MiB, transparent: `madvise(MADV_HUGEPAGE)`) cut those misses and the page
/// faults of filling the table. They are only asked for by a process that fills its tables
/// and then ends (`lightscope replay`: about a tenth faster on the benchmark's capture).
/// The daemon does not: a huge page is committed whole at its first touch, so a table
/// that a quiet network keeps nearly empty would hold megabytes where it uses kilobytes.
public enum TableMemory {
    private static let hugePagesPreferred = Atomic<Bool>(false)
    /// Blocks smaller than this are not worth advising: they hold at most one huge page.
    static let hugePageAdviceMinimum = 4 << 20
    static let hugePageSize = 2 << 20

    /// From now on, large table blocks ask for huge pages. Call before the tables are made.
    public static func preferHugePages() {
        hugePagesPreferred.store(true, ordering: .relaxed)
    }

    /// For a test, which shares its process with others: back to the default.
    static func stopPreferringHugePages() {
        hugePagesPreferred.store(false, ordering: .relaxed)
    }

    /// Advises huge pages for the whole 2 MiB pages inside a freshly allocated block (one
    /// not yet touched), if preferred and the block is large. A hint: nothing fails if the
    /// kernel declines it.
    static func adviseNewBlock(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        guard byteCount >= hugePageAdviceMinimum, hugePagesPreferred.load(ordering: .relaxed) else { return }
        let address = UInt(bitPattern: start)
        let mask = UInt(hugePageSize - 1)
        let first = (address + mask) & ~mask
        let end = (address + UInt(byteCount)) & ~mask
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(aligned, Int(end - first), MADV_HUGEPAGE)
    }
}
