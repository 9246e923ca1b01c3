/// The TCP options of the pending probes, each distinct set kept once and referred to by a
/// 16-bit id instead of 40 raw bytes in every probe.
///
/// What is kept is the options' shown form (`TCPOptionsFingerprint.shownForm`): the bytes
/// an event's fingerprint shows, with timestamps and other hidden values zeroed, so the
/// SYNs of one tool or one system share an entry whatever their timestamps. An entry is
/// counted while probes refer to it; one no probe refers to is reused, oldest first, when
/// a new set finds the table full. A probe whose set finds every entry in use (thousands of
/// distinct sets pending at once: an attacker varying them on purpose) keeps none, and its
/// event's fingerprint says `?`; `notKeptCount` counts them.
struct TCPOptionsTable {
    /// The id of "no options kept".
    static let notKept = UInt16.max

    struct Entry {
        var options = TCPOptions()
        var references: UInt32 = 0
        /// On `unreferenced` (at most once).
        var queued = false
    }

    /// The entries and the ring of unreferenced ids, in memory of their own (a retain or
    /// release per probe, so no copy-on-write check), counted in the budget while they live.
    final class Storage {
        let entries: UnsafeMutablePointer<Entry>
        /// Ids whose count fell to zero, oldest first (a ring): the ones to reuse.
        let unreferenced: UnsafeMutablePointer<UInt16>
        let capacity: Int
        let reservation: PoolReservation

        init(capacity: Int, reservation: PoolReservation) {
            self.capacity = capacity
            self.reservation = reservation
            entries = .allocate(capacity: capacity)
            entries.initialize(repeating: Entry(), count: capacity)
            unreferenced = .allocate(capacity: capacity)
            unreferenced.initialize(repeating: 0, count: capacity)
        }

        deinit {
            entries.deallocate()
            unreferenced.deallocate()
        }
    }

    private var storage: Storage
    private let pool: TableBytePool
    /// The most entries it may grow to.
    let maximumCapacity: Int
    private var index: FastHashTable<TCPOptions, UInt16>
    private var unreferencedHead = 0
    private var unreferencedCount = 0
    /// Ids never used yet start here.
    private var fresh = 0
    /// The last options asked for, as they came, and their id: most SYNs of a flood or a
    /// scan carry the same bytes, which then need no shown form and no lookup.
    private var lastRaw = TCPOptions()
    private var lastID = TCPOptionsTable.notKept
    /// Probes whose options found no room.
    private(set) var notKeptCount: UInt64 = 0

    /// Entries it starts with, before the sets in use outnumber them.
    static let initialCapacity = 256

    var capacity: Int { storage.capacity }
    /// The memory it holds.
    var reservedBytes: Int { storage.reservation.bytes }

    /// The memory of a table of `capacity` entries, at most (its index full).
    static func bytes(capacity: Int) -> Int {
        capacity * (MemoryLayout<Entry>.stride + MemoryLayout<UInt16>.stride)
            + FastHashTable<TCPOptions, UInt16>.buckets(forMaximumCount: capacity)
            * (MemoryLayout<FastHashTable<TCPOptions, UInt16>.Slot>.stride + 1)
    }

    /// The most entries that fit in `budget` bytes (ids stop short of `notKept`).
    static func capacity(fittingIn budget: Int) -> Int {
        var capacity = 1
        while capacity < Int(notKept) / 2, bytes(capacity: capacity * 2) <= budget { capacity *= 2 }
        var step = capacity / 2
        while step > 0 {
            if capacity + step < Int(notKept), bytes(capacity: capacity + step) <= budget { capacity += step }
            step /= 2
        }
        return capacity
    }

    /// A table that starts small and grows, while its sets in use outnumber its entries and
    /// `pool` has room, up to `maximumCapacity` entries.
    init(maximumCapacity: Int, pool: TableBytePool) {
        self.maximumCapacity = min(max(1, maximumCapacity), Int(Self.notKept) - 1)
        self.pool = pool
        // What the pool has left, if less, but 16 sets at least.
        var first = min(Self.initialCapacity, self.maximumCapacity)
        while first > 16, Self.bytes(capacity: first) > pool.availableBytes { first /= 2 }
        storage = Storage(capacity: first, reservation: PoolReservation(Self.bytes(capacity: first), from: pool))
        index = FastHashTable(maximumCount: self.maximumCapacity)
    }

    /// The id for `options`, referred to once more (release it when the probe goes).
    @inline(__always)
    mutating func retain(_ options: TCPOptions) -> UInt16 {
        if lastID != Self.notKept, options == lastRaw {
            storage.entries[Int(lastID)].references += 1
            return lastID
        }
        return retainSlowly(options)
    }

    private mutating func retainSlowly(_ options: TCPOptions) -> UInt16 {
        let shown = TCPOptionsFingerprint.shownForm(of: options)
        if let found = index[shown] {
            storage.entries[Int(found)].references += 1
            remember(options, as: found)
            return found
        }
        guard let id = takeFreeID() else {
            notKeptCount &+= 1
            return Self.notKept
        }
        storage.entries[Int(id)] = Entry(options: shown, references: 1)
        index.updateValue(id, forKey: shown)
        remember(options, as: id)
        return id
    }

    /// One reference to `id` fewer.
    @inline(__always)
    mutating func release(_ id: UInt16) {
        guard id != Self.notKept else { return }
        let entry = storage.entries + Int(id)
        entry.pointee.references -= 1
        guard entry.pointee.references == 0, !entry.pointee.queued else { return }
        entry.pointee.queued = true
        storage.unreferenced[(unreferencedHead + unreferencedCount) % storage.capacity] = id
        unreferencedCount += 1
    }

    /// The options `id` stands for.
    func options(_ id: UInt16) -> TCPOptions {
        id == Self.notKept ? TCPOptions(bytes: UnsafeRawBufferPointer(start: nil, count: 0), cutShort: true)
            : storage.entries[Int(id)].options
    }

    private mutating func remember(_ options: TCPOptions, as id: UInt16) {
        lastRaw = options
        lastID = id
    }

    /// A never-used id, else the one unreferenced longest (taken out of the index), else
    /// one of more entries if the table can grow; nil if every entry is in use.
    private mutating func takeFreeID() -> UInt16? {
        if fresh == storage.capacity && unreferencedCount == 0 { grow() }
        if fresh < storage.capacity {
            fresh += 1
            return UInt16(fresh - 1)
        }
        while unreferencedCount > 0 {
            let id = storage.unreferenced[unreferencedHead]
            unreferencedHead = (unreferencedHead + 1) % storage.capacity
            unreferencedCount -= 1
            let entry = storage.entries + Int(id)
            entry.pointee.queued = false
            // Referred to again since it was queued: not free after all.
            guard entry.pointee.references == 0 else { continue }
            index.removeValue(forKey: entry.pointee.options)
            if lastID == id { lastID = Self.notKept }
            return id
        }
        return nil
    }

    /// Twice the entries, if the pool has the bytes (the old ones are given back as the new
    /// take over); the ring of unreferenced ids, empty when it grows, starts afresh.
    private mutating func grow() {
        let target = min(maximumCapacity, 2 * storage.capacity)
        let extra = Self.bytes(capacity: target) - storage.reservation.bytes
        guard target > storage.capacity, pool.availableBytes >= extra else { return }
        let bigger = Storage(capacity: target, reservation: PoolReservation(Self.bytes(capacity: target), from: pool))
        bigger.entries.update(from: storage.entries, count: storage.capacity)
        storage = bigger
        unreferencedHead = 0
    }
}
