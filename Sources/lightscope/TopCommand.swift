import ArgumentParser
import LightScopeCore
import LightScopeStore

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show the top talkers or the most probed ports from the local store.",
        discussion: """
        --by source lists the senders with the most events in the window (with their packets); \
        --by port the destination ports probed most, as proto/port (portscan events, which cover \
        many ports, are not counted per port); --by tool the tools that sent the probes, `unknown` \
        for probes no scanner's marks named (docs/detection.md). Anonymised senders appear as their pseudonyms \
        (anon4-..., anon6-...). With --json each row is one JSON object per line.
        Example: lightscope top --by port --since 7d --limit 20
        """
    )

    enum Grouping: String, ExpressibleByArgument, CaseIterable {
        case source, port, tool
    }

    @Option(help: ArgumentHelp("Rank senders (source), destination ports (port) or the tools that sent the probes (tool).",
                               valueName: "source|port|tool"))
    var by: Grouping = .source

    @Option(help: ArgumentHelp("How far back: a duration such as 30m, 1h, 24h or 7d.", valueName: "duration"))
    var since = "24h"

    @Option(help: ArgumentHelp("How many rows.", valueName: "n"))
    var limit = 10

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        try SinceWindow.validate(since)
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let window = SinceWindow(since)!
        let eventStore = try store.open()
        let rows: [String]
        do {
            switch by {
            case .source: rows = sourceRows(try eventStore.topSources(since: window.startNanos, limit: limit))
            case .port: rows = portRows(try eventStore.topPorts(since: window.startNanos, limit: limit))
            case .tool: rows = toolRows(try eventStore.topTools(since: window.startNanos, limit: limit))
            }
        } catch {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        if rows.isEmpty {
            printError("no events in the last \(since)")
            return
        }
        if !json {
            switch by {
            case .source: print("EVENTS  PACKETS  SOURCE")
            case .port: print("EVENTS  PORT")
            case .tool: print("EVENTS  PACKETS  TOOL")
            }
        }
        rows.forEach { print($0) }
    }

    private func sourceRows(_ counts: [EventStore.SourceCount]) -> [String] {
        namedRows(key: "src", counts.map { ($0.source, $0.events, $0.packets) })
    }

    private func portRows(_ counts: [EventStore.PortCount]) -> [String] {
        counts.map { count in
            json ? "{\"proto\":\"\(count.proto.rawValue)\",\"port\":\(count.port),\"events\":\(count.events)}"
                : "\(Self.padded(count.events, 6))  \(count.proto.rawValue)/\(count.port)"
        }
    }

    private func toolRows(_ counts: [EventStore.ToolCount]) -> [String] {
        namedRows(key: "tool", counts.map { ($0.tool, $0.events, $0.packets) })
    }

    /// A source's or a tool's row: `{"src":"203.0.113.7","events":3,"packets":6}` or
    /// `     3        6  203.0.113.7`.
    private func namedRows(key: String, _ counts: [(name: String, events: Int, packets: Int)]) -> [String] {
        counts.map { count in
            if json {
                var line = "{\"\(key)\":"
                EventJSON.appendQuoted(count.name, to: &line)
                return line + ",\"events\":\(count.events),\"packets\":\(count.packets)}"
            }
            return "\(Self.padded(count.events, 6))  \(Self.padded(count.packets, 7))  \(SafeText.escaped(count.name))"
        }
    }

    static func padded(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
