import Synchronization

/// Bytes that a set of tables may hold together, whichever thread grows them: the budget
/// tables of one kind share (every packet loop's pending probes, say), so that the one that
/// needs the memory gets it and the total stays within the limit.
///
/// Lock-free, and touched only when a table grows or shrinks (a doubling), never per packet.
public final class TableBytePool: Sendable {
    public let limitBytes: Int
    @usableFromInline let reserved = Atomic<Int>(0)

    @inlinable public init(limitBytes: Int) {
        precondition(limitBytes >= 0)
        self.limitBytes = limitBytes
    }

    /// A pool with no limit: for tables whose capacities the caller set itself.
    @inlinable public static func unlimited() -> TableBytePool { TableBytePool(limitBytes: Int.max / 2) }

    /// Bytes the tables hold now.
    @inlinable public var reservedBytes: Int { reserved.load(ordering: .relaxed) }
    /// Bytes still free.
    @inlinable public var availableBytes: Int { max(0, limitBytes - reservedBytes) }

    /// Takes `bytes` if that keeps the pool within its limit.
    @inlinable package func reserve(_ bytes: Int) -> Bool {
        var current = reserved.load(ordering: .relaxed)
        while true {
            guard bytes <= limitBytes - current else { return false }
            let (exchanged, original) = reserved.compareExchange(expected: current, desired: current + bytes,
                                                                 ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Takes `bytes` whatever the limit: a table's first, smallest size, which it must have
    /// to work at all (the pool then shows the overdraft).
    @inlinable package func reserveRegardless(_ bytes: Int) {
        reserved.wrappingAdd(bytes, ordering: .relaxed)
    }

    @inlinable package func release(_ bytes: Int) {
        reserved.wrappingSubtract(bytes, ordering: .relaxed)
    }
}

/// Bytes taken from a pool for as long as this lives: for a table of a fixed size, or one
/// that changes its size through `resize`.
@usableFromInline package final class PoolReservation {
    @usableFromInline package let pool: TableBytePool
    @usableFromInline package var bytes: Int

    /// Takes `bytes`, whatever the pool's limit.
    @inlinable package init(_ bytes: Int, from pool: TableBytePool) {
        pool.reserveRegardless(bytes)
        self.pool = pool
        self.bytes = bytes
    }

    /// Holds `newBytes` instead: more only if the pool has room (false, changing nothing,
    /// if not); less always.
    @inlinable package func resize(to newBytes: Int) -> Bool {
        if newBytes > bytes {
            guard pool.reserve(newBytes - bytes) else { return false }
        } else {
            pool.release(bytes - newBytes)
        }
        bytes = newBytes
        return true
    }

    deinit { pool.release(bytes) }
}
