import LightScopeCore
import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// The fleet commands' work on the collector: apply the schema (`init`), keep its partitions
/// (`maintain`), and create roles (`add-host`, `add-reader`). Each takes an admin connection.
public enum FleetCollector {
    /// How long one command may wait for the collector.
    public static let commandTimeout: Duration = .seconds(120)

    /// - Parameter fix: said after the reason when the collector cannot be reached.
    public static func connect(url: String, environment: [String: String], timeout: Duration = commandTimeout,
                               fix: String? = nil) throws(FleetError) -> PostgresConnection {
        let parameters = try ConnectionParameters(url: url)
        let deadline = MonotonicClock.nowNanos() + UInt64(timeout.nanoseconds)
        do {
            var keywords: [(String, String)] = [("dbname", url), ("application_name", "lightscope fleet")]
            if !parameters.namesToResolve.isEmpty {
                let addresses = try HostResolver.resolve(parameters.namesToResolve, deadlineNanos: deadline, waiter: .plain)
                keywords.append(("hostaddr", addresses.joined(separator: ",")))
            }
            return try PostgresConnection(parameters: keywords, deadlineNanos: deadline, waiter: .plain)
        } catch {
            throw FleetError("cannot connect to the collector at \(parameters.hostDescription): \(error.message)\(fix.map { "; \($0)" } ?? "")")
        }
    }

    /// Applies every migration the collector lacks, in order; returns the versions applied now.
    /// Safe to run again, and from two places at once (an advisory lock serialises them).
    public static func initialize(_ connection: PostgresConnection) throws(FleetError) -> [Int] {
        try run("apply the schema") { () throws(PostgresError) -> [Int] in
            try execute(connection, FleetSchema.bookkeeping)
            try execute(connection, "SELECT pg_advisory_lock(\(advisoryLock))")
            defer { _ = try? execute(connection, "SELECT pg_advisory_unlock(\(advisoryLock))") }
            let applied = Set(try execute(connection, "SELECT version FROM lightscope.schema_migrations")
                .first?.rows.compactMap { $0[0].flatMap { Int($0) } } ?? [])
            var now: [Int] = []
            for migration in FleetSchema.migrations where !applied.contains(migration.version) {
                do throws(PostgresError) {
                    try execute(connection, "BEGIN;\n\(migration.sql)\nINSERT INTO lightscope.schema_migrations (version, description) VALUES (\(migration.version), \(literal(migration.description)));\nCOMMIT;")
                } catch {
                    _ = try? execute(connection, "ROLLBACK")
                    throw PostgresError(error.kind, "migration \(migration.version) (\(migration.description)) failed, nothing of it was kept: \(error.message)", sqlState: error.sqlState)
                }
                now.append(migration.version)
            }
            return now
        }
    }

    /// `lightscope.maintain`: the partitions created, dropped and expired, one line each.
    public static func maintain(_ connection: PostgresConnection, daysAhead: Int, retentionDays: Int) throws(FleetError) -> [String] {
        try run("maintain the partitions") { () throws(PostgresError) -> [String] in
            let rows = try execute(connection, "SELECT action, partition_name, rows_moved FROM lightscope.maintain($1, $2)",
                                   [String(daysAhead), String(retentionDays)]).first?.rows ?? []
            return rows.map { row in
                let action = row[0] ?? "", name = row[1] ?? "", moved = row[2] ?? "0"
                switch action {
                case "created" where moved != "0": return "created \(name) (moved \(moved) rows from events_default)"
                case "expired": return "expired \(moved) rows from events_default"
                default: return "\(action) \(name)"
                }
            }
        }
    }

    /// The credentials printed once by `add-host` and `add-reader`.
    public struct Credentials: Sendable {
        public var role: String
        /// nil with certificate authentication.
        public var password: String?
        public var url: String
        /// With certificate authentication, the collector's `pg_hba.conf` line for the role.
        public var hbaLine: String?
    }

    public enum Authentication: String, Sendable, CaseIterable {
        case scram
        case cert
    }

