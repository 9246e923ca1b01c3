import LightScopeCore

/// The store as the fleet shipper's spool: events are read after a cursor, in id order, and the
/// cursor moves only after the collector has committed them. Ids come from AUTOINCREMENT, so they
/// only grow; with the store's random id they name an event on the collector for good.
extension EventStore {
    static let storeIDKey = "store_id"
    static let shippedThroughKey = "fleet_shipped_through"
    /// The cursor as a subquery, for statements that compare against it in one transaction.
    static let shippedThroughSQL = "SELECT value FROM store_info WHERE key = '\(shippedThroughKey)'"

    /// An event with its id in this store.
    /// A flood block's row is ONE spooled event: `record` has the block's first event's time,
    /// interface, protocol, verdict, destination, tool and flags, `0.0.0.0/0` (`::/0`) as its
    /// source, no ports, the packets and events (`aggregated`) of all its aggregates and no
    /// samples; `block` holds its bytes (`AggregateBlock.decode` gives each aggregate's port,
    /// network, counts and samples). Every other row has `block` nil.
    public struct SpooledEvent: Equatable, Sendable {
        public var id: Int64
        public var record: EventRecord
        public var block: [UInt8]? = nil
    }

    /// Drawn at random when `events.sqlite` was created; a re-created store gets a new one.
    public func storeID() throws(StoreError) -> UInt64 {
        UInt64(bitPattern: try info(Self.storeIDKey))
    }

    /// The id of the last event the collector has committed (0: none yet).
    public func shippedThrough() throws(StoreError) -> Int64 {
        try info(Self.shippedThroughKey)
    }

    /// Moves the cursor forward to `id`; never back, so a late or repeated call cannot re-open
    /// what was delivered.
    public func markShipped(through id: Int64) throws(StoreError) {
        do {
            try connection.prepare("UPDATE store_info SET value = max(value, ?1) WHERE key = '\(Self.shippedThroughKey)'")
                .run([.integer(id)])
        } catch {
            throw StoreError(error, path: path)
        }
    }

    /// Up to `limit` events with ids above `id`, in id order.
    public func events(after id: Int64, limit: Int) throws(StoreError) -> [SpooledEvent] {
        let columns = EventField.allCases.map(\.storeColumn).joined(separator: ", ")
        return try query("SELECT \(columns), id, \(Self.blockColumn) FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
                         [.integer(id), .integer(Int64(limit))]) { row in
            guard let record = Self.record(row), let id = row.value(at: Int32(EventField.allCases.count)).integer else { return nil }
            return SpooledEvent(id: id, record: record, block: row.blob(at: Int32(EventField.allCases.count + 1)))
        }
    }

    /// What the collector has not received yet: how many events, and the capture time of the
    /// oldest (nil when none are waiting).
    public func unshipped() throws(StoreError) -> (events: Int, oldestTimeNanos: UInt64?) {
        let rows: [(Int, UInt64?)] = try query("""
            SELECT count(*), (SELECT time_ns FROM events WHERE id > c.value ORDER BY id LIMIT 1)
            FROM events, (\(Self.shippedThroughSQL)) AS c WHERE id > c.value
            """, []) { row in
            (Int(row.value(at: 0).integer ?? 0), row.value(at: 1).integer.map { UInt64(clamping: $0) })
        }
        return rows.first.map { (events: $0.0, oldestTimeNanos: $0.1) } ?? (0, nil)
    }

    private func info(_ key: String) throws(StoreError) -> Int64 {
        let values = try query("SELECT value FROM store_info WHERE key = ?1", [.text(key)]) { $0.value(at: 0).integer }
        guard let value = values.first else {
            throw StoreError("event store \(path) has no \(key): move the file aside so that a new store is created")
        }
        return value
    }
}
