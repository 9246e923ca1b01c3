/// A key for `FastHashTable`: hashes its 64-bit words with the table's secret `FastHashSeed`.
///
/// Implementations must feed every word that `==` compares (so equal keys hash equally)
/// and must not fold words together before hashing (an attacker who controls two fields,
/// say an IPv6 source and a source port, could otherwise make distinct keys fold to the same
/// words and collide whatever the seed).
public protocol FastHashKey: Equatable {
    func hash(seed: FastHashSeed) -> UInt64
}

/// The secret of one table's hash function: four 64-bit keys drawn from the system's CSPRNG
/// (`SystemRandomNumberGenerator`, getrandom(2) on Linux) when the table is made.
///
/// The mix is wyhash's: each pair of words is xored with secret keys, multiplied to 128 bits
/// and folded (`high ^ low`), chained through the running state. It is not a cryptographic
/// MAC, but an attacker who chooses source addresses and ports cannot predict which keys
/// share a bucket without the per-table secret, so a flood of spoofed sources cannot be
/// aimed at one probe chain (the hash-flooding attack SipHash was made for). The tables
/// also keep their load factor at or below 3/4, so chains stay short on any input the
/// secret makes look random.
public struct FastHashSeed: Sendable {
    let k0: UInt64
    let k1: UInt64
    let k2: UInt64
    let k3: UInt64

    /// Fresh secret keys from the system's CSPRNG.
    static func random() -> FastHashSeed {
        var generator = SystemRandomNumberGenerator()
        return FastHashSeed(k0: generator.next() | 1, k1: generator.next() | 1, k2: generator.next() | 1, k3: generator.next() | 1)
    }

    /// 64x64 -> 128-bit multiply, folded.
    @inline(__always)
    static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inline(__always)
    func hash(_ w0: UInt64, _ w1: UInt64) -> UInt64 {
        Self.mum(Self.mum(w0 ^ k0, w1 ^ k1) ^ k2, k3 ^ 2)
    }

    @inline(__always)
    func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64) -> UInt64 {
        let state = Self.mum(w0 ^ k0, w1 ^ k1)
        return Self.mum(Self.mum(w2 ^ k2, state ^ k3) ^ k0, k1 ^ 3)
    }

    @inline(__always)
    func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64, _ w4: UInt64) -> UInt64 {
        var state = Self.mum(w0 ^ k0, w1 ^ k1)
        state = Self.mum(w2 ^ k2, w3 ^ state ^ k3)
        return Self.mum(Self.mum(w4 ^ k0, state ^ k1) ^ k2, k3 ^ 5)
    }
}

extension IPAddress: FastHashKey {
    @inline(__always)
    public func hash(seed: FastHashSeed) -> UInt64 { seed.hash(high, low) }
}

/// An open-addressing hash table with linear probing and backward-shift deletion (no
/// tombstones), keyed by `FastHashKey`'s seeded hash: what the detection tables use instead
/// of `Dictionary`, whose SipHash costs more than everything else a packet does.
///
/// The bucket count is a power of two, doubled as the table fills and never beyond the
/// smallest power of two that holds `maximumCount` at a load factor of 3/4; inserting more
/// than `maximumCount` keys is a programming error (callers evict first). Each table has its
/// own random `FastHashSeed` (see there for why that matters to an attacker).
struct FastHashTable<Key: FastHashKey, Value> {
    /// Keys and values in parallel arrays, so a probe sequence reads keys only and never
    /// copies a value out to compare a key.
    private var keys: [Key?]
    private var values: [Value?]
    private var mask: Int
    private let seed: FastHashSeed
    let maximumCount: Int
    private(set) var count = 0

    /// Bucket count when first made; the table doubles from there.
    static var initialBuckets: Int { 1024 }

    /// Buckets that `maximumCount` keys need at a load factor of at most 3/4.
    static func buckets(forMaximumCount maximumCount: Int) -> Int {
        var buckets = 8
        while buckets / 4 * 3 < maximumCount { buckets *= 2 }
        return buckets
    }

