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
    @usableFromInline package let k0: UInt64
    @usableFromInline package let k1: UInt64
    @usableFromInline package let k2: UInt64
    @usableFromInline package let k3: UInt64

    @inlinable package init(k0: UInt64, k1: UInt64, k2: UInt64, k3: UInt64) {
        (self.k0, self.k1, self.k2, self.k3) = (k0, k1, k2, k3)
    }

    /// Fresh secret keys from the system's CSPRNG.
    @inlinable package static func random() -> FastHashSeed {
        var generator = SystemRandomNumberGenerator()
        return FastHashSeed(k0: generator.next() | 1, k1: generator.next() | 1, k2: generator.next() | 1, k3: generator.next() | 1)
    }

    /// 64x64 -> 128-bit multiply, folded.
    @inline(__always)
    @inlinable package static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inline(__always)
    @inlinable package func hash(_ w0: UInt64, _ w1: UInt64) -> UInt64 {
        Self.mum(Self.mum(w0 ^ k0, w1 ^ k1) ^ k2, k3 ^ 2)
    }

    @inline(__always)
    @inlinable package func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64) -> UInt64 {
        let state = Self.mum(w0 ^ k0, w1 ^ k1)
        return Self.mum(Self.mum(w2 ^ k2, state ^ k3) ^ k0, k1 ^ 3)
    }

    @inline(__always)
    @inlinable package func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64, _ w4: UInt64) -> UInt64 {
        var state = Self.mum(w0 ^ k0, w1 ^ k1)
        state = Self.mum(w2 ^ k2, w3 ^ state ^ k3)
        return Self.mum(Self.mum(w4 ^ k0, state ^ k1) ^ k2, k3 ^ 5)
    }

    @inline(__always)
    @inlinable package func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64, _ w4: UInt64, _ w5: UInt64) -> UInt64 {
        var state = Self.mum(w0 ^ k0, w1 ^ k1)
        state = Self.mum(w2 ^ k2, w3 ^ state ^ k3)
        state = Self.mum(w4 ^ k0, w5 ^ state ^ k1)
        return Self.mum(state ^ k2, k3 ^ 6)
    }
}
