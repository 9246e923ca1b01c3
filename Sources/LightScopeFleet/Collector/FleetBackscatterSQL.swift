/// The collector migration for backscatter: each event's `answer`, and the fleet views that
/// must not take a backscatter victim for a scanner.
///
/// A backscatter event's source is the victim of an attack that forged a fleet host's address:
/// it never probed anyone. So the scanner and distributed-scan functions leave those events
/// out (replaced in place: same signatures, so the views on them and their grants stay), and
/// `fleet_backscatter_victims` lists the victims, which `lightscope fleet blocklist` keeps off
/// its list whatever else they did.
enum FleetBackscatterSQL {
    /// `FleetViewsSQL`'s queries without backscatter, which a later migration
    /// (FleetAnonymisationKeysSQL) restates around its check.
    static let scannersQuery = """
        SELECT e.src, count(DISTINCT e.host_id), count(*),
                        coalesce(array_agg(DISTINCT e.dport ORDER BY e.dport) FILTER (WHERE e.dport IS NOT NULL), '{}'),
                        min(e.time), max(e.time),
                        count(*) FILTER (WHERE e.verdict = 'closed'), count(*) FILTER (WHERE e.verdict = 'unanswered'),
                        count(*) FILTER (WHERE e.verdict = 'portscan'), count(*) FILTER (WHERE e.verdict = 'addrscan')
                    FROM lightscope.events e WHERE e.time >= p_since AND e.verdict <> 'backscatter' GROUP BY e.src
        """
    static let distributedScansQuery = """
        SELECT e.proto, e.dport, count(DISTINCT e.host_id), count(DISTINCT e.src), count(*), min(e.time), max(e.time)
                    FROM lightscope.events e
                    WHERE e.time >= p_since AND e.dport IS NOT NULL AND e.verdict <> 'backscatter' GROUP BY e.proto, e.dport
        """

    static let migration = """
        -- Nullable: no rewrite of a partition; rows shipped before it have no answer, as on the host.
        ALTER TABLE lightscope.events ADD COLUMN answer text;

        CREATE OR REPLACE FUNCTION lightscope.fleet_scanners_since(p_since timestamptz)
        RETURNS TABLE (\(FleetViewsSQL.scannersColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            \(scannersQuery)
        $$;

        CREATE OR REPLACE FUNCTION lightscope.fleet_distributed_scans_since(p_since timestamptz)
        RETURNS TABLE (\(FleetViewsSQL.distributedScansColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            \(distributedScansQuery)
        $$;

        -- Per victim: the fleet hosts whose address its attacker forged, and the answers they received.
        CREATE FUNCTION lightscope.fleet_backscatter_victims_since(p_since timestamptz)
        RETURNS TABLE (src text, hosts bigint, events bigint, packets numeric, first_seen timestamptz, last_seen timestamptz)
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            SELECT e.src, count(DISTINCT e.host_id), count(*), sum(e.packets), min(e.time), max(e.time)
            FROM lightscope.events e WHERE e.time >= p_since AND e.verdict = 'backscatter' GROUP BY e.src
        $$;
        CREATE VIEW lightscope.fleet_backscatter_victims AS
            SELECT * FROM lightscope.fleet_backscatter_victims_since(now() - interval '\(FleetViewsSQL.viewWindowHours) hours');

        REVOKE ALL ON FUNCTION lightscope.fleet_backscatter_victims_since(timestamptz) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION lightscope.fleet_backscatter_victims_since(timestamptz) TO lightscope_reader;
        REVOKE ALL ON lightscope.fleet_backscatter_victims FROM lightscope_host;
        GRANT SELECT ON lightscope.fleet_backscatter_victims TO lightscope_reader;

        """
}
