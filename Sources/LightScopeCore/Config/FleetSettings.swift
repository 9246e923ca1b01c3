extension Settings {
    /// The fleet shipper: delivers every stored event to a central PostgreSQL (`[fleet]`). Off
    /// while `url` is empty.
    public struct Fleet: Equatable, Sendable {
        /// A libpq connection URI (`postgresql://role@collector:5432/lightscope?sslmode=verify-full&...`)
        /// or keyword string; nil: no shipping.
        public var url: String?
        /// The role's password: a file of mode 0600 or stricter. A bare name is looked up in
        /// `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`). nil: `$CREDENTIALS_DIRECTORY/fleet-password`
        /// when it exists, else what libpq finds itself (the URL, `PGPASSFILE`, `~/.pgpass`).
        public var passwordFile: String?
        /// This host's label in the collector's `hosts` table; nil: the host name.
        public var hostName: String?
        /// Events sent in one transaction; a full batch is followed by the next at once.
        public var batchEvents: Int = 5000
        /// The most connections to the collector: one always, the others only while a backlog
        /// of more than one batch drains, each inserting a batch beside the others (on as many
        /// of the collector's cores); back to one once caught up.
        public var connections: Int = 2
        /// How often the store is looked at for new events when caught up, and how often the
        /// host's row in `hosts` is refreshed (its heartbeat).
        public var interval: Duration = .seconds(10)
        /// The longest a connection attempt may take (libpq's `connect_timeout`).
        public var connectTimeout: Duration = .seconds(10)
        /// The longest one statement may run on the collector (`statement_timeout`).
        public var statementTimeout: Duration = .seconds(30)
        /// A collector that acknowledges nothing for this long is given up: TCP's user timeout
        /// and keepalives, so a black-holed path is noticed without waiting for the kernel's minutes.
        public var networkTimeout: Duration = .seconds(30)
        /// The longest wait between connection attempts; the back-off doubles from one second
        /// up to it, with jitter, so many hosts do not reconnect to a returning collector at once.
        public var retryMaxInterval: Duration = .seconds(300)
        public init() {}

        public var isEnabled: Bool { url != nil }
    }
}
