/// The collector's schema, as versioned migrations that `lightscope fleet init` applies in order,
/// each once (recorded in `lightscope.schema_migrations`), each in its own transaction. Never
/// edit a migration that has shipped: add the next one.
///
/// Choices that later scale-out depends on: the host id leads every key (a distribution
/// column), no foreign key crosses hosts, and `events` is partitioned by day so that retention
/// is a partition drop.
public enum FleetSchema {
    public struct Migration: Sendable {
        public var version: Int
        public var description: String
        public var sql: String
    }

    /// The lowest schema version this LightScope can ship to: the one that added `aggregated`
    /// and `samples`, which its batches carry (and `answer`, `tcp_flags` and `tool` before them).
    public static let requiredVersion = aggregatesVersion

    /// The migration that added each event's `tcp_flags`: the one place its number is written.
    public static let tcpFlagsVersion = 4
    /// The migration that added each event's `answer` and kept backscatter victims out of the
    /// scanner views: the one place its number is written.
    public static let backscatterVersion = 5

    /// The lowest schema version the read commands (`fleet status`, `scanners`, `blocklist`)
    /// can query: the one whose views count an aggregate as its events (and, before it, refuse
    /// to correlate pseudonyms of different keys and leave backscatter out).
    public static let viewsVersion = aggregatesVersion

    /// The version that records each host's anonymisation key id. A shipper sends its key id
    /// to a collector of this version or later, and to an older one the heartbeat without it.
    public static let anonymisationKeysVersion = 6

    /// The version that added each event's `aggregated` count and `samples` (a flood's aggregate
    /// events) and counts them in the views: the one place its number is written.
    public static let aggregatesVersion = 7

    public static var latestVersion: Int { migrations.last!.version }

    /// A host is silent, not merely quiet, once its last heartbeat is older than this many of
    /// its own heartbeat intervals.
    public static let silentAfterIntervals = 3

    /// Created before any migration, so that the applied versions can be read.
    static let bookkeeping = """
        CREATE SCHEMA IF NOT EXISTS lightscope;
        CREATE TABLE IF NOT EXISTS lightscope.schema_migrations (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        """

    public static let migrations: [Migration] = [
        Migration(version: 1, description: "events by day, hosts, per-host roles with row-level security",
                  sql: initialTables + initialSecurity + FleetMaintenanceSQL.function),
        Migration(version: 2, description: "the tool that sent each event's probe", sql: eventTool),
        Migration(version: 3, description: "fleet views: scanners, distributed scans, host health",
                  sql: FleetViewsSQL.migration),
        Migration(version: tcpFlagsVersion, description: "the TCP flags of each event's probe", sql: eventTCPFlags),
        Migration(version: backscatterVersion,
                  description: "backscatter: each event's answer, victims kept out of the scanner views",
                  sql: FleetBackscatterSQL.migration),
        Migration(version: anonymisationKeysVersion, description: "each host's anonymisation key id; no correlation across keys",
                  sql: FleetAnonymisationKeysSQL.migration),
        Migration(version: aggregatesVersion, description: "each event's aggregated count and samples, counted in the views",
                  sql: FleetAggregatesSQL.migration),
    ]

    /// No default: rows shipped before it have no flags (NULL), as on the host. No index, for
    /// the reason `eventTool` gives.
    private static let eventTCPFlags = """
        ALTER TABLE lightscope.events ADD COLUMN tcp_flags text;

        """

    /// A constant default: PostgreSQL adds the column without rewriting a partition, and rows
    /// shipped before it read as `unknown`, as on the host. No index: each one costs every
    /// insert, and a tool is looked for within a time range, which events_time serves.
    private static let eventTool = """
        ALTER TABLE lightscope.events ADD COLUMN tool text NOT NULL DEFAULT 'unknown';

        """

    private static let initialTables = """
        DO $$ BEGIN CREATE ROLE lightscope_host NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        DO $$ BEGIN CREATE ROLE lightscope_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;

        -- One row per event of every host. (host_id, store_id, event_id) names an event for good;
        -- a key on a partitioned table must include the partition key, hence time.
        CREATE TABLE lightscope.events (
            host_id uuid NOT NULL,
            store_id bigint NOT NULL,
            event_id bigint NOT NULL,
            time timestamptz NOT NULL,
            interface text NOT NULL,
            proto text NOT NULL,
            src text NOT NULL,
            sport integer,
            dst text,
            dport integer,
            verdict text NOT NULL,
            packets bigint NOT NULL,
            ttl smallint,
            "window" integer,
            tcp_options text,
            ports integer,
            addresses integer,
            received timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (host_id, store_id, event_id, time)
        ) PARTITION BY RANGE (time);
        -- Rows from hosts with wrong clocks, outside every daily partition; fleet maintain moves
        -- them into a day's partition when it creates one.
        CREATE TABLE lightscope.events_default PARTITION OF lightscope.events DEFAULT;
        CREATE INDEX events_time ON lightscope.events (time);
        CREATE INDEX events_src ON lightscope.events (src, time);
        CREATE INDEX events_dport ON lightscope.events (dport, time);

        -- Which host id each host role may write; NULL until the role first ships.
        CREATE TABLE lightscope.host_roles (
            role_name name PRIMARY KEY,
            host_id uuid UNIQUE,
            host_name text NOT NULL,
            created timestamptz NOT NULL DEFAULT now()
        );

        -- Each host's heartbeat: a silent host is told from a quiet one by last_seen.
        CREATE TABLE lightscope.hosts (
            host_id uuid PRIMARY KEY,
            name text NOT NULL,
            role_name name NOT NULL,
            version text NOT NULL,
            store_id bigint NOT NULL,
            first_seen timestamptz NOT NULL DEFAULT now(),
            last_seen timestamptz NOT NULL,
            heartbeat_interval interval NOT NULL,
            capture_uptime interval NOT NULL,
            restarts bigint NOT NULL,
            packets_seen bigint NOT NULL,
            packets_dropped bigint NOT NULL,
            events_pending bigint NOT NULL,
            oldest_pending timestamptz,
            events_lost bigint NOT NULL,
            addresses text[] NOT NULL
        );

        """

