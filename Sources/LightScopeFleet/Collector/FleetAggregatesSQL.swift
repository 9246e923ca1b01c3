/// The collector migration for a flood's aggregate events (docs/store.md, "Aggregation"): one
/// row that stands for many events of one port, source network and minute. Each row carries
/// how many events it stands for (`aggregated`, 1 for an event) and an aggregate its sample
/// sources, and every view counts a row as its events, never as one.
///
/// Per source, an aggregate stays what the host stored: its network (`203.0.113.0/24`, or a
/// pseudonym with the prefix length) is a source of its own with all its events, as
/// `lightscope top --by source` shows it on the host. Its samples are only some of the
/// sources behind it, whose shares of the count are unknown, so no count is moved to them.
///
/// Every statement can run again (IF NOT EXISTS, OR REPLACE): tests roll a collector back to an
/// older version by deleting its rows of `schema_migrations`.
enum FleetAggregatesSQL {
    /// The SQLSTATE with which the collector refuses an aggregate sent without its count.
    static let uncountedAggregateState = "LSK02"

    /// The views' queries, each row counted as the events it stands for.
    static let scannersQuery = """
        SELECT e.src, count(DISTINCT e.host_id), sum(e.aggregated),
                        coalesce(array_agg(DISTINCT e.dport ORDER BY e.dport) FILTER (WHERE e.dport IS NOT NULL), '{}'),
                        min(e.time), max(e.time),
                        coalesce(sum(e.aggregated) FILTER (WHERE e.verdict = 'closed'), 0),
                        coalesce(sum(e.aggregated) FILTER (WHERE e.verdict = 'unanswered'), 0),
                        coalesce(sum(e.aggregated) FILTER (WHERE e.verdict = 'portscan'), 0),
                        coalesce(sum(e.aggregated) FILTER (WHERE e.verdict = 'addrscan'), 0)
                    FROM lightscope.events e WHERE e.time >= p_since AND e.verdict <> 'backscatter' GROUP BY e.src
        """
    static let distributedScansQuery = """
        SELECT e.proto, e.dport, count(DISTINCT e.host_id), count(DISTINCT e.src), sum(e.aggregated), min(e.time), max(e.time)
                    FROM lightscope.events e
                    WHERE e.time >= p_since AND e.dport IS NOT NULL AND e.verdict <> 'backscatter' GROUP BY e.proto, e.dport
        """
    static let backscatterVictimsQuery = """
        SELECT e.src, count(DISTINCT e.host_id), sum(e.aggregated), sum(e.packets), min(e.time), max(e.time)
                    FROM lightscope.events e WHERE e.time >= p_since AND e.verdict = 'backscatter' GROUP BY e.src
        """

    static let migration = """
        -- How many events each row stands for: 1 for an event, the count of an aggregate (whose src is
        -- then a network). A constant default rewrites no partition; rows shipped before it count 1.
        ALTER TABLE lightscope.events ADD COLUMN IF NOT EXISTS aggregated integer NOT NULL DEFAULT 1;
        -- An aggregate's first distinct sources (up to 4), anonymised as src is; NULL for an event.
        ALTER TABLE lightscope.events ADD COLUMN IF NOT EXISTS samples text[];

        -- A host whose LightScope predates these columns sends an aggregate without its count, as
        -- one event: refuse it (with its batch, which stays in the host's store) rather than count
        -- it as one. Only such rows call the function: a new host's aggregate has samples.
        CREATE OR REPLACE FUNCTION lightscope.refuse_uncounted_aggregate() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, lightscope AS $$
        BEGIN
            RAISE EXCEPTION 'event % of host % (source %) is an aggregate of a flood''s events sent without how many events it stands for: the host''s LightScope is older than the collector''s schema (version \(FleetSchema.aggregatesVersion)): upgrade LightScope on this host; its events wait in its local store until then', NEW.event_id, NEW.host_id, NEW.src
                USING ERRCODE = '\(uncountedAggregateState)', HINT = 'upgrade LightScope on this host';
        END $$;
        DROP TRIGGER IF EXISTS events_aggregates_have_counts ON lightscope.events;
        CREATE TRIGGER events_aggregates_have_counts BEFORE INSERT ON lightscope.events
            FOR EACH ROW WHEN (NEW.samples IS NULL AND strpos(NEW.src, '/') > 0)
            EXECUTE FUNCTION lightscope.refuse_uncounted_aggregate();

        CREATE OR REPLACE FUNCTION lightscope.fleet_scanners_since(p_since timestamptz)
        RETURNS TABLE (\(FleetViewsSQL.scannersColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            SELECT lightscope.require_one_anonymisation_key(p_since);
            \(scannersQuery)
        $$;
        CREATE OR REPLACE FUNCTION lightscope.fleet_distributed_scans_since(p_since timestamptz)
        RETURNS TABLE (\(FleetViewsSQL.distributedScansColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            SELECT lightscope.require_one_anonymisation_key(p_since);
            \(distributedScansQuery)
        $$;
        CREATE OR REPLACE FUNCTION lightscope.fleet_backscatter_victims_since(p_since timestamptz)
        RETURNS TABLE (src text, hosts bigint, events bigint, packets numeric, first_seen timestamptz, last_seen timestamptz)
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            \(backscatterVictimsQuery)
        $$;

        """
}
