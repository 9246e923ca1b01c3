/// A failed exchange with PostgreSQL, sorted by what the caller should do about it.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// Network, TLS, server gone: retry later with back-off.
        case connection
        /// No answer before the deadline: as `connection`.
        case timeout
        /// Wrong password, unknown or revoked role, pg_hba refusal: retrying cannot fix it by
        /// itself, so it is said once and retried slowly.
        case credentials
        /// The server refused a statement (`sqlState` says why).
        case server
        /// The owning loop is stopping.
        case stopped
    }

    public var kind: Kind
    public var message: String
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String { message }

    /// SQLSTATE 23505: a row with the same key is there already.
    public static let uniqueViolation = "23505"

    /// libpq reports a failed connection as text only; these are the server's and libpq's
    /// words for a refusal of the credentials (or a client key libpq will not use), as opposed
    /// to an unreachable server.
    static func connectionFailure(_ text: String) -> PostgresError {
        let message = text.trimmingWhitespace
        let credentialSigns = ["password authentication failed", "no password supplied", "certificate authentication failed",
                               "does not exist", "no pg_hba.conf entry", "not permitted to log in", "permission denied",
                               "SCRAM authentication", "authentication failed", "private key file", "certificate file",
                               "requires a valid client certificate"]
        let isCredentials = credentialSigns.contains { message.utf8.contains($0.utf8) }
        return PostgresError(isCredentials ? .credentials : .connection, message)
    }

    /// SQLSTATE class 28 (invalid authorization) and 42501 (insufficient privilege): the role is
    /// wrong or was revoked.
    var isCredentialsProblem: Bool {
        kind == .credentials || sqlState?.hasPrefix("28") == true || sqlState == "42501"
    }
}

extension String {
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
