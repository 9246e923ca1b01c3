import LightScopeCore
import LightScopeSystem

/// The collector's read side, for `lightscope fleet status`, `scanners`, `blocklist`, `events`
/// and `top`: a connection as a reader role, checked against the schema versions this
/// LightScope knows, and the fleet views queried through it.
public enum FleetReader {
    /// How long a read command waits for the collector to answer a connection.
    public static let connectTimeout: Duration = .seconds(10)
    /// How long one query of a read command may take.
    public static let queryTimeout: Duration = .seconds(120)

    /// Times as `lightscope events --json` writes them.
    static let rfc3339 = #"'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"#

    public static func connect(url: String) throws(FleetError) -> PostgresConnection {
        let connection = try FleetCollector.connect(
            url: url, environment: [:], timeout: connectTimeout,
            fix: "check --url (or [fleet] url), and that PostgreSQL runs there and lets this machine in (pg_hba.conf)")
        try checkSchema(connection)
        return connection
    }

    /// The read commands need the views of `FleetSchema.viewsVersion`, and refuse a schema newer
    /// than this LightScope knows: its views may mean something else.
    static func checkSchema(_ connection: PostgresConnection) throws(FleetError) {
        let version: Int
        do {
            let text = try connection.execute("SELECT coalesce(max(version), 0) FROM lightscope.schema_migrations", [],
                                              deadlineNanos: MonotonicClock.nowNanos() + UInt64(queryTimeout.nanoseconds)).first?.rows.first?[0]
            version = Int(text ?? "0") ?? 0
        } catch where error.sqlState == "42P01" || error.sqlState == "3F000" {
            throw FleetError("the collector's database has no LightScope schema: run lightscope fleet init --url ADMIN-URL on the collector")
        } catch {
            throw FleetError(refusal(error))
        }
        if version < FleetSchema.viewsVersion {
            throw FleetError("the collector's schema is version \(version), older than the fleet views need (\(FleetSchema.viewsVersion)): run lightscope fleet init --url ADMIN-URL on the collector to upgrade it")
        }
        if version > FleetSchema.latestVersion {
            throw FleetError("the collector's schema is version \(version), newer than this LightScope \(LightScopeVersion.current) understands (up to \(FleetSchema.latestVersion)): upgrade LightScope on this machine")
        }
    }

    /// Rows of `sql` as text; a refusal by the server becomes an error that names the fix.
    static func query(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?] = []) throws(FleetError) -> [[String?]] {
        do {
            return try connection.execute(sql, parameters, deadlineNanos: MonotonicClock.nowNanos() + UInt64(queryTimeout.nanoseconds))
                .first?.rows ?? []
        } catch where error.sqlState == FleetAnonymisationKeysSQL.conflictState {
            throw FleetError("\(error.message); \(FleetAnonymisationKeysSQL.conflictFix)", isAnonymisationKeyConflict: true)
        } catch {
            throw FleetError(refusal(error))
        }
    }

    /// Refuses, as the views do, to count sources across hosts whose pseudonyms were made with
    /// different keys (hosts that beat in the last `windowSeconds`).
    public static func requireOneAnonymisationKey(_ connection: PostgresConnection, windowSeconds: Double) throws(FleetError) {
        _ = try query(connection, "SELECT lightscope.require_one_anonymisation_key(now() - make_interval(secs => $1))",
                      [String(windowSeconds)])
    }

    /// The hosts that beat in the last `windowSeconds` without naming their key (a LightScope
    /// older than the key id): the check above cannot include them.
    public static func hostsOfUnknownKey(_ connection: PostgresConnection, windowSeconds: Double) throws(FleetError) -> [String] {
        try query(connection, """
            SELECT name FROM lightscope.hosts
            WHERE anonymisation_key_id IS NULL AND last_seen >= now() - make_interval(secs => $1) ORDER BY name
            """, [String(windowSeconds)]).map { $0[0] ?? "" }
    }

    /// Per host, the aggregate events in the last `windowSeconds` that reached the collector
    /// before it kept their count (schema `FleetSchema.aggregatesVersion`; since then they are
    /// refused): each counts as one event, so the counts over them are low. Asked only while
    /// the migration is younger than the window and a day, so it costs nothing afterwards.
    public static func uncountedAggregates(_ connection: PostgresConnection,
                                           windowSeconds: Double) throws(FleetError) -> [(host: String, events: Int64)] {
        try query(connection, """
            WITH migrated AS (SELECT applied_at FROM lightscope.schema_migrations WHERE version = $2)
            SELECT \(FleetEvents.hostName), count(*) FROM \(FleetEvents.joined)
            WHERE (SELECT applied_at FROM migrated) > now() - make_interval(secs => $1) - interval '1 day'
              AND e.time >= now() - make_interval(secs => $1) AND e.received < (SELECT applied_at FROM migrated)
              AND e.samples IS NULL AND strpos(e.src, '/') > 0
            GROUP BY 1 ORDER BY 1
            """, [String(windowSeconds), String(FleetSchema.aggregatesVersion)]).map { ($0[0] ?? "", Int64($0[1] ?? "") ?? 0) }
    }

    private static func refusal(_ error: PostgresError) -> String {
        if error.sqlState == "42501" {
            return "this role may not read the fleet views (\(error.message)): use a reader's URL (lightscope fleet add-reader NAME --url ADMIN-URL on the collector)"
        }
        return "the collector refused a query: \(error.message)"
    }
}
