import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeFleet
import LightScopeStore

struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Set up the central PostgreSQL that every host ships its events to, and read it.",
        discussion: """
        On the collector: 'init' applies the schema, 'maintain' keeps its daily partitions (the \
        lightscope-fleet-maintain.timer runs it), 'add-host' and 'add-reader' create roles. On a \
        host: 'host-id' prints the id to bind its role to, 'dropin' prints the systemd drop-in that \
        lets the sandboxed unit reach the collector. --url takes a libpq connection URI or keyword \
        string with an administrator's role; without it libpq's defaults apply (PGHOST, PGSERVICE, ...). \
        Anywhere, with a reader's role (add-reader): 'status' shows each host's heartbeat, \
        'scanners' the sources seen by several hosts, 'blocklist' those as a firewall list, \
        'events' and 'top' every host's events as 'lightscope events' and 'top' show one host's; \
        their --url defaults to [fleet] url.
        """,
        subcommands: [FleetInitCommand.self, FleetMaintainCommand.self, FleetAddHostCommand.self, FleetAddReaderCommand.self,
                      FleetHostIDCommand.self, FleetDropInCommand.self, FleetStatusCommand.self, FleetScannersCommand.self,
                      FleetBlocklistCommand.self, FleetEventsCommand.self, FleetTopCommand.self]
    )
}

struct CollectorOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The collector, as an administrator (libpq URI or keyword string).", valueName: "url"))
    var url: String = ""

    func connect() throws -> PostgresConnection {
        try fleetStep { () throws(FleetError) in try FleetCollector.connect(url: url, environment: ProcessEnvironment.current) }
    }
}

/// Runs a fleet step; its error becomes one line on stderr and exit status 1 (or
/// `anonymisationKeysDifferExitCode`).
func fleetStep<T>(_ body: () throws(FleetError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        printError("error: \(error.message)")
        throw error.isAnonymisationKeyConflict ? ExitCode(anonymisationKeysDifferExitCode) : ExitCode.failure
    }
}

/// The exit status of `fleet scanners`, `blocklist` and `top --by source` when the hosts'
/// source pseudonyms were made with different anonymisation keys and cannot be correlated.
let anonymisationKeysDifferExitCode: Int32 = 3

struct FleetInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Apply the collector's schema (versioned migrations; safe to run again).")

    @OptionGroup var collector: CollectorOptions

    @Option(name: .long, help: ArgumentHelp("Daily partitions to create ahead.", valueName: "days"))
    var daysAhead = 7

    @Option(name: .long, help: ArgumentHelp("Days of events the collector keeps.", valueName: "days"))
    var retentionDays = 90

    func run() throws {
        let connection = try collector.connect()
        let applied = try fleetStep { () throws(FleetError) in try FleetCollector.initialize(connection) }
        print(applied.isEmpty ? "Schema is up to date (version \(FleetSchema.latestVersion))."
              : "Applied schema version\(applied.count > 1 ? "s" : "") \(applied.map(String.init).joined(separator: ", ")).")
        let lines = try fleetStep { () throws(FleetError) in
            try FleetCollector.maintain(connection, daysAhead: daysAhead, retentionDays: retentionDays)
        }
        lines.forEach { print($0) }
    }
}

struct FleetMaintainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintain",
        abstract: "Create the coming days' partitions and drop the expired ones.",
        discussion: "Rows that hosts with wrong clocks put into events_default move into a day's partition when it is created.")

    @OptionGroup var collector: CollectorOptions

    @Option(name: .long, help: ArgumentHelp("Daily partitions to create ahead.", valueName: "days"))
    var daysAhead = 7

    @Option(name: .long, help: ArgumentHelp("Days of events the collector keeps; older partitions are dropped.", valueName: "days"))
    var retentionDays = 90

    func validate() throws {
        guard (0...366).contains(daysAhead) else { throw ValidationError("--days-ahead must be from 0 to 366") }
        guard (1...36500).contains(retentionDays) else { throw ValidationError("--retention-days must be from 1 to 36500") }
    }

    func run() throws {
        let connection = try collector.connect()
        let lines = try fleetStep { () throws(FleetError) in
            try FleetCollector.maintain(connection, daysAhead: daysAhead, retentionDays: retentionDays)
        }
        print(lines.isEmpty ? "Nothing to do." : lines.joined(separator: "\n"))
    }
}

struct FleetAddHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-host",
        abstract: "Create a host's login role: it can insert its own events and heartbeat only.",
        discussion: """
        Prints the role, its password (once: it is stored only as a SCRAM verifier) and the URL for \
        that host's [fleet] url. The role is bound to --host-id (lightscope fleet host-id on the \
        host prints it), or else to the first host id it ships with.
        """)

    @Argument(help: ArgumentHelp("The host's name (letters, digits, '.', '-', '_').", valueName: "name"))
    var name: String

    @OptionGroup var collector: CollectorOptions

    @Option(name: .long, help: ArgumentHelp("Bind the role to this host id now.", valueName: "id"))
    var hostID: String?

    @Option(name: .long, help: ArgumentHelp("scram (a password) or cert (a client certificate whose CN is the role).", valueName: "method"))
    var auth: String = "scram"

    @Option(name: .customLong("collector"), help: ArgumentHelp("The address hosts connect to, when it differs from --url's.", valueName: "host[:port]"))
    var collectorAddress: String?

    @Flag(help: "Print one JSON object with the fields role, password and url.")
    var json = false

    func validate() throws {
        if let hostID, HostID(hostID) == nil { throw ValidationError("'\(hostID)' is not a host id: 32 hex digits, as lightscope fleet host-id prints") }
        if FleetCollector.Authentication(rawValue: auth) == nil { throw ValidationError("--auth must be scram or cert") }
    }

    func run() throws {
        let connection = try collector.connect()
        let credentials = try fleetStep { () throws(FleetError) in
            try FleetCollector.addHost(connection, name: name, hostID: hostID.flatMap(HostID.init), authentication: FleetCollector.Authentication(rawValue: auth)!,
                                       collector: collectorAddress, adminURL: collector.url)
        }
        printCredentials(credentials, json: json)
    }
}

