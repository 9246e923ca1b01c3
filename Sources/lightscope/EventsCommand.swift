import ArgumentParser
import LightScopeCore

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show recent events from the local store.",
        discussion: """
        Reads the event store (events.sqlite in the state directory) read-only, so it is safe while \
        the daemon runs. Prints the newest --limit events of the window, oldest first: the capture \
        time (RFC 3339, UTC) and the event as the journal shows it, or with --json one JSON object per \
        line with the store's field names (time, interface, proto, src, sport, dst, dport, verdict, ...). \
        --tool keeps the probes whose headers carry a scanner's marks (docs/detection.md).
        Examples: lightscope events --since 30m; lightscope events --verdict portscan --json | jq .src; \
        lightscope events --tool masscan
        """
    )

    @Option(help: ArgumentHelp("How far back: a duration such as 30m, 1h, 24h or 7d.", valueName: "duration"))
    var since = "1h"

    @Option(help: ArgumentHelp("Only events of this verdict: \(Verdict.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "verdict"),
            completion: .list(Verdict.allCases.map(\.rawValue)))
    var verdict: String?

    @Option(help: ArgumentHelp("Only events whose probe this tool sent: \(ScanTool.allCases.map(\.name).joined(separator: ", ")).",
                               valueName: "tool"),
            completion: .list(ScanTool.allCases.map(\.name)))
    var tool: String?

    @Option(help: ArgumentHelp("At most this many events, the newest.", valueName: "n"))
    var limit = 100

    @Flag(help: "One JSON object per line (JSON Lines) instead of text.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        try SinceWindow.validate(since)
        if let verdict, Verdict(rawValue: verdict) == nil {
            throw ValidationError("'\(verdict)' is not a verdict; use one of \(Verdict.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let tool, ScanTool(name: tool) == nil {
            throw ValidationError("'\(tool)' is not a tool LightScope names; use one of \(ScanTool.allCases.map(\.name).joined(separator: ", "))")
        }
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let window = SinceWindow(since)!
        let eventStore = try store.open()
        let records: [EventRecord]
        do {
            records = try eventStore.events(since: window.startNanos, verdict: verdict.flatMap(Verdict.init(rawValue:)),
                                            tool: tool.flatMap(ScanTool.init(name:)), limit: limit)
        } catch {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        if records.isEmpty {
            // On stderr: stdout stays what a script reads (no line for no event).
            printError("no \(verdict.map { "\($0) " } ?? "")events\(tool.map { " from \($0)" } ?? "") in the last \(since)")
            return
        }
        for record in records {
            print(json ? EventJSON.encode(record) : "\(RFC3339.format(timeNanos: record.timeNanos)) \(EventLine.text(record))")
        }
    }
}
