import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeFleet

/// How the read commands find the collector: --url, or else the config's [fleet] url.
struct FleetReaderOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The collector, as a reader role (libpq URI or keyword string); default: [fleet] url of the config.", valueName: "url"))
    var url: String?

    @Option(name: .long, help: ArgumentHelp("Config file for [fleet] url (and [blocklist], for fleet blocklist); default: \(RunOptions.defaultConfigPath).", valueName: "file"), completion: .file())
    var config: String?

    func settings() throws -> Settings {
        try commandSettings(config: config)
    }

    func connect(settings: Settings? = nil) throws -> PostgresConnection {
        guard let target = try url ?? (settings ?? self.settings()).fleet.url else {
            printError("error: no collector: give --url with a reader's URL (lightscope fleet add-reader), or set [fleet] url in \(config ?? RunOptions.defaultConfigPath)")
            throw ExitCode.failure
        }
        return try fleetStep { () throws(FleetError) in try FleetReader.connect(url: target) }
    }
}

/// Before counting sources across hosts: names the hosts whose pseudonyms could not be
/// checked against the others' (the collector refuses the hosts it can check).
func warnOfUnknownAnonymisationKeys(_ connection: PostgresConnection, windowSeconds: Double) throws {
    let hosts = try fleetStep { () throws(FleetError) in try FleetReader.hostsOfUnknownKey(connection, windowSeconds: windowSeconds) }
    guard !hosts.isEmpty else { return }
    printError("warning: \(hosts.map(SafeText.escaped).joined(separator: ", ")) did not say which anonymisation key their sources' pseudonyms are made with (LightScope older than \(LightScopeVersion.current)?): if they anonymise sources with other keys, their pseudonyms match no other host's; upgrade them")
}

/// Before counting events: names the hosts whose aggregate events arrived before the collector
/// kept their count, so that a count low because of them is never taken for the truth.
func warnOfUncountedAggregates(_ connection: PostgresConnection, windowSeconds: Double) throws {
    let hosts = try fleetStep { () throws(FleetError) in try FleetReader.uncountedAggregates(connection, windowSeconds: windowSeconds) }
    guard !hosts.isEmpty else { return }
    let list = hosts.map { "\(SafeText.escaped($0.host)) \($0.events)" }.joined(separator: ", ")
    printError("warning: aggregate events of a flood that reached the collector before its schema version \(FleetSchema.aggregatesVersion), without how many events each stands for, count as one event each (\(list)): the counts below are low by their missing events")
}

struct FleetStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "One line per fleet host from its heartbeats; flags silent hosts.",
        discussion: """
        A host is silent when its last heartbeat is older than \(FleetSchema.silentAfterIntervals) of its heartbeat \
        intervals. Exit status: 0 when every host beats, \(silentExitCode) when any host is silent (for a \
        monitoring check), 1 when the collector cannot be read. Reads the view lightscope.host_health.
        """)

    /// The exit status when a host is silent, apart from 1 (the collector cannot be read).
    static let silentExitCode: Int32 = 2

    @OptionGroup var reader: FleetReaderOptions

    @Flag(help: "Print JSON Lines, one object per host.")
    var json = false

    func run() throws {
        let connection = try reader.connect()
        let hosts = try fleetStep { () throws(FleetError) in try FleetView.hostHealth(connection) }
        for host in hosts {
            if json {
                var line = JSONLine()
                line.add("host", host.name)
                line.add("host_id", host.hostID)
                line.add("version", host.version)
                line.add("last_seen", host.lastSeen)
                line.add("heartbeat_age_seconds", Int64(host.heartbeatAgeSeconds.rounded(.down)))
                line.add("heartbeat_interval_seconds", Int64(host.heartbeatIntervalSeconds.rounded()))
                line.add("events_pending", host.eventsPending)
                line.add("oldest_pending", host.oldestPending)
                line.add("packets_seen", host.packetsSeen)
                line.add("packets_dropped", host.packetsDropped)
                line.add("restarts", host.restarts)
                line.add("events_lost", host.eventsLost)
                line.add("silent", host.silent)
                line.add("anonymisation_key_id", host.anonymisationKeyID)
                print(line.text)
            } else {
                let age = Int64(host.heartbeatAgeSeconds.rounded(.down))
                let silent = host.silent ? "  SILENT: no heartbeat for \(age)s, more than \(FleetSchema.silentAfterIntervals) intervals of \(Int64(host.heartbeatIntervalSeconds.rounded()))s" : ""
                print("\(SafeText.escaped(host.name))  \(host.hostID)  \(SafeText.escaped(host.version))  last heartbeat \(host.lastSeen) (\(age)s ago)  lag \(host.eventsPending) events  packets \(host.packetsSeen) seen, \(host.packetsDropped) dropped  restarts \(host.restarts)\(silent)")
            }
        }
        let silent = hosts.filter(\.silent)
        if hosts.isEmpty { printError("no host has sent a heartbeat yet") }
        if !silent.isEmpty {
            printError("\(silent.count) of \(hosts.count) hosts silent: \(silent.map { SafeText.escaped($0.name) }.joined(separator: ", "))")
            throw ExitCode(Self.silentExitCode)
        }
    }
}

