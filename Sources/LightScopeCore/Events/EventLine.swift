/// The one-line, greppable summary of an event that the journal's MESSAGE (or stderr) shows:
///
///     unwanted tcp 203.0.113.7:51234 -> 192.0.2.1:23 closed (1 packet, ttl 54)
///     unwanted tcp [2001:db8::7] -> 192.0.2.1 portscan (40 ports, 52 packets, ttl 54)
///     unwanted udp 203.0.113.7 -> *:161 addrscan (12 addresses, 12 packets)
///     unwanted tcp 203.0.113.9:56251 -> 192.0.2.1:22 closed (1 packet, ttl 47, tool nmap)
///     unwanted tcp 203.0.113.9:56251 -> 192.0.2.1:25 unanswered (1 packet, ttl 47, flags FPU)
///     unwanted tcp 198.51.100.20:80 -> 192.0.2.1:40112 backscatter (answer syn-ack, 412 packets, ttl 52)
///     unwanted tcp 203.0.113.0/24 -> 192.0.2.1:23 closed (aggregated 5000, 5000 packets, samples 203.0.113.7,203.0.113.9)
///
/// It always starts with `unwanted <proto> <src>`, so `grep 'unwanted tcp 203.0.113.7'` finds a
/// source; IPv6 addresses are bracketed only when a port follows, as in URLs. Escaped
/// (`SafeText`): the interface's name comes from the kernel and a record's text from the store.
public enum EventLine {
    public static func text(_ record: EventRecord) -> String {
        SafeText.escaped(unescapedText(record))
    }

    private static func unescapedText(_ record: EventRecord) -> String {
        var details: [String] = []
        if let aggregated = record.aggregated { details.append("aggregated \(aggregated)") }
        if let answer = record.answer { details.append("answer \(answer.name)") }
        if let ports = record.ports { details.append(plural(ports, "port")) }
        if let addresses = record.addresses { details.append(plural(addresses, "address", "addresses")) }
        details.append(plural(Int(record.packets), "packet"))
        if let ttl = record.ttl { details.append("ttl \(ttl)") }
        if record.tool != .unknown { details.append("tool \(record.tool.name)") }
        // A SYN's, the usual, goes unsaid; a NULL probe's none as tcpdump says it.
        if let flags = record.tcpFlags, flags != "S" { details.append("flags \(flags.isEmpty ? "none" : flags)") }
        if let samples = record.samples { details.append("samples \(samples)") }
        return "unwanted \(record.proto.rawValue) \(endpoint(record.source, record.sourcePort)) -> "
            + "\(endpoint(record.destination ?? "*", record.destinationPort)) \(record.verdict.rawValue) "
            + "(\(details.joined(separator: ", ")))"
    }

    private static func endpoint(_ address: String, _ port: UInt16?) -> String {
        guard let port else { return address }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    private static func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
        "\(count) \(count == 1 ? singular : pluralForm ?? singular + "s")"
    }
}
