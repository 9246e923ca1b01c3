import ArgumentParser
import LightScopeCore
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
        Anonymised senders (anon4-..., anon6-...) cannot be blocked: they are left out and counted on stderr.
        Example: lightscope blocklist --since 24h --min-events 10 --format nft > /etc/lightscope/blocklist.nft && nft -f /etc/lightscope/blocklist.nft
        """
    )

    @Option(help: ArgumentHelp("How far back: a duration such as 1h, 24h or 7d.", valueName: "duration"))
    var since = "24h"

    @Option(help: ArgumentHelp("Only senders with at least this many events in the window.", valueName: "n"))
    var minEvents = 5

    @Option(help: ArgumentHelp("Output format: plain, nft or ipset.", valueName: "plain|nft|ipset"))
    var format: Blocklist.Format

    @OptionGroup var store: StoreOptions

    func validate() throws {
        try SinceWindow.validate(since)
        guard minEvents > 0 else { throw ValidationError("--min-events must be at least 1") }
    }

    func run() throws {
        let window = SinceWindow(since)!
        let eventStore = try store.open()
        let sources: [EventStore.SourceCount]
        do {
            // Ordered by events, most first: everything from the first one below the bar on is left out.
            sources = try eventStore.topSources(since: window.startNanos, limit: Int(Int32.max)).filter { $0.events >= minEvents }
        } catch {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        let blocklist = Blocklist(sources: sources.map(\.source))
        let summary = "\(blocklist.ipv4.count) IPv4 and \(blocklist.ipv6.count) IPv6 sources with at least \(minEvents) event\(minEvents == 1 ? "" : "s") in the last \(since)"
        if !blocklist.skipped.isEmpty {
            printError("skipped \(blocklist.skipped.count) anonymised sources: pseudonyms cannot be blocked (set [store] anonymise to none or dst to block senders)")
        }
        printError(summary)
        print(blocklist.render(format, header: ["LightScope blocklist: \(summary)"]), terminator: "")
    }
}

extension Blocklist.Format: ExpressibleByArgument {}
