import LightScopeCore
import LightScopeSystem
import LightScopeStore

/// One connection of the shipper to the collector, checked and bound: the schema is one this
/// LightScope can ship to, and the role is bound to this host's id before any event goes out.
final class FleetSession {
    private let connection: PostgresConnection
    private let hostID: HostID
    private let settings: Settings.Fleet
    /// Whether the collector records the anonymisation key id (an older one takes the heartbeat without it).
    private var collectorTakesKeyID = false

    init(parameters: ConnectionParameters, settings: Settings.Fleet, password: String?, hostID: HostID,
         waiter: SocketWaiter) throws(PostgresError) {
        self.hostID = hostID
        self.settings = settings
        let deadline = MonotonicClock.nowNanos() + UInt64(settings.connectTimeout.nanoseconds)
        let names = parameters.namesToResolve
        let addresses = names.isEmpty ? nil : try HostResolver.resolve(names, deadlineNanos: deadline, waiter: waiter)
        connection = try PostgresConnection(
            parameters: parameters.keywords(settings: settings, password: password, resolvedAddresses: addresses,
                                            applicationName: "lightscope \(LightScopeVersion.current)"),
            deadlineNanos: deadline, waiter: waiter)
        collectorTakesKeyID = try checkSchema() >= FleetSchema.anonymisationKeysVersion
        try execute("SELECT lightscope.bind_host($1::uuid)", [hostID.description])
    }

    private func checkSchema() throws(PostgresError) -> Int {
        let version: Int
        do {
            version = Int(try execute("SELECT coalesce(max(version), 0) FROM lightscope.schema_migrations").first?.rows.first?[0] ?? "0") ?? 0
        } catch where error.sqlState == "42P01" || error.sqlState == "3F000" {
            throw PostgresError(.credentials, "the collector's database has no LightScope schema: run lightscope fleet init --url ADMIN-URL on it")
        }
        guard version >= FleetSchema.requiredVersion else {
            throw PostgresError(.credentials, "the collector's schema is version \(version), this LightScope needs \(FleetSchema.requiredVersion): run lightscope fleet init --url ADMIN-URL on it")
        }
        return version
    }

    /// Sends one batch as one statement, without waiting: the caller prepares the next meanwhile.
    /// `skippingKnown`: rows the collector already has are skipped rather than refused.
    func send(_ parameters: [BinaryParameter], skippingKnown: Bool) throws(PostgresError) {
        try connection.send(skippingKnown ? FleetBatch.insertSkippingKnownSQL : FleetBatch.insertSQL, binary: parameters,
                            deadlineNanos: statementDeadline)
    }

    /// Waits for the batch `send` sent; when this returns, its transaction has committed.
    /// Returns how many of its rows were new to the collector.
    @discardableResult
    func finish() throws(PostgresError) -> Int {
        try connection.results(deadlineNanos: statementDeadline).first?.affectedRows ?? 0
    }

    /// Upserts this host's row in `hosts`.
    func beat(_ report: FleetHeartbeat) throws(PostgresError) {
        var parameters = report.parameters(hostID: hostID, interval: settings.interval)
        if !collectorTakesKeyID { parameters.removeLast() }
        try execute("""
            SELECT lightscope.host_heartbeat($1::uuid, $2, $3, $4::bigint, $5::float8, $6::float8, $7::bigint, $8::bigint,
                $9::bigint, $10::bigint, $11::timestamptz, $12::bigint, $13::text[]\(collectorTakesKeyID ? ", $14::text" : ""))
            """, parameters)
    }

    @discardableResult
    private func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [PostgresConnection.Result] {
        try connection.execute(sql, parameters, deadlineNanos: statementDeadline)
    }

    /// The server ends a statement at statement_timeout; this bound is for a server that no longer answers.
    private var statementDeadline: UInt64 {
        MonotonicClock.nowNanos() + UInt64((settings.statementTimeout + settings.networkTimeout).nanoseconds)
    }
}

/// What a host tells the collector about itself every interval.
struct FleetHeartbeat: Sendable {
    var name: String
    var storeID: UInt64
    var captureUptimeNanos: UInt64
    var restarts: UInt64
    var packetsSeen: UInt64
    var packetsDropped: UInt64
    var eventsPending: UInt64
    var oldestPendingAtNanos: UInt64?
    var eventsLost: UInt64
    /// As the events show them: pseudonyms when local addresses are anonymised.
    var addresses: [String]
    /// `AddressAnonymiser.sourceKeyIdentifier`: which key the sources' pseudonyms are made with.
    var anonymisationKeyID: String

    func parameters(hostID: HostID, interval: Duration) -> [String?] {
        var addressArray = ArrayLiteral(capacity: addresses.count * 20)
        for address in addresses { addressArray.append(text: address) }
        return [hostID.description, name, LightScopeVersion.current, String(Int64(bitPattern: storeID)),
                String(interval.seconds), String(Double(captureUptimeNanos) / 1e9), String(restarts), String(packetsSeen),
                String(packetsDropped), String(eventsPending), oldestPendingAtNanos.map { RFC3339.format(timeNanos: $0) },
                String(eventsLost), addressArray.text, anonymisationKeyID]
    }
}