    /// Bytes per bucket.
    static var slotStride: Int { MemoryLayout<Key?>.stride + MemoryLayout<Value?>.stride }

    /// Memory of the largest bucket arrays: what `maximumCount` keys cost at worst.
    static func bytes(forMaximumCount maximumCount: Int) -> Int {
        buckets(forMaximumCount: maximumCount) * slotStride
    }

    init(maximumCount: Int, seed: FastHashSeed = .random()) {
        precondition(maximumCount > 0)
        self.maximumCount = maximumCount
        self.seed = seed
        let buckets = min(Self.initialBuckets, Self.buckets(forMaximumCount: maximumCount))
        keys = Array(repeating: nil, count: buckets)
        values = Array(repeating: nil, count: buckets)
        mask = buckets - 1
    }

    var isEmpty: Bool { count == 0 }
    /// Current bucket count (grows by doubling).
    var bucketCount: Int { mask + 1 }

    @inline(__always)
    private func home(_ key: Key) -> Int {
        Int(truncatingIfNeeded: key.hash(seed: seed)) & mask
    }

    /// The slot holding `key`, if present.
    @inline(__always)
    func index(of key: Key) -> Int? {
        var index = home(key)
        while let candidate = keys[index] {
            if candidate == key { return index }
            index = (index &+ 1) & mask
        }
        return nil
    }

    subscript(key: Key) -> Value? {
        guard let index = index(of: key) else { return nil }
        return values[index]
    }

    /// The value in an occupied slot, changed in place.
    subscript(valueAt index: Int) -> Value {
        get { values[index]! }
        _modify { yield &values[index]! }
    }

    /// The key in an occupied slot.
    func key(at index: Int) -> Key { keys[index]! }

    /// Inserts `key` or replaces its value; returns its slot.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: Key) -> Int {
        var index = home(key)
        while let candidate = keys[index] {
            if candidate == key {
                values[index] = value
                return index
            }
            index = (index &+ 1) & mask
        }
        precondition(count < maximumCount, "FastHashTable over its maximum count")
        if (count + 1) * 4 > bucketCount * 3 {
            grow()
            return insertNew(key, value)
        }
        keys[index] = key
        values[index] = value
        count += 1
        return index
    }

    /// Inserts a key known to be absent.
    private mutating func insertNew(_ key: Key, _ value: Value) -> Int {
        var index = home(key)
        while keys[index] != nil { index = (index &+ 1) & mask }
        keys[index] = key
        values[index] = value
        count += 1
        return index
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard let index = index(of: key) else { return nil }
        return remove(at: index)
    }

    /// Empties an occupied slot and shifts the rest of its cluster back, so lookups never
    /// need tombstones.
    @discardableResult
    mutating func remove(at index: Int) -> Value {
        keys[index] = nil
        let removed = values[index].take()!
        count -= 1
        var hole = index
        var next = (index &+ 1) & mask
        while let key = keys[next] {
            let wanted = home(key)
            // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
            if (next &- wanted) & mask >= (next &- hole) & mask {
                keys[hole] = key
                keys[next] = nil
                values[hole] = values[next].take()
                hole = next
            }
            next = (next &+ 1) & mask
        }
        return removed
    }

    mutating func removeAll() {
        let buckets = min(Self.initialBuckets, Self.buckets(forMaximumCount: maximumCount))
        keys = Array(repeating: nil, count: buckets)
        values = Array(repeating: nil, count: buckets)
        mask = buckets - 1
        count = 0
    }

    /// Every key and value, in bucket order (no particular order).
    func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        for index in keys.indices {
            if let key = keys[index] { try body(key, values[index]!) }
        }
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = Array(repeating: nil, count: oldKeys.count * 2)
        values = Array(repeating: nil, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for index in oldKeys.indices {
            if let key = oldKeys[index] { _ = insertNew(key, oldValues[index]!) }
        }
    }
}

extension FastHashTable: Sendable where Key: Sendable, Value: Sendable {}
