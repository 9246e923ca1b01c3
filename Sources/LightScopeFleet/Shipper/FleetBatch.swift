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
    /// into a tuplestore.
    static let insertSQL = """
        INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport,
            verdict, packets, ttl, "window", tcp_options, ports, addresses, tool, tcp_flags)
        SELECT $1::uuid, $2::bigint, unnest($3::bigint[]), unnest($4::timestamptz[]), unnest($5::text[]), unnest($6::text[]),
            unnest($7::text[]), unnest($8::integer[]), unnest($9::text[]), unnest($10::integer[]), unnest($11::text[]),
            unnest($12::bigint[]), unnest($13::smallint[]), unnest($14::integer[]), unnest($15::text[]), unnest($16::integer[]),
            unnest($17::integer[]), unnest($18::text[]), unnest($19::text[])
        """

    /// The statement's parameters for `events` (in id order) of this host and store.
    static func parameters(_ events: [EventStore.SpooledEvent], hostID: HostID, storeID: UInt64) -> [BinaryParameter] {
        let count = events.count
        var ids = BinaryArray.int8(capacity: count), times = BinaryArray.timestamptz(capacity: count)
        var interfaces = BinaryArray.text(capacity: count), protocols = BinaryArray.text(capacity: count)
        var sources = BinaryArray.text(capacity: count), sourcePorts = BinaryArray.int4(capacity: count)
        var destinations = BinaryArray.text(capacity: count), destinationPorts = BinaryArray.int4(capacity: count)
        var verdicts = BinaryArray.text(capacity: count), packets = BinaryArray.int8(capacity: count)
        var ttls = BinaryArray.int2(capacity: count), windows = BinaryArray.int4(capacity: count)
        var options = BinaryArray.text(capacity: count), ports = BinaryArray.int4(capacity: count)
        var addresses = BinaryArray.int4(capacity: count), tools = BinaryArray.text(capacity: count)
        var flags = BinaryArray.text(capacity: count)
        for event in events {
            let record = event.record
            ids.append(int64: event.id)
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
        }
        return [.uuid(hostID.bytes), .int8(Int64(bitPattern: storeID))]
            + [ids, times, interfaces, protocols, sources, sourcePorts, destinations, destinationPorts, verdicts, packets, ttls,
               windows, options, ports, addresses, tools, flags].map(\.parameter)
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
