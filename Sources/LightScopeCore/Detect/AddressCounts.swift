/// A count per address, for tallies updated on every event (replay's top sources): a
/// `FastHashTable` behind a small non-generic API that other modules call directly.
public struct AddressCounts: Sendable {
    private var table = FastHashTable<IPAddress, UInt64>(maximumCount: Int.max / 8)

    public init() {}

    public var count: Int { table.count }

    public mutating func increment(_ address: IPAddress) {
        if let index = table.index(of: address) {
            table[valueAt: index] &+= 1
        } else {
            table.updateValue(1, forKey: address)
        }
    }

    public subscript(address: IPAddress) -> UInt64 { table[address] ?? 0 }

    /// Every address and its count, in no particular order.
    public func forEach(_ body: (IPAddress, UInt64) throws -> Void) rethrows {
        try table.forEach(body)
    }
}
