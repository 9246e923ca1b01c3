import LightScopeCore

/// A count per address, for tallies updated on every event (replay's top sources): a
/// `FastHashTable` behind a small non-generic API that other modules call directly.
public struct AddressCounts: Sendable {
    private var table = FastHashTable<IPAddress, UInt64>(maximumCount: Int.max / 8)

    public init() {}

    public var count: Int { table.count }

    /// Adds one to `address`'s count; returns the new count.
    @discardableResult
    public mutating func increment(_ address: IPAddress) -> UInt64 {
        table.update(address, inserting: 0) { $0 &+= 1 }
    }

    /// Starts loading `address`'s count, which `increment` will change soon.
    @inline(__always)
    public func prefetch(_ address: IPAddress) {
        table.prefetch(address)
    }

    public subscript(address: IPAddress) -> UInt64 { table[address] ?? 0 }

    /// Every address and its count, in no particular order.
    public func forEach(_ body: (IPAddress, UInt64) throws -> Void) rethrows {
        try table.forEach(body)
    }
}
