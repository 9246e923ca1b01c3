/// Backscatter: an answer that reached this host for something it never sent. Someone
/// attacked the answer's sender with this host's address forged as the source, and the
/// victim (or a router on its way) answered here (docs/detection.md, "Backscatter").
///
/// What makes an answer one of the host's own, never backscatter: a flow the host started
/// (`OutboundFlows`: its SYNs and UDP datagrams, for `grace`), or a connection to one of its
/// ports that it answered (`RecentConnections`, as for late packets of a probe).
extension DetectionCore {
    /// The packet came from this host: it sent it, whatever the link says.
    @inline(__always)
    func isFromHost(_ packet: DecodedPacket) -> Bool {
        packet.direction != .inbound && localAddresses.contains(packet.source)
    }

    /// The packet came to this host from elsewhere: where backscatter arrives. `mutating`
    /// though it changes nothing: called from `process`, a non-mutating call copied the whole
    /// core first (a memcpy of about 200 instructions for every SYN-ACK of the open stream).
    @inline(__always)
    mutating func isToHost(_ packet: DecodedPacket) -> Bool {
        packet.direction != .outbound && localAddresses.contains(packet.destination) && !localAddresses.contains(packet.source)
    }

    /// A SYN or a datagram the host sent: an answer to it is its own.
    mutating func hostSent(isUDP: Bool, _ packet: DecodedPacket, sourcePort: UInt16, destinationPort: UInt16, clockNanos: UInt64) {
        outboundFlows.record(isUDP: isUDP, remote: packet.destination, remotePort: destinationPort, localPort: sourcePort,
                             clockNanos: clockNanos)
    }

    /// A SYN-ACK or RST that came to the host.
    mutating func inboundAnswer(_ packet: DecodedPacket, _ segment: TCPSegment, answer: BackscatterAnswer, clockNanos: UInt64,
                                generation: UInt8, emit: (UnwantedEvent) -> Void) {
        backscatter(isUDP: false, victim: packet.source, victimPort: segment.sourcePort, local: packet.destination,
                    localPort: segment.destinationPort, answer: answer, ttl: packet.ttl, clockNanos: clockNanos,
                    generation: generation, emit: emit)
    }

    /// An ICMP error that came to the host, about the `quoted` packet it claims the host sent.
    /// Only errors about TCP or UDP count (the ports tell whose flow it was); fragmentation
    /// needed answers the host's own established traffic, which no table remembers.
    mutating func inboundError(_ packet: DecodedPacket, quoted: QuotedProbe?, answer: BackscatterAnswer, clockNanos: UInt64,
                               generation: UInt8, emit: (UnwantedEvent) -> Void) {
        guard let quoted, quoted.protocolNumber == IPProtocolNumber.tcp || quoted.protocolNumber == IPProtocolNumber.udp,
              let localPort = quoted.sourcePort, let victimPort = quoted.destinationPort,
              localAddresses.contains(quoted.source), !localAddresses.contains(quoted.destination) else { return }
        backscatter(isUDP: quoted.protocolNumber == IPProtocolNumber.udp, victim: quoted.destination, victimPort: victimPort,
                    local: quoted.source, localPort: localPort, answer: answer, ttl: packet.ttl, clockNanos: clockNanos,
                    generation: generation, emit: emit)
    }

    private mutating func backscatter(isUDP: Bool, victim: IPAddress, victimPort: UInt16, local: IPAddress, localPort: UInt16,
                                      answer: BackscatterAnswer, ttl: UInt8, clockNanos: UInt64, generation: UInt8,
                                      emit: (UnwantedEvent) -> Void) {
        if outboundFlows.contains(isUDP: isUDP, remote: victim, remotePort: victimPort, localPort: localPort) { return }
        if !isUDP && connections.contains(remote: victim, localPort: localPort) { return }
        let record = BackscatterVictimRecord(victim: victim, victimPort: victimPort, local: local, localPort: localPort,
                                             isUDP: isUDP, answer: answer, ttl: ttl, generation: generation)
        if let (pushedOut, openedNanos) = backscatterVictims.count(record, clockNanos: clockNanos) {
            reportBackscatter(pushedOut, openedNanos: openedNanos, emit: emit)
        }
    }

    /// One victim's minute, as its event: the first answer's time, ports and TTL, every
    /// answer's count. A port that varied within the minute is left out, as a scan's is.
    mutating func reportBackscatter(_ record: BackscatterVictimRecord, openedNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        probeCounters.count(.backscatter)
        emit(UnwantedEvent(timeNanos: timeline.captureTime(ofClock: openedNanos, generation: record.generation),
                           interface: interfaceName, proto: record.isUDP != 0 ? .udp : .tcp, source: record.victim.address,
                           sourcePort: record.variedPorts & 1 == 0 ? record.victimPort : nil, destination: record.local.address,
                           destinationPort: record.variedPorts & 2 == 0 ? record.localPort : nil, verdict: .backscatter,
                           packets: record.packets, ttl: record.ttl, answer: BackscatterAnswer(rawValue: record.answer)))
    }

    /// The victims whose minute is over by `nowNanos` (a timer run), or all of them (`finish`).
    mutating func closeBackscatterMinutes(atNanos nowNanos: UInt64?, emit: (UnwantedEvent) -> Void) {
        var closed: [(BackscatterVictimRecord, UInt64)] = []
        if let nowNanos {
            backscatterVictims.closeMinutes(atNanos: nowNanos, into: &closed)
        } else {
            backscatterVictims.drain(into: &closed)
        }
        for (record, openedNanos) in closed { reportBackscatter(record, openedNanos: openedNanos, emit: emit) }
    }
}
