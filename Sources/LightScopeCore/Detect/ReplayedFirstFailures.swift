/// The records a scan table was given late, by `ScanDetector` taking a source's first failure
/// out of its `FirstFailureTier`: each was written at the table's young end with its older
/// time, behind records that came meanwhile, where the table's oldest-first expiry (which
/// stops at the first record too young) may not reach it when it would have reached it in
/// its own place. They are forgotten here instead, at the timers' run that would have
/// expired them there: the first whose cutoff reaches their time (nothing before their
/// place could stop it: every earlier record was as old or older, `ScanDetector` sees to it).
///
/// A min-heap on the time: promotions come in any order of their first failures' times.
///
/// Bounded: an entry whose record went another way (evicted, or moved by a new window or a
/// second attempt) stays until its time, so past `mostEntries` the list keeps only the entries
/// whose records are still as written (`prune`), no more than the table holds. Without that a
/// stream of `closed` failures, each held and taken back by the next `unanswered` (earlier),
/// grew the slow scans' list by one a failure for a whole day's window.
struct ReplayedFirstFailures {
    private var heap: [Entry] = []
    /// Past this many entries, `add` prunes (twice the table's capacity).
    let mostEntries: Int

    init(tableCapacity: Int) {
        mostEntries = 2 * max(tableCapacity, 1024)
    }

    struct Entry {
        var nanos: UInt64
        var source: UInt32
    }

    var count: Int { heap.count }
    var reservedBytes: Int { heap.capacity * MemoryLayout<Entry>.stride }

    /// Adds an entry; past `mostEntries`, first drops those for which `isStillAsWritten` is false.
    mutating func add(source: UInt32, nanos: UInt64, isStillAsWritten: (Entry) -> Bool) {
        if heap.count >= mostEntries { prune(keeping: isStillAsWritten) }
        heap.append(Entry(nanos: nanos, source: source))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].nanos < heap[parent].nanos else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func prune(keeping isStillAsWritten: (Entry) -> Bool) {
        heap.removeAll { !isStillAsWritten($0) }
        // A sorted array is a heap.
        heap.sort { $0.nanos < $1.nanos }
    }

    /// Hands `each` every entry at or before `cutoffNanos`, oldest first, and drops them.
    mutating func removeAll(atOrBefore cutoffNanos: UInt64, _ each: (Entry) -> Void) {
        while let first = heap.first, first.nanos <= cutoffNanos {
            each(first)
            let last = heap.removeLast()
            guard !heap.isEmpty else { break }
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                let right = left + 1
                let smaller = right < heap.count && heap[right].nanos < heap[left].nanos ? right : left
                guard heap[smaller].nanos < heap[parent].nanos else { break }
                heap.swapAt(parent, smaller)
                parent = smaller
            }
        }
        if heap.isEmpty && heap.capacity > 1024 { heap = [] }
    }
}
