/// An `UnwantedEvent` as the sinks write it and the readers give it back.
///
/// It exists apart from `UnwantedEvent` for one reason: after anonymisation an address is a
/// pseudonym (`anon4-…`), which is text that can never be turned back into an `IPAddress`.
/// So addresses here are the text that was written; every other field is the event's own.
public struct EventRecord: Equatable, Sendable {
    public var timeNanos: UInt64
    public var interface: String
    public var proto: TransportProtocol
    /// The source address as written: an address or a pseudonym.
    public var source: String
    public var sourcePort: UInt16?
    /// The destination as written; nil for `addrscan`.
    public var destination: String?
    public var destinationPort: UInt16?
    public var verdict: Verdict
    public var packets: UInt32
    public var ttl: UInt8?
    public var tcpWindow: UInt16?
    public var tcpOptions: String?
    public var ports: Int?
    public var addresses: Int?
    public var tool: ScanTool
    /// The probe's TCP flags as letters (`TCPFlags.letters`), as written.
    public var tcpFlags: String?
    /// `backscatter`: the kind of answer the victim sent (`BackscatterAnswer.name`).
    public var answer: BackscatterAnswer?
    /// An aggregate event: the probes it stands for (`source` is then their network); nil for a
    /// single event.
    public var aggregated: Int?
    /// An aggregate event: a few of its sources, comma-separated, as written.
    public var samples: String?

    public init(timeNanos: UInt64, interface: String, proto: TransportProtocol, source: String, sourcePort: UInt16?,
                destination: String?, destinationPort: UInt16?, verdict: Verdict, packets: UInt32,
                ttl: UInt8? = nil, tcpWindow: UInt16? = nil, tcpOptions: String? = nil,
                ports: Int? = nil, addresses: Int? = nil, tool: ScanTool = .unknown, tcpFlags: String? = nil,
                answer: BackscatterAnswer? = nil, aggregated: Int? = nil, samples: String? = nil) {
        self.timeNanos = timeNanos
        self.interface = interface
        self.proto = proto
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.verdict = verdict
        self.packets = packets
        self.ttl = ttl
        self.tcpWindow = tcpWindow
        self.tcpOptions = tcpOptions
        self.ports = ports
        self.addresses = addresses
        self.tool = tool
        self.tcpFlags = tcpFlags
        self.answer = answer
        self.aggregated = aggregated
        self.samples = samples
    }

    /// The event with its addresses shown as given (pseudonyms, or plain text).
    public init(_ event: UnwantedEvent, source: String, destination: String?) {
        self.init(timeNanos: event.timeNanos, interface: event.interface, proto: event.proto,
                  source: source, sourcePort: event.sourcePort,
                  destination: destination, destinationPort: event.destinationPort,
                  verdict: event.verdict, packets: event.packets, ttl: event.ttl, tcpWindow: event.tcpWindow,
                  tcpOptions: event.tcpOptions, ports: event.ports, addresses: event.addresses, tool: event.tool,
                  tcpFlags: event.tcpFlags?.letters, answer: event.answer)
    }

    /// The event with its real addresses.
    public init(_ event: UnwantedEvent) {
        self.init(event, source: event.source.description, destination: event.destination?.description)
    }

    /// A field's value, or nil when the event has none (scan events have no ports, ...).
    public enum Value: Equatable, Sendable {
        case text(String)
        case integer(Int64)
        /// Nanoseconds since the epoch.
        case time(UInt64)
    }

    /// The fields that have a value, in `EventField` order: what every sink writes.
    public var fieldValues: [(field: EventField, value: Value)] {
        var values: [(EventField, Value)] = [
            (.time, .time(timeNanos)), (.interface, .text(interface)), (.proto, .text(proto.rawValue)), (.src, .text(source)),
        ]
        if let sourcePort { values.append((.sport, .integer(Int64(sourcePort)))) }
        if let destination { values.append((.dst, .text(destination))) }
        if let destinationPort { values.append((.dport, .integer(Int64(destinationPort)))) }
        values.append((.verdict, .text(verdict.rawValue)))
        values.append((.packets, .integer(Int64(packets))))
        if let ttl { values.append((.ttl, .integer(Int64(ttl)))) }
        if let tcpWindow { values.append((.window, .integer(Int64(tcpWindow)))) }
        if let tcpOptions { values.append((.tcpOptions, .text(tcpOptions))) }
        if let ports { values.append((.ports, .integer(Int64(ports)))) }
        if let addresses { values.append((.addresses, .integer(Int64(addresses)))) }
        values.append((.tool, .text(tool.name)))
        if let tcpFlags { values.append((.tcpFlags, .text(tcpFlags))) }
        if let answer { values.append((.answer, .text(answer.name))) }
        if let aggregated { values.append((.aggregated, .integer(Int64(aggregated)))) }
        if let samples { values.append((.samples, .text(samples))) }
        return values
    }
}