    private static let initialSecurity = """
        -- A host role inserts events of its own host id only (row-level security; a direct insert
        -- into a partition is refused: privileges are granted on the parent alone).
        ALTER TABLE lightscope.events ENABLE ROW LEVEL SECURITY;
        CREATE POLICY host_inserts_its_own ON lightscope.events FOR INSERT TO lightscope_host
            WITH CHECK (host_id = (SELECT r.host_id FROM lightscope.host_roles r WHERE r.role_name = current_user));
        CREATE POLICY reader_reads_all ON lightscope.events FOR SELECT TO lightscope_reader USING (true);
        ALTER TABLE lightscope.host_roles ENABLE ROW LEVEL SECURITY;
        CREATE POLICY host_sees_its_binding ON lightscope.host_roles FOR SELECT TO lightscope_host
            USING (role_name = current_user);
        CREATE POLICY reader_reads_all ON lightscope.host_roles FOR SELECT TO lightscope_reader USING (true);
        ALTER TABLE lightscope.hosts ENABLE ROW LEVEL SECURITY;
        CREATE POLICY reader_reads_all ON lightscope.hosts FOR SELECT TO lightscope_reader USING (true);

        -- Binds the calling role to a host id the first time it ships (add-host --host-id binds it
        -- ahead); afterwards only that id is accepted.
        CREATE FUNCTION lightscope.bind_host(p_host_id uuid) RETURNS uuid
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, lightscope AS $$
        DECLARE bound uuid;
        BEGIN
            UPDATE lightscope.host_roles SET host_id = p_host_id WHERE role_name = session_user AND host_id IS NULL;
            SELECT host_id INTO bound FROM lightscope.host_roles WHERE role_name = session_user;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'role % is not a LightScope host role', session_user
                    USING ERRCODE = '42501', HINT = 'create one with lightscope fleet add-host';
            END IF;
            IF bound <> p_host_id THEN
                RAISE EXCEPTION 'role % is bound to host id %, not to this host (%)', session_user, bound, p_host_id
                    USING ERRCODE = '42501', HINT = 'each host needs its own role: lightscope fleet add-host NAME --host-id (lightscope fleet host-id)';
            END IF;
            RETURN bound;
        END $$;

        -- The host's heartbeat row, upserted for its own host id only.
        CREATE FUNCTION lightscope.host_heartbeat(p_host_id uuid, p_name text, p_version text, p_store_id bigint,
                p_interval_seconds double precision, p_uptime_seconds double precision, p_restarts bigint,
                p_packets_seen bigint, p_packets_dropped bigint, p_events_pending bigint, p_oldest_pending timestamptz,
                p_events_lost bigint, p_addresses text[]) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, lightscope AS $$
        BEGIN
            PERFORM lightscope.bind_host(p_host_id);
            INSERT INTO lightscope.hosts AS h (host_id, name, role_name, version, store_id, last_seen, heartbeat_interval,
                    capture_uptime, restarts, packets_seen, packets_dropped, events_pending, oldest_pending, events_lost, addresses)
                VALUES (p_host_id, p_name, session_user, p_version, p_store_id, now(), make_interval(secs => p_interval_seconds),
                    make_interval(secs => p_uptime_seconds), p_restarts, p_packets_seen, p_packets_dropped, p_events_pending,
                    p_oldest_pending, p_events_lost, p_addresses)
            ON CONFLICT (host_id) DO UPDATE SET name = excluded.name, role_name = excluded.role_name,
                version = excluded.version, store_id = excluded.store_id, last_seen = excluded.last_seen,
                heartbeat_interval = excluded.heartbeat_interval, capture_uptime = excluded.capture_uptime,
                restarts = excluded.restarts, packets_seen = excluded.packets_seen, packets_dropped = excluded.packets_dropped,
                events_pending = excluded.events_pending, oldest_pending = excluded.oldest_pending,
                events_lost = excluded.events_lost, addresses = excluded.addresses;
        END $$;

        REVOKE ALL ON FUNCTION lightscope.bind_host(uuid) FROM PUBLIC;
        REVOKE ALL ON FUNCTION lightscope.host_heartbeat(uuid, text, text, bigint, double precision, double precision,
            bigint, bigint, bigint, bigint, timestamptz, bigint, text[]) FROM PUBLIC;
        GRANT USAGE ON SCHEMA lightscope TO lightscope_host, lightscope_reader;
        GRANT INSERT ON lightscope.events TO lightscope_host;
        GRANT SELECT ON lightscope.host_roles, lightscope.schema_migrations TO lightscope_host;
        GRANT EXECUTE ON FUNCTION lightscope.bind_host(uuid) TO lightscope_host;
        GRANT EXECUTE ON FUNCTION lightscope.host_heartbeat(uuid, text, text, bigint, double precision, double precision,
            bigint, bigint, bigint, bigint, timestamptz, bigint, text[]) TO lightscope_host;
        GRANT SELECT ON ALL TABLES IN SCHEMA lightscope TO lightscope_reader;
        ALTER DEFAULT PRIVILEGES IN SCHEMA lightscope GRANT SELECT ON TABLES TO lightscope_reader;

        """
}
