import LightScopeCore

/// The fleet's events as `lightscope events` and `lightscope top` read a host's own store:
/// plain SQL over `lightscope.events`, each row named by its host from `lightscope.hosts`.
/// Every value an operator types reaches the server as a bound parameter, never as SQL text.
public enum FleetEvents {
    /// Which events a query reads; nil means any.
    public struct Filter: Sendable {
        public var windowSeconds: Double
        public var verdict: Verdict?
        public var source: String?
        public var destinationPort: UInt16?
        public var tool: ScanTool?

        public init(windowSeconds: Double, verdict: Verdict? = nil, source: String? = nil, destinationPort: UInt16? = nil,
                    tool: ScanTool? = nil) {
            self.windowSeconds = windowSeconds
            self.verdict = verdict
            self.source = source
            self.destinationPort = destinationPort
            self.tool = tool
        }

        /// The WHERE clause over `e` (the events) with its parameters, numbered from $1.
        func clause() -> (sql: String, parameters: [String?]) {
            var parameters: [String?] = [String(windowSeconds)]
            var sql = "e.time >= now() - make_interval(secs => $1)"
            func add(_ condition: String, _ value: String) {
                parameters.append(value)
                sql += " AND \(condition) = $\(parameters.count)"
            }
            if let verdict { add("e.verdict", verdict.rawValue) }
            if let source { add("e.src", source) }
            if let destinationPort { add("e.dport", String(destinationPort)) }
            if let tool { add("e.tool", tool.name) }
            return (sql, parameters)
        }
    }

    /// One event and the name of the host that saw it.
    public struct HostEvent: Sendable, Equatable {
        public var host: String
        public var record: EventRecord
    }

    /// A host's name, or its id while it has sent no heartbeat yet.
    static let hostName = "coalesce(h.name, e.host_id::text)"
    static let joined = "lightscope.events e LEFT JOIN lightscope.hosts h ON h.host_id = e.host_id"

    /// The newest `limit` events of the filter, oldest first, as a log tail reads; and how many
    /// rows were left out because this LightScope does not know their protocol or verdict.
    public static func events(_ connection: PostgresConnection, filter: Filter,
                              limit: Int) throws(FleetError) -> (events: [HostEvent], unknown: Int) {
        let (condition, parameters) = filter.clause()
        let columns = """
            \(hostName) AS host, (extract(epoch FROM e.time) * 1000000)::bigint AS micros, e.interface, e.proto, e.src, e.sport,
                e.dst, e.dport, e.verdict, e.packets, e.ttl, e."window", e.tcp_options, e.ports, e.addresses, e.tool,
                e.answer, e.host_id, e.store_id, e.event_id, e.aggregated, array_to_string(e.samples, ',')
            """
        let rows = try FleetReader.query(connection, """
            SELECT * FROM (SELECT \(columns) FROM \(joined) WHERE \(condition)
                ORDER BY e.time DESC, e.host_id DESC, e.store_id DESC, e.event_id DESC LIMIT $\(parameters.count + 1)) newest
            ORDER BY micros, host_id, store_id, event_id
            """, parameters + [String(limit)])
        let events = rows.compactMap(Self.hostEvent)
        return (events, rows.count - events.count)
    }

    static func hostEvent(_ row: [String?]) -> HostEvent? {
        func number<Number: FixedWidthInteger>(_ index: Int) -> Number? { row[index].flatMap { Number($0) } }
        // An aggregate (it has samples) carries its count; an event has none, as in the host's store.
        let samples = row[21]
        guard let micros: UInt64 = number(1), let interface = row[2],
              let proto = row[3].flatMap(TransportProtocol.init(rawValue:)), let source = row[4],
              let verdict = row[8].flatMap(Verdict.init(rawValue:)), let packets: Int64 = number(9)
        else { return nil }
        let record = EventRecord(timeNanos: micros * 1000, interface: interface, proto: proto, source: source, sourcePort: number(5),
                                 destination: row[6], destinationPort: number(7), verdict: verdict, packets: UInt32(clamping: packets),
                                 ttl: number(10), tcpWindow: number(11), tcpOptions: row[12], ports: number(13),
                                 addresses: number(14), tool: ScanTool(storedName: row[15]),
                                 answer: row[16].flatMap(BackscatterAnswer.init(name:)),
                                 aggregated: samples == nil ? nil : number(20), samples: samples)
        return HostEvent(host: row[0] ?? "", record: record)
    }

    /// What `top` ranks by: the local command's groupings, and the fleet's own `host` and `verdict`.
    public enum Grouping: String, Sendable, CaseIterable {
        case source, port, host, verdict, tool

        /// The grouped columns: their text is a row's `key` (port: proto, then port).
        var columns: [String] {
            switch self {
            case .source: ["e.src"]
            case .port: ["e.proto", "e.dport"]
            case .host: [FleetEvents.hostName]
            case .verdict: ["e.verdict"]
            case .tool: ["e.tool"]
            }
        }
    }

    /// One row of `top`: the grouped values, the events and their packets.
    public struct Count: Sendable, Equatable {
        public var key: [String]
        public var events: Int64
        public var packets: Int64
    }

    /// The `limit` groups with the most events, most first, an aggregate counted as the events it
    /// stands for. As locally, `port` leaves out the events without a single port (portscans,
    /// which cover many), and an aggregate's source is its network. Sources are counted across
    /// hosts only if the hosts' pseudonyms are comparable.
    public static func top(_ connection: PostgresConnection, by grouping: Grouping, filter: Filter,
                           limit: Int) throws(FleetError) -> [Count] {
        if grouping == .source { try FleetReader.requireOneAnonymisationKey(connection, windowSeconds: filter.windowSeconds) }
        let (clause, parameters) = filter.clause()
        let condition = grouping == .port ? clause + " AND e.dport IS NOT NULL" : clause
        let keys = grouping.columns
        let keyList = keys.enumerated().map { "\($1) AS k\($0)" }.joined(separator: ", ")
        let groups = keys.indices.map { "k\($0)" }.joined(separator: ", ")
        let rows = try FleetReader.query(connection, """
            SELECT \(keyList), sum(e.aggregated) AS n, sum(e.packets) FROM \(joined) WHERE \(condition)
            GROUP BY \(groups) ORDER BY n DESC, \(groups) LIMIT $\(parameters.count + 1)
            """, parameters + [String(limit)])
        return rows.map { row in
            Count(key: row.prefix(keys.count).map { $0 ?? "" }, events: Int64(row[keys.count] ?? "") ?? 0,
                  packets: Int64(row[keys.count + 1] ?? "") ?? 0)
        }
    }
}
