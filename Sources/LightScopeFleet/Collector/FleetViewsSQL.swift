/// Migration 2: the fleet's questions as plain SQL, so that psql and Grafana users get the
/// answers the `lightscope fleet` commands print. Each windowed view has a function that
/// takes the window's start (`…_since`); the view itself covers the last `viewWindowHours`.
/// The functions run with the caller's rights, so a host role reads nothing through them.
enum FleetViewsSQL {
    /// The window of `fleet_scanners` and `fleet_distributed_scans`.
    static let viewWindowHours = 24

    /// The functions' columns and queries, which later migrations restate: FleetBackscatterSQL
    /// without backscatter, FleetAnonymisationKeysSQL around its check.
    static let scannersColumns = """
        src text, hosts bigint, events bigint, dports integer[], first_seen timestamptz, last_seen timestamptz,
                    closed bigint, unanswered bigint, portscan bigint, addrscan bigint
        """
    static let scannersQuery = """
        SELECT e.src, count(DISTINCT e.host_id), count(*),
                        coalesce(array_agg(DISTINCT e.dport ORDER BY e.dport) FILTER (WHERE e.dport IS NOT NULL), '{}'),
                        min(e.time), max(e.time),
                        count(*) FILTER (WHERE e.verdict = 'closed'), count(*) FILTER (WHERE e.verdict = 'unanswered'),
                        count(*) FILTER (WHERE e.verdict = 'portscan'), count(*) FILTER (WHERE e.verdict = 'addrscan')
                    FROM lightscope.events e WHERE e.time >= p_since GROUP BY e.src
        """
    static let distributedScansColumns = """
        proto text, dport integer, hosts bigint, sources bigint, events bigint, first_seen timestamptz, last_seen timestamptz
        """
    static let distributedScansQuery = """
        SELECT e.proto, e.dport, count(DISTINCT e.host_id), count(DISTINCT e.src), count(*), min(e.time), max(e.time)
                    FROM lightscope.events e WHERE e.time >= p_since AND e.dport IS NOT NULL GROUP BY e.proto, e.dport
        """

    static let migration = """
        -- Per source: how many fleet hosts it probed, which ports, when, and the hosts' verdicts.
        CREATE FUNCTION lightscope.fleet_scanners_since(p_since timestamptz)
        RETURNS TABLE (\(scannersColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            \(scannersQuery)
        $$;
        CREATE VIEW lightscope.fleet_scanners AS
            SELECT * FROM lightscope.fleet_scanners_since(now() - interval '\(viewWindowHours) hours');

        -- Per port: the distributed scan, one port probed on many hosts by many sources.
        CREATE FUNCTION lightscope.fleet_distributed_scans_since(p_since timestamptz)
        RETURNS TABLE (\(distributedScansColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            \(distributedScansQuery)
        $$;
        CREATE VIEW lightscope.fleet_distributed_scans AS
            SELECT * FROM lightscope.fleet_distributed_scans_since(now() - interval '\(viewWindowHours) hours');

        -- Per host, from its heartbeat: silent (no heartbeat for \(FleetSchema.silentAfterIntervals) intervals) or quiet.
        CREATE VIEW lightscope.host_health AS
            SELECT host_id, name, version, last_seen, now() - last_seen AS heartbeat_age, heartbeat_interval,
                events_pending, oldest_pending, packets_seen, packets_dropped, restarts, events_lost, capture_uptime, addresses,
                now() - last_seen > \(FleetSchema.silentAfterIntervals) * heartbeat_interval AS silent
            FROM lightscope.hosts;

        REVOKE ALL ON FUNCTION lightscope.fleet_scanners_since(timestamptz), lightscope.fleet_distributed_scans_since(timestamptz) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION lightscope.fleet_scanners_since(timestamptz), lightscope.fleet_distributed_scans_since(timestamptz)
            TO lightscope_reader;
        REVOKE ALL ON lightscope.fleet_scanners, lightscope.fleet_distributed_scans, lightscope.host_health FROM lightscope_host;
        GRANT SELECT ON lightscope.fleet_scanners, lightscope.fleet_distributed_scans, lightscope.host_health TO lightscope_reader;

        """
}
