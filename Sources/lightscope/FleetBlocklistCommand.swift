import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeFleet

struct FleetBlocklistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocklist",
        abstract: "Print the sources several fleet hosts saw as a blocklist for nft or ipset.",
        discussion: """
        Every source seen by at least --min-hosts fleet hosts in the window (lightscope.fleet_scanners), \
        so every host can block a scanner that touched any of them. The formats are those of \
        'lightscope blocklist', with their own names so that both lists can be loaded: the nft \
        table inet lightscope_fleet, the ipsets lightscope-fleet-v4 and lightscope-fleet-v6. \
        A spoofed source is amplified across the fleet, so besides the local list's exclusions \
        and [blocklist] allow (of --config), every fleet host's own addresses from its heartbeat \
        and every victim of backscatter events in the window (lightscope.fleet_backscatter_victims) \
        are never listed. They are named on stderr. --output and --dry-run work as for 'lightscope blocklist'.
        """)

    @OptionGroup var reader: FleetReaderOptions

    @Option(help: ArgumentHelp("Output format: plain, nft or ipset.", valueName: "plain|nft|ipset"))
    var format: Blocklist.Format

    @Option(help: ArgumentHelp("Only sources seen by at least this many hosts.", valueName: "n"))
    var minHosts = 2

    @Option(help: ArgumentHelp("How far back: a duration such as 1h, 24h or 7d.", valueName: "duration"))
    var since = "24h"

    @Option(name: .long, help: ArgumentHelp("Write the list to this file (replaced atomically) instead of stdout.", valueName: "file"), completion: .file())
    var output: String?

    @Flag(help: "Write nothing; print the addresses that would be added to and removed from --output.")
    var dryRun = false

    func validate() throws {
        try SinceWindow.validate(since)
        guard minHosts > 0 else { throw ValidationError("--min-hosts must be at least 1") }
        if dryRun, output == nil { throw ValidationError("--dry-run compares with the file --output names; give --output FILE") }
    }

    func run() throws {
        let settings = try reader.settings()
        let connection = try reader.connect(settings: settings)
        let window = Double(SinceWindow(since)!.duration.nanoseconds) / 1e9
        try warnOfUnknownAnonymisationKeys(connection, windowSeconds: window)
        let (scanners, hostAddresses, victims) = try fleetStep { () throws(FleetError) in
            (try FleetView.scanners(connection, windowSeconds: window, minHosts: minHosts), try FleetView.hostAddresses(connection),
             try FleetView.backscatterVictims(connection, windowSeconds: window))
        }
        var fleetHosts: [IPAddress: String] = [:]
        var pseudonymised: [String] = []
        for (text, host) in hostAddresses {
            if let address = IPAddress(text) {
                fleetHosts[address] = host
            } else if !pseudonymised.contains(host) {
                pseudonymised.append(host)
            }
        }
        for host in pseudonymised {
            printError("warning: \(SafeText.escaped(host)) reports its addresses as pseudonyms ([store] anonymise): they cannot be kept off this list; give the fleet's own networks in [blocklist] allow")
        }
        let policy = BlocklistPolicy(host: HostNetworkFacts.read(), settings: settings.blocklist, fleetHosts: fleetHosts,
                                     backscatterVictims: Set(victims.compactMap(IPAddress.init)))
        let blocklist = Blocklist(sources: scanners.map(\.source), policy: policy)
        let summary = "\(blocklist.ipv4.count) IPv4 and \(blocklist.ipv6.count) IPv6 sources seen by at least \(minHosts) host\(minHosts == 1 ? "" : "s") in the last \(since)"
        BlocklistReport.explainOmissions(blocklist)
        printError(summary)
        let rendered = blocklist.render(format, header: ["LightScope fleet blocklist: \(summary)"], names: .fleet)
        guard let output else {
            print(rendered, terminator: "")
            return
        }
        try BlocklistReport.replace(output, with: rendered, blocklist: blocklist, dryRun: dryRun)
    }
}