    /// Creates the login role of one host, bound to `hostID` now or to the first id it ships with.
    public static func addHost(_ connection: PostgresConnection, name: String, hostID: HostID?, authentication: Authentication,
                               collector: String?, adminURL: String) throws(FleetError) -> Credentials {
        let role = try roleName(prefix: "lightscope_host_", name: name)
        let credentials = try createRole(connection, role: role, group: "lightscope_host", authentication: authentication,
                                         collector: collector, adminURL: adminURL,
                                         then: "INSERT INTO lightscope.host_roles (role_name, host_id, host_name) VALUES (\(literal(role)), \(hostID.map { literal($0.description) } ?? "NULL"), \(literal(name)))")
        return credentials
    }

    /// Creates a login role that can read everything and write nothing, for queries and dashboards.
    public static func addReader(_ connection: PostgresConnection, name: String, collector: String?,
                                 adminURL: String) throws(FleetError) -> Credentials {
        let role = try roleName(prefix: "lightscope_reader_", name: name)
        return try createRole(connection, role: role, group: "lightscope_reader", authentication: .scram,
                              collector: collector, adminURL: adminURL, then: nil)
    }

    private static func createRole(_ connection: PostgresConnection, role: String, group: String, authentication: Authentication,
                                   collector: String?, adminURL: String, then followUp: String?) throws(FleetError) -> Credentials {
        let url = try HostURL.make(role: role, adminURL: adminURL, collector: collector, authentication: authentication)
        let password = authentication == .scram ? randomPassword() : nil
        try run("create the role \(role)") { () throws(PostgresError) -> Void in
            var statements = ["BEGIN"]
            if let password {
                let verifier = try connection.scramVerifier(password: password, role: role)
                statements.append("CREATE ROLE \(role) LOGIN PASSWORD \(literal(verifier)) IN ROLE \(group)")
            } else {
                statements.append("CREATE ROLE \(role) LOGIN IN ROLE \(group)")
            }
            if let followUp { statements.append(followUp) }
            statements.append("COMMIT")
            do throws(PostgresError) {
                try execute(connection, statements.joined(separator: ";\n"))
            } catch {
                _ = try? execute(connection, "ROLLBACK")
                if error.sqlState == "42710" {
                    throw PostgresError(.server, "role \(role) already exists: choose another name, or remove it first (DROP ROLE \(role))")
                }
                if error.sqlState == "23505" {
                    throw PostgresError(.server, "that host id already has a role: each host id is bound to one role")
                }
                if error.sqlState == "42P01" || error.sqlState == "42704" {
                    throw PostgresError(.server, "the collector has no LightScope schema yet (\(error.message)): run lightscope fleet init --url first")
                }
                throw error
            }
        }
        let hbaLine = authentication == .cert ? try HostURL.certificateHBALine(role: role, adminURL: adminURL) : nil
        return Credentials(role: role, password: password, url: url, hbaLine: hbaLine)
    }

    /// `lightscope_host_` plus the name, lower-cased, with `.` and `-` as `_`: a plain SQL identifier.
    static func roleName(prefix: String, name: String) throws(FleetError) -> String {
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }
        guard !name.isEmpty, name.count <= 40, allowed else {
            throw FleetError("'\(name)' cannot name a host role: use 1 to 40 letters, digits, '.', '-' or '_' (e.g. the host name web1)")
        }
        return prefix + String(name.lowercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }

    static func randomPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format02x(UInt8.random(in: 0...255, using: &generator))) }.joined()
    }

    private static func format02x(_ byte: UInt8) -> String {
        (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }

    /// An SQL string literal; for the few places where a utility statement takes no parameters.
    static func literal(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    /// A number for pg_advisory_lock that no other application is likely to use ("LSFLEET1").
    private static let advisoryLock: Int64 = 0x4C53_464C_4545_5431

    @discardableResult
    static func execute(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [PostgresConnection.Result] {
        try connection.execute(sql, parameters, deadlineNanos: MonotonicClock.nowNanos() + UInt64(commandTimeout.nanoseconds))
    }

    private static func run<T>(_ what: String, _ body: () throws(PostgresError) -> T) throws(FleetError) -> T {
        do {
            return try body()
        } catch {
            let state = error.sqlState.map { " (SQLSTATE \($0))" } ?? ""
            throw FleetError("cannot \(what): \(error.message)\(state)")
        }
    }
}
