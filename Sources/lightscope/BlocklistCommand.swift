import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeStore

struct BlocklistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocklist",
        abstract: "Print the scanning sources as a blocklist for nft or ipset.",
        discussion: """
        Every sender with at least --min-events events (of any verdict) in the window, IPv4 and IPv6.
        --format plain: one address per line. --format nft: a ruleset for 'nft -f' that replaces the \
        table inet lightscope (sets blocked_v4 and blocked_v6, and an input chain that drops them). \
        --format ipset: a script for 'ipset restore' that fills the sets lightscope-v4 and \
        lightscope-v6 (hash:ip), to be matched by your own iptables rules. \
        Both replace what a previous run loaded, so the command can run from cron.
        SYN sources can be spoofed, so some addresses are never listed: loopback, unspecified, \
        broadcast, multicast and link-local ones, this host's addresses, its default gateways and \
        DNS resolvers, the [blocklist] allow prefixes of the config (with [blocklist] \
        exclude_local_networks = yes, also the host's on-link networks), and the victims of \
        backscatter events in the window. They are named on stderr.
        Anonymised senders (anon4-..., anon6-...) cannot be blocked: they are left out and counted on stderr.
        --output FILE replaces FILE atomically; with --dry-run nothing is written, and the addresses \
        that would be added to or removed from FILE are printed instead.
        Example: lightscope blocklist --since 24h --min-events 10 --format nft --output /var/local/lightscope/blocklist.nft
        """
    )

    @Option(help: ArgumentHelp("How far back: a duration such as 1h, 24h or 7d.", valueName: "duration"))
    var since = "24h"

    @Option(help: ArgumentHelp("Only senders with at least this many events in the window.", valueName: "n"))
    var minEvents = 5

    @Option(help: ArgumentHelp("Output format: plain, nft or ipset.", valueName: "plain|nft|ipset"))
    var format: Blocklist.Format

    @Option(name: .long, help: ArgumentHelp("Write the list to this file (replaced atomically) instead of stdout.", valueName: "file"), completion: .file())
    var output: String?

    @Flag(help: "Write nothing; print the addresses that would be added to and removed from --output.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Config file for [blocklist]; default: \(RunOptions.defaultConfigPath).", valueName: "file"), completion: .file())
    var config: String?

    @OptionGroup var store: StoreOptions

    func validate() throws {
        try SinceWindow.validate(since)
        guard minEvents > 0 else { throw ValidationError("--min-events must be at least 1") }
        if dryRun, output == nil { throw ValidationError("--dry-run compares with the file --output names; give --output FILE") }
    }

    func run() throws {
        let settings = try commandSettings(config: config)
        let window = SinceWindow(since)!
        let eventStore = try store.open()
        let sources: [EventStore.SourceCount]
        let victims: [String]
        do {
            victims = try eventStore.backscatterVictims(since: window.startNanos)
            // Ordered by events, most first: everything from the first one below the bar on is left out.
            sources = try eventStore.topSources(since: window.startNanos, limit: Int(Int32.max)).filter { $0.events >= minEvents }
        } catch {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        let policy = BlocklistPolicy(host: HostNetworkFacts.read(), settings: settings.blocklist,
                                     backscatterVictims: Set(victims.compactMap(IPAddress.init)))
        let blocklist = Blocklist(sources: sources.map(\.source), policy: policy)
        let summary = "\(blocklist.ipv4.count) IPv4 and \(blocklist.ipv6.count) IPv6 sources with at least \(minEvents) event\(minEvents == 1 ? "" : "s") in the last \(since)"
        BlocklistReport.explainOmissions(blocklist)
        printError(summary)
        let rendered = blocklist.render(format, header: ["LightScope blocklist: \(summary)"])
        guard let output else {
            print(rendered, terminator: "")
            return
        }
        try BlocklistReport.replace(output, with: rendered, blocklist: blocklist, dryRun: dryRun)
    }
}

extension Blocklist.Format: ExpressibleByArgument {}
