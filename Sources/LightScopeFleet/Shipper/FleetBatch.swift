import LightScopeCore
import LightScopeStore

/// One batch of events as one INSERT: every column travels as one array parameter, in binary
/// form (`BinaryArray`: the collector copies numbers and strings rather than parsing text), and
/// the server unnests them, so a batch is a single statement (one round trip, one transaction).
/// COPY would be faster but is refused on a table with row-level security. While a row the
/// collector already has (the same host, store and event id) may come, it is skipped (ON
/// CONFLICT DO NOTHING): re-sending after a crash between COMMIT and the cursor write delivers
/// nothing twice. No conflict target: naming one needs SELECT on the table, which a host role
/// has not; the key is the table's only unique index.
enum FleetBatch {
    /// For batches that may hold rows the collector has (see FleetShipper+Drain). The skip costs
    /// an extra index probe per row.
    static let insertSkippingKnownSQL = insertSQL + "\nON CONFLICT DO NOTHING"

    /// One unnest per column in the select list: the executor walks the arrays in step (the
    /// same length, so never padded), where unnest(a, b, ...) in FROM first copied every row
    /// into a tuplestore. An aggregate's samples travel comma-separated, as the store keeps
    /// them (an array of arrays would unnest into its elements), and become an array there.
    static let insertSQL = """
        INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport,
            verdict, packets, ttl, "window", tcp_options, ports, addresses, tool, tcp_flags, answer, aggregated, samples)
        SELECT $1::uuid, $2::bigint, unnest($3::bigint[]), unnest($4::timestamptz[]), unnest($5::text[]), unnest($6::text[]),
            unnest($7::text[]), unnest($8::integer[]), unnest($9::text[]), unnest($10::integer[]), unnest($11::text[]),
            unnest($12::bigint[]), unnest($13::smallint[]), unnest($14::integer[]), unnest($15::text[]), unnest($16::integer[]),
            unnest($17::integer[]), unnest($18::text[]), unnest($19::text[]), unnest($20::text[]), unnest($21::integer[]),
            string_to_array(unnest($22::text[]), ',')
        """

    /// The statement's parameters for `events` (in id order) of this host and store.
    static func parameters(_ events: [EventStore.SpooledEvent], hostID: HostID, storeID: UInt64) -> [BinaryParameter] {
        var rows = Rows(capacity: events.count)
        for event in events { rows.append(id: event.id, event.record) }
        return [.uuid(hostID.bytes), .int8(Int64(bitPattern: storeID))] + rows.parameters
    }

    /// The batch's rows, one array per column of `insertSQL` after the host and store id.
    struct Rows {
        private var ids, times, interfaces, protocols, sources, sourcePorts, destinations, destinationPorts, verdicts,
                    packets, ttls, windows, options, ports, addresses, tools, flags, answers, counts, samples: BinaryArray

        init(capacity count: Int) {
            ids = .int8(capacity: count); times = .timestamptz(capacity: count)
            interfaces = .text(capacity: count); protocols = .text(capacity: count)
            sources = .text(capacity: count); sourcePorts = .int4(capacity: count)
            destinations = .text(capacity: count); destinationPorts = .int4(capacity: count)
            verdicts = .text(capacity: count); packets = .int8(capacity: count)
            ttls = .int2(capacity: count); windows = .int4(capacity: count)
            options = .text(capacity: count); ports = .int4(capacity: count)
            addresses = .int4(capacity: count); tools = .text(capacity: count)
            flags = .text(capacity: count); answers = .text(capacity: count)
            counts = .int4(capacity: count); samples = .text(capacity: count)
        }

        /// The one place a stored event becomes a row of the fleet's `events`: an event counts 1
        /// and has no samples; an aggregate keeps its count and its samples (never NULL, so the
        /// collector tells it from an older host's uncounted aggregate).
        mutating func append(id: Int64, _ record: EventRecord) {
            ids.append(int64: id)
            times.append(timeNanos: record.timeNanos)
            interfaces.append(text: record.interface)
            protocols.append(text: record.proto.rawValue)
            sources.append(text: record.source)
            sourcePorts.append(int32: record.sourcePort.map(Int32.init))
            destinations.append(text: record.destination)
            destinationPorts.append(int32: record.destinationPort.map(Int32.init))
            verdicts.append(text: record.verdict.rawValue)
            packets.append(int64: Int64(record.packets))
            ttls.append(int16: record.ttl.map(Int16.init))
            windows.append(int32: record.tcpWindow.map(Int32.init))
            options.append(text: record.tcpOptions)
            ports.append(int32: record.ports.map { Int32(clamping: $0) })
            addresses.append(int32: record.addresses.map { Int32(clamping: $0) })
            tools.append(text: record.tool.name)
            flags.append(text: record.tcpFlags)
            answers.append(text: record.answer?.name)
            counts.append(int32: Int32(clamping: record.aggregated ?? 1))
            samples.append(text: record.aggregated == nil ? nil : record.samples ?? "")
        }

        var parameters: [BinaryParameter] {
            [ids, times, interfaces, protocols, sources, sourcePorts, destinations, destinationPorts, verdicts, packets, ttls,
             windows, options, ports, addresses, tools, flags, answers, counts, samples].map(\.parameter)
        }
    }
}

/// PostgreSQL's text form of a one-dimensional array: `{1,NULL,"a \"quoted\" text"}`.
struct ArrayLiteral {
    private(set) var body: String
    private var isEmpty = true

    init(capacity: Int) {
        body = "{"
        body.reserveCapacity(capacity)
    }

    var text: String { body + "}" }

    mutating func append(integer: Int64?) {
        separate()
        if let integer { body += String(integer) } else { body += "NULL" }
    }

    mutating func append(text: String?) {
        separate()
        guard let text else { body += "NULL"; return }
        body.append("\"")
        for character in text.unicodeScalars {
            if character == "\"" || character == "\\" { body.unicodeScalars.append("\\") }
            body.unicodeScalars.append(character)
        }
        body.append("\"")
    }

    private mutating func separate() {
        if isEmpty { isEmpty = false } else { body.append(",") }
    }
}
