/// New IPv4 probes held out of the pending table while their answer may still come at once
/// (`HeldProbes`, which says why no verdict changes).
extension DetectionCore {
    /// A SYN (or stealth probe) of a new or held IPv4 probe: held, or counted into its held
    /// probe, when that leaves every verdict as the table would; false when the table must
    /// take it now, after the held probes (`sendHeldProbesToTable`).
    @inline(__always)
    mutating func holdProbe(_ key: ProbeKey, _ packet: DecodedPacket, _ segment: TCPSegment, clockNanos: UInt64,
                            generation: UInt8) -> Bool {
        let compact = IPv4ProbeKey(key)
        // A time the table's clock cannot hold moves it first, which may evict: the table's path.
        if !held.isEmpty, let slot = held.find(compact), pending.ipv4.holdsTime(clockNanos) {
            // A retransmission: counted, its options asked for and let go as the table's count did.
            options.release(options.retain(segment.options))
            held.countPacket(at: slot)
            return true
        }
        guard held.mayHold(), pending.mayHoldIPv4(clockNanos: clockNanos, held: held.count),
              pending.ipv4IsEmpty || !pending.containsIPv4(compact) else { return false }
        var record = PendingIPv4Probe(remote: compact.remote, local: compact.local, ports: compact.ports,
                                      counts: PacketsToolAndFlags(tool: toolFingerprint.tool(of: packet, segment), flags: segment.flags),
                                      ttl: packet.ttl, window: segment.window, options: options.retain(segment.options))
        record.counts.countPacket()
        // The table's own mark for generation 255 (0 is a dead record's).
        let mark = generation &+ 1
        record.stamp.mark = mark == 0 ? 1 : mark
        if held.isFull, let (oldest, firstSeenNanos, _) = held.takeOldest() {
            pending.insertHeldIPv4(oldest, firstSeenNanos: firstSeenNanos)
        }
        if let occupant = held.occupant(of: compact) {
            // Its map slot is taken: the probe there goes to the table, and every older one first.
            while let (oldest, firstSeenNanos, slot) = held.takeOldest() {
                pending.insertHeldIPv4(oldest, firstSeenNanos: firstSeenNanos)
                if slot == occupant { break }
            }
        }
        held.hold(record, firstSeenNanos: clockNanos)
        return true
    }

    /// Every held probe into the pending table, oldest first: before the table is asked for
    /// its contents, its order or its room, or takes an insert.
    @inline(__always)
    mutating func sendHeldProbesToTable() {
        while let (oldest, firstSeenNanos, _) = held.takeOldest() {
            pending.insertHeldIPv4(oldest, firstSeenNanos: firstSeenNanos)
        }
    }

    /// The held probe an answer to `key` answers, taken out.
    @inline(__always)
    func takeHeldProbe(_ key: ProbeKey) -> (record: PendingIPv4Probe, firstSeenNanos: UInt64)? {
        guard !held.isEmpty, key.isIPv4, let slot = held.find(IPv4ProbeKey(key)) else { return nil }
        return held.take(at: slot)
    }
}