struct FleetAddReaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-reader",
        abstract: "Create a read-only login role for queries and dashboards.")

    @Argument(help: ArgumentHelp("A name for the role (letters, digits, '.', '-', '_').", valueName: "name"))
    var name: String

    @OptionGroup var collector: CollectorOptions

    @Option(name: .customLong("collector"), help: ArgumentHelp("The address readers connect to, when it differs from --url's.", valueName: "host[:port]"))
    var collectorAddress: String?

    @Flag(help: "Print one JSON object with the fields role, password and url.")
    var json = false

    func run() throws {
        let connection = try collector.connect()
        let credentials = try fleetStep { () throws(FleetError) in
            try FleetCollector.addReader(connection, name: name, collector: collectorAddress, adminURL: collector.url)
        }
        printCredentials(credentials, json: json)
    }
}

func printCredentials(_ credentials: FleetCollector.Credentials, json: Bool) {
    if json {
        var line = "{\"role\":"
        EventJSON.appendQuoted(credentials.role, to: &line)
        line += ",\"password\":"
        if let password = credentials.password { EventJSON.appendQuoted(password, to: &line) } else { line += "null" }
        line += ",\"url\":"
        EventJSON.appendQuoted(credentials.url, to: &line)
        print(line + "}")
        return
    }
    print("role:     \(credentials.role)")
    if let password = credentials.password {
        print("password: \(password)")
        print("url:      \(credentials.url)")
        print("Shown once. On the host: put the password into /etc/lightscope/fleet-password (mode 0600), the url into [fleet] url.")
        print(anonymisationKeyNote)
    } else {
        print("url:      \(credentials.url)")
        print("""
            No password: the host logs in with a client certificate whose CN is \(credentials.role). On the host: the \
            certificate into \(HostURL.clientCertificate), its key into \(HostURL.clientKey) (owner root, group \
            lightscope, mode 0640: libpq refuses a key others can read), the url into [fleet] url. On the collector: \
            ssl_ca_file naming the CA that signed the certificate, and this line in pg_hba.conf with the host's address, \
            above any line for +lightscope_host (the first matching line decides), then reload:
            """)
        print(credentials.hbaLine ?? "")
        print(anonymisationKeyNote)
    }
}

/// With `anonymise = both`, every host needs the same key, or the fleet cannot correlate sources.
let anonymisationKeyNote = """
    If the fleet anonymises sources ([store] anonymise = both), install the fleet's one key on the host too: \
    \(AnonymisationKey.fleetKeyPath) (mode 0600) and [store] anonymisation_key (fleet.md, One anonymisation key for the fleet).
    """

struct FleetHostIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host-id",
        abstract: "Print this host's fleet id (derived from /etc/machine-id), for add-host --host-id.")

    func run() throws {
        print(try fleetStep { () throws(FleetError) in try HostID.current(environment: ProcessEnvironment.current) })
    }
}

struct FleetDropInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dropin",
        abstract: "Print the systemd drop-in that lets lightscope.service reach the collector.",
        discussion: """
        The packaged unit denies all IP traffic but localhost; the drop-in allows the collector's \
        addresses from [fleet] url (or --url) and nothing else. Install it with
        lightscope fleet dropin > \(FleetDropIn.path)
        then: systemctl daemon-reload && systemctl restart lightscope
        """)

    @Option(name: .long, help: ArgumentHelp("Config file; default: \(RunOptions.defaultConfigPath).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The host's [fleet] url, instead of the config's.", valueName: "url"))
    var url: String?

    @Option(name: .long, help: ArgumentHelp("Also pass this password file to the unit as the credential fleet-password.", valueName: "file"))
    var credential: String?

    @Option(name: .long, help: ArgumentHelp("Also pass the fleet's anonymisation key file to the unit as the credential anonymisation-key ([store] anonymisation_key = anonymisation-key).", valueName: "file"))
    var anonymisationKey: String?

    func run() throws {
        var target = url
        if target == nil {
            do {
                target = try ConfigLoader.load(RunOptions(configPath: config, interfaces: [], logLevel: nil, faultInjectionEnabled: false)).fleet.url
            } catch {
                printError("error: \(error.description)")
                throw ExitCode.failure
            }
        }
        guard let target else {
            printError("error: [fleet] url is empty in \(config ?? RunOptions.defaultConfigPath): set it first, or give --url")
            throw ExitCode.failure
        }
        let addresses = try fleetStep { () throws(FleetError) in try FleetDropIn.collectorAddresses(url: target) }
        let collector = try fleetStep { () throws(FleetError) in try ConnectionParameters(url: target).hostDescription }
        print(FleetDropIn.text(addresses: addresses, collector: collector, credential: credential,
                                 anonymisationKey: anonymisationKey), terminator: "")
    }
}
