import LightScopeCore

/// The readers behind the CLI's queries: plain functions returning values, no cursors to manage.
extension EventStore {
    /// The newest `limit` events captured at or after `sinceNanos` (optionally of one verdict,
    /// or sent by one tool), returned oldest first, as a log tail reads.
    public func events(since sinceNanos: UInt64, verdict: Verdict? = nil, tool: ScanTool? = nil,
                       limit: Int = 100) throws(StoreError) -> [EventRecord] {
        let columns = EventField.allCases.map(\.storeColumn).joined(separator: ", ")
        var values: [SQLiteValue] = [.integer(Int64(clamping: sinceNanos)), .integer(Int64(limit))]
        var filter = ""
        if let verdict {
            values.append(.text(verdict.rawValue))
            filter += " AND verdict = ?\(values.count)"
        }
        if let tool {
            values.append(.text(tool.name))
            filter += " AND tool = ?\(values.count)"
        }
        let sql = """
            SELECT \(columns) FROM (SELECT id, \(columns) FROM events WHERE time_ns >= ?1\(filter)
                ORDER BY time_ns DESC, id DESC LIMIT ?2) ORDER BY time_ns, id
            """
        return try query(sql, values, Self.record)
    }

    /// A row whose first columns are `EventField.allCases` in order, as a record.
    static func record(_ row: SQLiteStatement) -> EventRecord? {
        func text(_ field: EventField) -> String? { row.value(at: column(field)).text }
        func number<Number: FixedWidthInteger>(_ field: EventField) -> Number? {
            row.value(at: column(field)).integer.flatMap { Number(exactly: $0) }
        }
        guard let time: UInt64 = number(.time), let interface = text(.interface),
              let proto = text(.proto).flatMap(TransportProtocol.init(rawValue:)), let source = text(.src),
              let verdict = text(.verdict).flatMap(Verdict.init(rawValue:)), let packets: UInt32 = number(.packets)
        else { return nil }
        return EventRecord(timeNanos: time, interface: interface, proto: proto, source: source, sourcePort: number(.sport),
                           destination: text(.dst), destinationPort: number(.dport), verdict: verdict, packets: packets,
                           ttl: number(.ttl), tcpWindow: number(.window), tcpOptions: text(.tcpOptions),
                           ports: number(.ports), addresses: number(.addresses), tool: ScanTool(storedName: text(.tool)),
                           tcpFlags: text(.tcpFlags), answer: text(.answer).flatMap(BackscatterAnswer.init(name:)),
                           aggregated: number(.aggregated), samples: text(.samples))
    }

    /// The sources of `backscatter` events since `sinceNanos`: victims, never scanners.
    public func backscatterVictims(since sinceNanos: UInt64) throws(StoreError) -> [String] {
        try query("SELECT DISTINCT src FROM events WHERE verdict = ?2 AND time_ns >= ?1 ORDER BY src",
                  [.integer(Int64(clamping: sinceNanos)), .text(Verdict.backscatter.rawValue)]) { $0.value(at: 0).text }
    }

    /// How many events of each verdict were captured at or after `sinceNanos`; absent verdicts are 0.
    /// An aggregate counts as the events it stands for, not as one.
    public func countsByVerdict(since sinceNanos: UInt64) throws(StoreError) -> [Verdict: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0, 0) })
        let rows: [(Verdict, Int)] = try query(
            "SELECT verdict, sum(coalesce(aggregated, 1)) FROM events WHERE time_ns >= ?1 GROUP BY verdict",
            [.integer(Int64(clamping: sinceNanos))]) { row in
            guard let verdict = row.value(at: 0).text.flatMap(Verdict.init(rawValue:)),
                  let count = row.value(at: 1).integer else { return nil }
            return (verdict, Int(count))
        }
        for (verdict, count) in rows { counts[verdict] = count }
        return counts
    }

    public struct SourceCount: Equatable, Sendable {
        /// An address, or a pseudonym when sources are anonymised.
        public var source: String
        public var events: Int
        public var packets: Int
    }

    /// The sources with the most events since `sinceNanos`, most first.
    public func topSources(since sinceNanos: UInt64, limit: Int = 10) throws(StoreError) -> [SourceCount] {
        try query("""
            SELECT src, sum(coalesce(aggregated, 1)) AS n, sum(packets) FROM events WHERE time_ns >= ?1
                GROUP BY src ORDER BY n DESC, src LIMIT ?2
            """, [.integer(Int64(clamping: sinceNanos)), .integer(Int64(limit))]) { row in
            guard let source = row.value(at: 0).text, let events = row.value(at: 1).integer,
                  let packets = row.value(at: 2).integer else { return nil }
            return SourceCount(source: source, events: Int(events), packets: Int(packets))
        }
    }

    public struct PortCount: Equatable, Sendable {
        public var proto: TransportProtocol
        public var port: UInt16
        public var events: Int
    }

    /// The destination ports with the most events since `sinceNanos`, most first.
    /// Events without a single port (portscans) are not counted.
    public func topPorts(since sinceNanos: UInt64, limit: Int = 10) throws(StoreError) -> [PortCount] {
        try query("""
            SELECT proto, dport, sum(coalesce(aggregated, 1)) AS n FROM events WHERE time_ns >= ?1 AND dport IS NOT NULL
                GROUP BY proto, dport ORDER BY n DESC, proto, dport LIMIT ?2
            """, [.integer(Int64(clamping: sinceNanos)), .integer(Int64(limit))]) { row in
            guard let proto = row.value(at: 0).text.flatMap(TransportProtocol.init(rawValue:)),
                  let port = row.value(at: 1).integer.flatMap(UInt16.init(exactly:)),
                  let events = row.value(at: 2).integer else { return nil }
            return PortCount(proto: proto, port: port, events: Int(events))
        }
    }

    public struct ToolCount: Equatable, Sendable {
        /// The tool's name as stored: a newer LightScope may have named one this version does not know.
        public var tool: String
        public var events: Int
        public var packets: Int
    }

    /// The tools that sent the events since `sinceNanos`, most events first (`unknown` among them).
    public func topTools(since sinceNanos: UInt64, limit: Int = 10) throws(StoreError) -> [ToolCount] {
        try query("""
            SELECT tool, sum(coalesce(aggregated, 1)) AS n, sum(packets) FROM events WHERE time_ns >= ?1
                GROUP BY tool ORDER BY n DESC, tool LIMIT ?2
            """, [.integer(Int64(clamping: sinceNanos)), .integer(Int64(limit))]) { row in
            guard let tool = row.value(at: 0).text, let events = row.value(at: 1).integer,
                  let packets = row.value(at: 2).integer else { return nil }
            return ToolCount(tool: tool, events: Int(events), packets: Int(packets))
        }
    }

    /// Every event in the store.
    public func count() throws(StoreError) -> Int {
        try query("SELECT count(*) FROM events", []) { $0.value(at: 0).integer.map(Int.init) }.first ?? 0
    }

    private static func column(_ field: EventField) -> Int32 {
        Int32(EventField.allCases.firstIndex(of: field)!)
    }

    func query<Row>(_ sql: String, _ values: [SQLiteValue], _ read: (SQLiteStatement) -> Row?) throws(StoreError) -> [Row] {
        do {
            return try connection.prepare(sql).rows(values, read)
        } catch {
            throw StoreError(error, path: path)
        }
    }
}
