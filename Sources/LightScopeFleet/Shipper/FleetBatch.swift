import LightScopeCore
import LightScopeStore

/// One batch of events as one INSERT: every column travels as one array parameter and the
/// server unnests them, so a batch is a single statement (one round trip, one transaction).
/// COPY would be faster but is refused on a table with row-level security. While a row the
/// collector already has (the same host, store and event id) may come, it is skipped (ON
/// CONFLICT DO NOTHING): re-sending after a crash between COMMIT and the cursor write delivers
/// nothing twice. No conflict target: naming one needs SELECT on the table, which a host role
/// has not; the key is the table's only unique index.
enum FleetBatch {
    /// For batches that may hold rows the collector has: the first of a session, until one
    /// batch turns out all new (what was committed but not yet marked is the ids right after the
    /// cursor, so every later batch is new). The skip costs an extra index probe per row.
    static let insertSkippingKnownSQL = insertSQL + "\nON CONFLICT DO NOTHING"

    static let insertSQL = """
        INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport,
            verdict, packets, ttl, "window", tcp_options, ports, addresses)
        SELECT $1::uuid, $2::bigint, e.id, timestamptz 'epoch' + e.time_us * interval '1 microsecond', e.interface,
            e.proto, e.src, e.sport, e.dst, e.dport, e.verdict, e.packets, e.ttl, e.win, e.tcp_options, e.ports, e.addresses
        FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::integer[], $9::text[],
            $10::integer[], $11::text[], $12::bigint[], $13::smallint[], $14::integer[], $15::text[], $16::integer[],
            $17::integer[])
            AS e(id, time_us, interface, proto, src, sport, dst, dport, verdict, packets, ttl, win, tcp_options, ports, addresses)
        """

    /// The statement's parameters for `events` (in id order) of this host and store.
    static func parameters(_ events: [EventStore.SpooledEvent], hostID: HostID, storeID: UInt64) -> [String?] {
        var columns = [ArrayLiteral](repeating: ArrayLiteral(capacity: events.count * 8), count: 15)
        for event in events {
            let record = event.record
            columns[0].append(integer: event.id)
            columns[1].append(integer: Int64(clamping: record.timeNanos / 1000))
            columns[2].append(text: record.interface)
            columns[3].append(text: record.proto.rawValue)
            columns[4].append(text: record.source)
            columns[5].append(integer: record.sourcePort.map(Int64.init))
            columns[6].append(text: record.destination)
            columns[7].append(integer: record.destinationPort.map(Int64.init))
            columns[8].append(text: record.verdict.rawValue)
            columns[9].append(integer: Int64(record.packets))
            columns[10].append(integer: record.ttl.map(Int64.init))
            columns[11].append(integer: record.tcpWindow.map(Int64.init))
            columns[12].append(text: record.tcpOptions)
            columns[13].append(integer: record.ports.map(Int64.init))
            columns[14].append(integer: record.addresses.map(Int64.init))
        }
        return [hostID.description, String(Int64(bitPattern: storeID))] + columns.map { $0.text }
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
