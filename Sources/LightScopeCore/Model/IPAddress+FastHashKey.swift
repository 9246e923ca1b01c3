import LightScopeFastTables

/// An address keys the detection tables by its two words.
extension IPAddress: FastHashKey {
    @inline(__always)
    @inlinable public func hash(seed: FastHashSeed) -> UInt64 { seed.hash(high, low) }
}