struct FleetScannersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scanners",
        abstract: "The sources that probed at least --min-hosts fleet hosts: scans no single host can see.",
        discussion: """
        For each source: the hosts it probed, the ports, first and last seen, and the events per \
        verdict the hosts gave. A scanner that stays under every host's portscan and addrscan \
        thresholds shows up here. With --distributed: the ports probed on at least --min-hosts hosts \
        by at least --min-sources sources instead. Reads lightscope.fleet_scanners_since and \
        lightscope.fleet_distributed_scans_since, the functions behind the views of the same names.
        """)

    @OptionGroup var reader: FleetReaderOptions

    @Flag(help: "Print JSON Lines, one object per source (or port).")
    var json = false

    @Option(help: ArgumentHelp("Only sources (or ports) seen by at least this many hosts.", valueName: "n"))
    var minHosts = 2

    @Option(help: ArgumentHelp("How far back: a duration such as 1h, 24h or 7d.", valueName: "duration"))
    var since = "24h"

    @Flag(help: "List the ports probed across many hosts by many sources instead.")
    var distributed = false

    @Option(help: ArgumentHelp("With --distributed: only ports probed by at least this many sources.", valueName: "n"))
    var minSources = 2

    func validate() throws {
        try SinceWindow.validate(since)
        guard minHosts > 0 else { throw ValidationError("--min-hosts must be at least 1") }
        guard minSources > 0 else { throw ValidationError("--min-sources must be at least 1") }
    }

    func run() throws {
        let connection = try reader.connect()
        let window = Double(SinceWindow(since)!.duration.nanoseconds) / 1e9
        try warnOfUnknownAnonymisationKeys(connection, windowSeconds: window)
        try warnOfUncountedAggregates(connection, windowSeconds: window)
        if distributed {
            let ports = try fleetStep { () throws(FleetError) in
                try FleetView.distributedScans(connection, windowSeconds: window, minHosts: minHosts, minSources: minSources)
            }
            ports.forEach { print(json ? Self.json($0) : Self.line($0)) }
            printError("\(ports.count) port\(ports.count == 1 ? "" : "s") probed on at least \(minHosts) hosts by at least \(minSources) sources in the last \(since)")
            return
        }
        let scanners = try fleetStep { () throws(FleetError) in
            try FleetView.scanners(connection, windowSeconds: window, minHosts: minHosts)
        }
        scanners.forEach { print(json ? Self.json($0) : Self.line($0)) }
        printError("\(scanners.count) source\(scanners.count == 1 ? "" : "s") seen by at least \(minHosts) hosts in the last \(since)")
    }

    static func line(_ scanner: FleetView.Scanner) -> String {
        let verdicts = scanner.verdicts.map { "\($0.verdict) \($0.events)" }.joined(separator: ", ")
        let ports = scanner.destinationPorts.isEmpty ? "-" : scanner.destinationPorts.map(String.init).joined(separator: ",")
        return "\(SafeText.escaped(scanner.source))  \(scanner.hosts) hosts  \(scanner.events) events  ports \(ports)  first \(scanner.firstSeen)  last \(scanner.lastSeen)  \(verdicts)"
    }

    static func json(_ scanner: FleetView.Scanner) -> String {
        var line = JSONLine()
        line.add("src", scanner.source)
        line.add("hosts", scanner.hosts)
        line.add("events", scanner.events)
        line.add("dports", scanner.destinationPorts.map(Int64.init))
        line.add("first_seen", scanner.firstSeen)
        line.add("last_seen", scanner.lastSeen)
        line.add("verdicts", scanner.verdicts.map { ($0.verdict, $0.events) })
        return line.text
    }

    static func line(_ scan: FleetView.DistributedScan) -> String {
        "\(scan.proto)/\(scan.destinationPort)  \(scan.hosts) hosts  \(scan.sources) sources  \(scan.events) events  first \(scan.firstSeen)  last \(scan.lastSeen)"
    }

    static func json(_ scan: FleetView.DistributedScan) -> String {
        var line = JSONLine()
        line.add("proto", scan.proto)
        line.add("dport", Int64(scan.destinationPort))
        line.add("hosts", scan.hosts)
        line.add("sources", scan.sources)
        line.add("events", scan.events)
        line.add("first_seen", scan.firstSeen)
        line.add("last_seen", scan.lastSeen)
        return line.text
    }
}
