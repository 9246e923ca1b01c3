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
            SELECT \(columns), \(Self.blockColumn) FROM (SELECT id, \(columns), \(Self.blockColumn) FROM events WHERE time_ns >= ?1\(filter)
                ORDER BY time_ns DESC, id DESC LIMIT ?2) ORDER BY time_ns, id
            """
        let rows = try query(sql, values) { row in Self.record(row).map { ($0, row.blob(at: Int32(EventField.allCases.count))) } }
        // A flood block stands for its aggregates: one record each. The newest `limit` rows
        // hold at least `limit` records, so the newest `limit` of these are the answer.
        var records: [EventRecord] = []
        for (record, block) in rows {
            guard let block else {
                records.append(record)
                continue
            }
            records += try decodedBlock(block, of: record).records(row: record)
        }
        return Array(records.suffix(limit))
    }

    /// The one way readers decode a `block` column: damaged bytes are the store's error, said
    /// with the row's time, never a crash.
    func decodedBlock(_ bytes: [UInt8], of record: EventRecord) throws(StoreError) -> AggregateBlock {
        do {
            return try AggregateBlock.decode(bytes)
        } catch {
            throw StoreError("event store \(path): the flood block of the \(record.verdict.rawValue) events at \(record.timeNanos) ns is unreadable (\(error)); move the file aside to start a new store")
        }
    }

    /// The flood blocks captured at or after `sinceNanos` (optionally of one verdict), decoded,
    /// with their row's protocol.
    func blocks(since sinceNanos: UInt64, verdict: Verdict? = nil) throws(StoreError) -> [(proto: TransportProtocol, block: AggregateBlock)] {
        var values: [SQLiteValue] = [.integer(Int64(clamping: sinceNanos))]
        if let verdict { values.append(.text(verdict.rawValue)) }
        let rows: [(TransportProtocol, [UInt8], EventRecord)] = try query("""
            SELECT \(EventField.allCases.map(\.storeColumn).joined(separator: ", ")), \(Self.blockColumn) FROM events
                WHERE time_ns >= ?1 AND \(Self.blockColumn) IS NOT NULL\(verdict == nil ? "" : " AND verdict = ?2")
            """, values) { row in
            guard let record = Self.record(row), let bytes = row.blob(at: Int32(EventField.allCases.count)) else { return nil }
            return (record.proto, bytes, record)
        }
        var blocks: [(proto: TransportProtocol, block: AggregateBlock)] = []
        for (proto, bytes, record) in rows { blocks.append((proto, try decodedBlock(bytes, of: record))) }
        return blocks
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
        let rows: [String] = try query("SELECT DISTINCT src FROM events WHERE verdict = ?2 AND time_ns >= ?1 AND \(Self.blockColumn) IS NULL ORDER BY src",
                             [.integer(Int64(clamping: sinceNanos)), .text(Verdict.backscatter.rawValue)]) { $0.value(at: 0).text }
        let networks = try blocks(since: sinceNanos, verdict: .backscatter).flatMap { $0.block.networkTexts }
        guard !networks.isEmpty else { return rows }
        return Set(rows + networks).sorted()
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

    /// The sources with the most events since `sinceNanos`, most first. A flood block's
    /// aggregates count under their networks (`203.0.113.0/24`).
    public func topSources(since sinceNanos: UInt64, limit: Int = 10) throws(StoreError) -> [SourceCount] {
        let rows: [SourceCount] = try query("""
            SELECT src, sum(coalesce(aggregated, 1)) AS n, sum(packets) FROM events WHERE time_ns >= ?1 AND \(Self.blockColumn) IS NULL
                GROUP BY src ORDER BY n DESC, src LIMIT ?2
            """, [.integer(Int64(clamping: sinceNanos)), .integer(Int64(limit))]) { row in
            guard let source = row.value(at: 0).text, let events = row.value(at: 1).integer,
                  let packets = row.value(at: 2).integer else { return nil }
            return SourceCount(source: source, events: Int(events), packets: Int(packets))
        }
        var networks: [String: SourceCount] = [:]
        for (_, block) in try blocks(since: sinceNanos) {
            for entry in block.entries {
                let network = "\(block.text(network: entry.network))/\(block.prefixLength)"
                networks[network, default: SourceCount(source: network, events: 0, packets: 0)].events += Int(clamping: entry.events)
                networks[network]?.packets += Int(clamping: entry.packets)
            }
        }
        guard !networks.isEmpty else { return rows }
        // A network also among the rows (an aggregate stored before flood blocks) adds up.
        for row in rows {
            networks[row.source, default: SourceCount(source: row.source, events: 0, packets: 0)].events += row.events
            networks[row.source]?.packets += row.packets
        }
        return Array(networks.values.sorted { ($0.events, $1.source) > ($1.events, $0.source) }.prefix(limit))
    }

    public struct PortCount: Equatable, Sendable {
        public var proto: TransportProtocol
        public var port: UInt16
        public var events: Int
    }

    /// The destination ports with the most events since `sinceNanos`, most first.
    /// Events without a single port (portscans) are not counted.
    /// A flood block's aggregates count under their own ports.
    public func topPorts(since sinceNanos: UInt64, limit: Int = 10) throws(StoreError) -> [PortCount] {
        let blocks = try blocks(since: sinceNanos).filter(\.block.hasPorts)
        // With blocks, every port's row count is needed to add theirs: no LIMIT (at most 65,536 per protocol).
        let rows: [PortCount] = try query("""
            SELECT proto, dport, sum(coalesce(aggregated, 1)) AS n FROM events WHERE time_ns >= ?1 AND dport IS NOT NULL
                GROUP BY proto, dport ORDER BY n DESC, proto, dport LIMIT ?2
            """, [.integer(Int64(clamping: sinceNanos)), .integer(blocks.isEmpty ? Int64(limit) : -1)]) { row in
            guard let proto = row.value(at: 0).text.flatMap(TransportProtocol.init(rawValue:)),
                  let port = row.value(at: 1).integer.flatMap(UInt16.init(exactly:)),
                  let events = row.value(at: 2).integer else { return nil }
            return PortCount(proto: proto, port: port, events: Int(events))
        }
        guard !blocks.isEmpty else { return rows }
        var counts: [String: PortCount] = [:]
        func add(_ proto: TransportProtocol, _ port: UInt16, _ events: Int) {
            counts["\(proto.rawValue)/\(port)", default: PortCount(proto: proto, port: port, events: 0)].events += events
        }
        for row in rows { add(row.proto, row.port, row.events) }
        for (proto, block) in blocks {
            for entry in block.entries { add(proto, entry.port, Int(clamping: entry.events)) }
        }
        return Array(counts.values.sorted {
            ($0.events, $1.proto.rawValue, $1.port) > ($1.events, $0.proto.rawValue, $0.port)
        }.prefix(limit))
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
