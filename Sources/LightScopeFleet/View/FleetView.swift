/// What the fleet views say, as the read commands print it. Each query reads one view (or
/// its `…_since` function), so the CLI and a psql or Grafana user get the same answers.
public enum FleetView {
    /// One host's row of `lightscope.host_health`.
    public struct HostHealth: Sendable, Equatable {
        public var name: String
        public var hostID: String
        public var version: String
        /// RFC 3339, as the events' times.
        public var lastSeen: String
        public var heartbeatAgeSeconds: Double
        public var heartbeatIntervalSeconds: Double
        public var eventsPending: Int64
        public var oldestPending: String?
        public var packetsSeen: Int64
        public var packetsDropped: Int64
        public var restarts: Int64
        public var eventsLost: Int64
        public var silent: Bool
        /// Which key the host's source pseudonyms are made with: empty for sources in the
        /// clear, nil when its LightScope does not say.
        public var anonymisationKeyID: String?
    }

    /// One source of `lightscope.fleet_scanners`.
    public struct Scanner: Sendable, Equatable {
        public var source: String
        public var hosts: Int64
        public var events: Int64
        public var destinationPorts: [Int]
        public var firstSeen: String
        public var lastSeen: String
        /// Events per verdict, for the verdicts that occurred, in `Verdict` order.
        public var verdicts: [(verdict: String, events: Int64)]

        public static func == (left: Scanner, right: Scanner) -> Bool {
            left.source == right.source && left.hosts == right.hosts && left.events == right.events
                && left.destinationPorts == right.destinationPorts && left.firstSeen == right.firstSeen
                && left.lastSeen == right.lastSeen && left.verdicts.elementsEqual(right.verdicts) { $0 == $1 }
        }
    }

    /// One port of `lightscope.fleet_distributed_scans`.
    public struct DistributedScan: Sendable, Equatable {
        public var proto: String
        public var destinationPort: Int
        public var hosts: Int64
        public var sources: Int64
        public var events: Int64
        public var firstSeen: String
        public var lastSeen: String
    }

    public static func hostHealth(_ connection: PostgresConnection) throws(FleetError) -> [HostHealth] {
        let time = FleetReader.rfc3339
        return try FleetReader.query(connection, """
            SELECT name, host_id, version, to_char(last_seen AT TIME ZONE 'UTC', \(time)), extract(epoch FROM heartbeat_age),
                extract(epoch FROM heartbeat_interval), events_pending, to_char(oldest_pending AT TIME ZONE 'UTC', \(time)),
                packets_seen, packets_dropped, restarts, events_lost, silent, anonymisation_key_id
            FROM lightscope.host_health ORDER BY name, host_id
            """).map { row in
            HostHealth(name: row[0] ?? "", hostID: row[1] ?? "", version: row[2] ?? "", lastSeen: row[3] ?? "",
                       heartbeatAgeSeconds: Double(row[4] ?? "") ?? 0, heartbeatIntervalSeconds: Double(row[5] ?? "") ?? 0,
                       eventsPending: int(row[6]), oldestPending: row[7], packetsSeen: int(row[8]), packetsDropped: int(row[9]),
                       restarts: int(row[10]), eventsLost: int(row[11]), silent: row[12] == "t", anonymisationKeyID: row[13])
        }
    }

    /// The sources that probed at least `minHosts` hosts in the last `windowSeconds`, most hosts first.
    public static func scanners(_ connection: PostgresConnection, windowSeconds: Double, minHosts: Int) throws(FleetError) -> [Scanner] {
        let time = FleetReader.rfc3339
        let verdicts = ["closed", "unanswered", "portscan", "addrscan"]
        return try FleetReader.query(connection, """
            SELECT src, hosts, events, array_to_string(dports, ','), to_char(first_seen AT TIME ZONE 'UTC', \(time)),
                to_char(last_seen AT TIME ZONE 'UTC', \(time)), \(verdicts.joined(separator: ", "))
            FROM lightscope.fleet_scanners_since(now() - make_interval(secs => $1)) WHERE hosts >= $2
            ORDER BY hosts DESC, events DESC, src
            """, [String(windowSeconds), String(minHosts)]).map { row in
            Scanner(source: row[0] ?? "", hosts: int(row[1]), events: int(row[2]),
                    destinationPorts: (row[3] ?? "").split(separator: ",").compactMap { Int($0) },
                    firstSeen: row[4] ?? "", lastSeen: row[5] ?? "",
                    verdicts: verdicts.enumerated().map { ($1, int(row[6 + $0])) }.filter { $0.1 > 0 })
        }
    }

    /// The ports probed on at least `minHosts` hosts by at least `minSources` sources.
    public static func distributedScans(_ connection: PostgresConnection, windowSeconds: Double, minHosts: Int,
                                        minSources: Int) throws(FleetError) -> [DistributedScan] {
        let time = FleetReader.rfc3339
        return try FleetReader.query(connection, """
            SELECT proto, dport, hosts, sources, events, to_char(first_seen AT TIME ZONE 'UTC', \(time)),
                to_char(last_seen AT TIME ZONE 'UTC', \(time))
            FROM lightscope.fleet_distributed_scans_since(now() - make_interval(secs => $1)) WHERE hosts >= $2 AND sources >= $3
            ORDER BY hosts DESC, sources DESC, proto, dport
            """, [String(windowSeconds), String(minHosts), String(minSources)]).map { row in
            DistributedScan(proto: row[0] ?? "", destinationPort: Int(row[1] ?? "") ?? 0, hosts: int(row[2]), sources: int(row[3]),
                            events: int(row[4]), firstSeen: row[5] ?? "", lastSeen: row[6] ?? "")
        }
    }

    /// The sources of backscatter events in the last `windowSeconds` (`fleet_backscatter_victims`):
    /// victims of attacks that forged a fleet host's address, never to be blocked.
    public static func backscatterVictims(_ connection: PostgresConnection, windowSeconds: Double) throws(FleetError) -> [String] {
        try FleetReader.query(connection, """
            SELECT src FROM lightscope.fleet_backscatter_victims_since(now() - make_interval(secs => $1)) ORDER BY src
            """, [String(windowSeconds)]).compactMap { $0[0] }
    }

    /// Every fleet host's own addresses from its last heartbeat, with the host's name: a
    /// fleet blocklist must never list them, whatever a spoofed packet claimed.
    public static func hostAddresses(_ connection: PostgresConnection) throws(FleetError) -> [(address: String, host: String)] {
        try FleetReader.query(connection, "SELECT unnest(addresses), name FROM lightscope.host_health ORDER BY 2, 1").map { row in
            (row[0] ?? "", row[1] ?? "")
        }
    }

    private static func int(_ text: String?) -> Int64 { Int64(text ?? "") ?? 0 }
}
