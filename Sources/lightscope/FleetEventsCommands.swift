import ArgumentParser
import LightScopeCore
import LightScopeFleet

/// The filters `fleet events` and `fleet top` share: those of `lightscope events`, and the
/// fleet's --src and --dport. Each value is sent to the collector as a bound parameter.
struct FleetEventFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only events of this verdict: \(Verdict.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "verdict"),
            completion: .list(Verdict.allCases.map(\.rawValue)))
    var verdict: String?

    @Option(help: ArgumentHelp("Only events from this source: an address, or a pseudonym as stored.", valueName: "address"))
    var src: String?

    @Option(help: ArgumentHelp("Only events to this destination port.", valueName: "port"))
    var dport: UInt16?

    @Option(help: ArgumentHelp("Only events whose probe this tool sent: \(ScanTool.allCases.map(\.name).joined(separator: ", ")).",
                               valueName: "tool"),
            completion: .list(ScanTool.allCases.map(\.name)))
    var tool: String?

    func validate() throws {
        if let verdict, Verdict(rawValue: verdict) == nil {
            throw ValidationError("'\(verdict)' is not a verdict; use one of \(Verdict.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let tool, ScanTool(name: tool) == nil {
            throw ValidationError("'\(tool)' is not a tool LightScope names; use one of \(ScanTool.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func filter(since: String) -> FleetEvents.Filter {
        FleetEvents.Filter(windowSeconds: Double(SinceWindow(since)!.duration.nanoseconds) / 1e9,
                           verdict: verdict.flatMap(Verdict.init(rawValue:)), source: src, destinationPort: dport,
                           tool: tool.flatMap(ScanTool.init(name:)))
    }

    /// "closed events from 192.0.2.7 to port 22", for the line that says nothing matched.
    func described(_ noun: String) -> String {
        "\(verdict.map { "\($0) " } ?? "")\(noun)\(src.map { " from \(SafeText.escaped($0))" } ?? "")"
            + "\(dport.map { " to port \($0)" } ?? "")\(tool.map { " sent by \($0)" } ?? "")"
    }
}

struct FleetEventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show recent events of every fleet host, as 'lightscope events' shows a host's own.",
        discussion: """
        Prints the newest --limit events of the window, oldest first: the capture time (RFC 3339, \
        UTC), the host that saw the event, and the event as the journal shows it; with --json one \
        JSON object per line with the field names of 'lightscope events --json' and 'host'. Reads \
        lightscope.events joined to lightscope.hosts.
        Example: lightscope fleet events --verdict closed --dport 22 --json | jq .host
        """)

    @OptionGroup var reader: FleetReaderOptions

    @Option(help: ArgumentHelp("How far back: a duration such as 30m, 1h, 24h or 7d.", valueName: "duration"))
    var since = "1h"

    @OptionGroup var filter: FleetEventFilterOptions

    @Option(help: ArgumentHelp("At most this many events, the newest.", valueName: "n"))
    var limit = 100

    @Flag(help: "One JSON object per line (JSON Lines) instead of text.")
    var json = false

    func validate() throws {
        try SinceWindow.validate(since)
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let connection = try reader.connect()
        let (events, unknown) = try fleetStep { () throws(FleetError) in
            try FleetEvents.events(connection, filter: filter.filter(since: since), limit: limit)
        }
        for event in events {
            if json {
                var line = "{\"host\":"
                EventJSON.appendQuoted(event.host, to: &line)
                print(line + "," + EventJSON.encode(event.record).dropFirst())
            } else {
                print("\(RFC3339.format(timeNanos: event.record.timeNanos)) \(SafeText.escaped(event.host)) \(EventLine.text(event.record))")
            }
        }
        if unknown > 0 {
            printError("\(unknown) events of a protocol or verdict this LightScope does not know were left out: upgrade LightScope on this machine")
        }
        if events.isEmpty, unknown == 0 { printError("no \(filter.described("events")) in the last \(since)") }
    }
}

struct FleetTopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Rank the fleet's sources, ports, hosts, verdicts or tools, as 'lightscope top' ranks a host's own.",
        discussion: """
        --by source, port and tool count as 'lightscope top' does, over every host's events; --by \
        host ranks the hosts by the events they saw, --by verdict counts each verdict. The filters \
        narrow the events counted: --by host --src ADDRESS names the hosts one source probed. With \
        --json each row is one JSON object per line, with the local command's field names. Reads \
        lightscope.events joined to lightscope.hosts.
        Example: lightscope fleet top --by host --since 7d
        """)

    @OptionGroup var reader: FleetReaderOptions

    @Option(help: ArgumentHelp("Rank senders (source), destination ports (port), hosts (host), verdicts (verdict) or tools (tool).",
                               valueName: "source|port|host|verdict|tool"))
    var by: FleetEvents.Grouping = .source

    @Option(help: ArgumentHelp("How far back: a duration such as 30m, 1h, 24h or 7d.", valueName: "duration"))
    var since = "24h"

    @OptionGroup var filter: FleetEventFilterOptions

    @Option(help: ArgumentHelp("How many rows.", valueName: "n"))
    var limit = 10

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        try SinceWindow.validate(since)
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let connection = try reader.connect()
        if by == .source {
            try warnOfUnknownAnonymisationKeys(connection, windowSeconds: filter.filter(since: since).windowSeconds)
        }
        try warnOfUncountedAggregates(connection, windowSeconds: filter.filter(since: since).windowSeconds)
        let counts = try fleetStep { () throws(FleetError) in
            try FleetEvents.top(connection, by: by, filter: filter.filter(since: since), limit: limit)
        }
        if counts.isEmpty {
            printError("no \(filter.described("events")) in the last \(since)")
            return
        }
        if !json { print(by == .port ? "EVENTS  PORT" : "EVENTS  PACKETS  \(by.rawValue.uppercased())") }
        counts.forEach { print(json ? jsonRow($0) : textRow($0)) }
    }

    private func jsonRow(_ count: FleetEvents.Count) -> String {
        var line = JSONLine()
        switch by {
        case .port:
            line.add("proto", count.key[0])
            line.add("port", Int64(count.key[1]) ?? 0)
            line.add("events", count.events)
            return line.text
        case .source: line.add("src", count.key[0])
        case .host, .verdict, .tool: line.add(by.rawValue, count.key[0])
        }
        line.add("events", count.events)
        line.add("packets", count.packets)
        return line.text
    }

    private func textRow(_ count: FleetEvents.Count) -> String {
        if by == .port { return "\(TopCommand.padded(Int(count.events), 6))  \(count.key[0])/\(count.key[1])" }
        return "\(TopCommand.padded(Int(count.events), 6))  \(TopCommand.padded(Int(count.packets), 7))  \(SafeText.escaped(count.key[0]))"
    }
}

extension FleetEvents.Grouping: ExpressibleByArgument {}
