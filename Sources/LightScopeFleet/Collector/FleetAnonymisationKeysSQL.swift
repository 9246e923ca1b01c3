/// The migration that keeps the fleet from correlating pseudonyms of different keys. With
/// `anonymise = both`, a source's pseudonym depends on the host's key: hosts with keys of their
/// own give one scanner as many pseudonyms, and counting hosts per source silently finds
/// nothing. So each host reports, with its heartbeat, which key its source pseudonyms were made
/// with (`AddressAnonymiser.sourceKeyIdentifier`: a keyed fingerprint, never the key), and
/// whatever counts sources across hosts first calls `require_one_anonymisation_key`.
///
/// Every statement can run again (IF NOT EXISTS, OR REPLACE): tests roll a collector back to an
/// older version by deleting its rows of `schema_migrations`.
enum FleetAnonymisationKeysSQL {
    /// The SQLSTATE `require_one_anonymisation_key` raises; the read commands turn it into
    /// their own exit status.
    static let conflictState = "LSK01"

    /// What to do about it, for psql's HINT and the command line's error alike.
    static let conflictFix = "install one fleet-wide key on every host that anonymises sources ([store] anonymisation_key; fleet.md, One anonymisation key for the fleet), and the same [store] anonymise on all of them"

    private static let heartbeatParameters = """
        p_host_id uuid, p_name text, p_version text, p_store_id bigint,
                p_interval_seconds double precision, p_uptime_seconds double precision, p_restarts bigint,
                p_packets_seen bigint, p_packets_dropped bigint, p_events_pending bigint, p_oldest_pending timestamptz,
                p_events_lost bigint, p_addresses text[]
        """
    private static let heartbeatTypes = """
        uuid, text, text, bigint, double precision, double precision, bigint, bigint, bigint, bigint, timestamptz, bigint, text[]
        """

    static let migration = """
        -- NULL: the host's LightScope predates the column, its key is unknown; '': its sources are
        -- stored in the clear; else 16 hex digits that name the key of its source pseudonyms.
        ALTER TABLE lightscope.hosts ADD COLUMN IF NOT EXISTS anonymisation_key_id text
            CHECK (anonymisation_key_id ~ '^([0-9a-f]{16})?$');

        CREATE OR REPLACE FUNCTION lightscope.host_heartbeat(\(heartbeatParameters), p_anonymisation_key_id text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, lightscope AS $$
        BEGIN
            PERFORM lightscope.bind_host(p_host_id);
            INSERT INTO lightscope.hosts AS h (host_id, name, role_name, version, store_id, last_seen, heartbeat_interval,
                    capture_uptime, restarts, packets_seen, packets_dropped, events_pending, oldest_pending, events_lost, addresses,
                    anonymisation_key_id)
                VALUES (p_host_id, p_name, session_user, p_version, p_store_id, now(), make_interval(secs => p_interval_seconds),
                    make_interval(secs => p_uptime_seconds), p_restarts, p_packets_seen, p_packets_dropped, p_events_pending,
                    p_oldest_pending, p_events_lost, p_addresses, p_anonymisation_key_id)
            ON CONFLICT (host_id) DO UPDATE SET name = excluded.name, role_name = excluded.role_name,
                version = excluded.version, store_id = excluded.store_id, last_seen = excluded.last_seen,
                heartbeat_interval = excluded.heartbeat_interval, capture_uptime = excluded.capture_uptime,
                restarts = excluded.restarts, packets_seen = excluded.packets_seen, packets_dropped = excluded.packets_dropped,
                events_pending = excluded.events_pending, oldest_pending = excluded.oldest_pending,
                events_lost = excluded.events_lost, addresses = excluded.addresses,
                anonymisation_key_id = excluded.anonymisation_key_id;
        END $$;
        REVOKE ALL ON FUNCTION lightscope.host_heartbeat(\(heartbeatTypes), text) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION lightscope.host_heartbeat(\(heartbeatTypes), text) TO lightscope_host;

        -- Hosts of earlier versions call the old signature: their key is unknown again.
        CREATE OR REPLACE FUNCTION lightscope.host_heartbeat(\(heartbeatParameters)) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, lightscope AS $$
        BEGIN
            PERFORM lightscope.host_heartbeat(p_host_id, p_name, p_version, p_store_id, p_interval_seconds, p_uptime_seconds,
                p_restarts, p_packets_seen, p_packets_dropped, p_events_pending, p_oldest_pending, p_events_lost, p_addresses,
                NULL::text);
        END $$;

        -- NULL when the hosts that beat since p_since made their source pseudonyms with one key
        -- (or all keep sources in the clear); else who used which, e.g.
        -- 'key 3f2a9c0d11e4b7a5: web1, web2; sources in the clear: web3'. Hosts of unknown key are left out.
        CREATE OR REPLACE FUNCTION lightscope.anonymisation_key_conflict(p_since timestamptz) RETURNS text
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            SELECT CASE WHEN count(*) > 1 THEN string_agg(g.label || ': ' || g.names, '; ' ORDER BY g.label) END
            FROM (SELECT CASE WHEN h.anonymisation_key_id = '' THEN 'sources in the clear' ELSE 'key ' || h.anonymisation_key_id END AS label,
                        string_agg(h.name, ', ' ORDER BY h.name) AS names
                  FROM lightscope.hosts h WHERE h.anonymisation_key_id IS NOT NULL AND h.last_seen >= p_since GROUP BY 1) AS g
        $$;

        CREATE OR REPLACE FUNCTION lightscope.require_one_anonymisation_key(p_since timestamptz) RETURNS void
        LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
        DECLARE conflict text := lightscope.anonymisation_key_conflict(p_since);
        BEGIN
            IF conflict IS NOT NULL THEN
                RAISE EXCEPTION 'the fleet hosts made their source pseudonyms with different anonymisation keys (%), so one scanner has another pseudonym on each: refusing to correlate sources across them', conflict
                    USING ERRCODE = '\(conflictState)', HINT = '\(conflictFix)';
            END IF;
        END $$;

        -- The views that count sources across hosts refuse, as the commands do (and leave backscatter out).
        CREATE OR REPLACE FUNCTION lightscope.fleet_scanners_since(p_since timestamptz)
        RETURNS TABLE (\(FleetViewsSQL.scannersColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            SELECT lightscope.require_one_anonymisation_key(p_since);
            \(FleetBackscatterSQL.scannersQuery)
        $$;
        CREATE OR REPLACE FUNCTION lightscope.fleet_distributed_scans_since(p_since timestamptz)
        RETURNS TABLE (\(FleetViewsSQL.distributedScansColumns))
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, lightscope AS $$
            SELECT lightscope.require_one_anonymisation_key(p_since);
            \(FleetBackscatterSQL.distributedScansQuery)
        $$;

        CREATE OR REPLACE VIEW lightscope.host_health AS
            SELECT host_id, name, version, last_seen, now() - last_seen AS heartbeat_age, heartbeat_interval,
                events_pending, oldest_pending, packets_seen, packets_dropped, restarts, events_lost, capture_uptime, addresses,
                now() - last_seen > \(FleetSchema.silentAfterIntervals) * heartbeat_interval AS silent, anonymisation_key_id
            FROM lightscope.hosts;

        REVOKE ALL ON FUNCTION lightscope.anonymisation_key_conflict(timestamptz),
            lightscope.require_one_anonymisation_key(timestamptz) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION lightscope.anonymisation_key_conflict(timestamptz),
            lightscope.require_one_anonymisation_key(timestamptz) TO lightscope_reader;

        """
}
