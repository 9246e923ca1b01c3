import LightScopeCore

/// A flood block: the aggregates of one minute, verdict, protocol, interface and destination
/// packed into the `block` column of ONE store row (docs/store.md, "Flood blocks"), so that a
/// flood from random sources to random ports, where every probe is its own aggregate, costs
/// the writer bytes rather than rows. Each entry is one aggregate as before: a destination
/// port, a source /24 (IPv4) or /48 (IPv6), the events and packets it stands for, and up to
/// `EventAggregates.sampleSize` of its sources.
///
/// The bytes (format 1), all integers big-endian or LEB128 varints:
///
///     0       format (1)
///     1       flags: 1 = IPv6 sources, 2 = addresses are pseudonyms, 4 = entries have ports
///     varint  entries (1...maximumEntries)
///     per entry:
///       2     destination port (only with flag 4)
///       n     network: IPv4 its /24's first 3 bytes, IPv6 its /48's 6 bytes; a pseudonym's 8
///       varint events (>= 1)
///       varint packets
///       1     samples (1...sampleSize)
///       n     each sample below the network: IPv4 its last byte, IPv6 its last 10 bytes; a
///             pseudonym's 8
///
/// A single probe from IPv4 in the clear takes 9 bytes. Every reader goes through `decode`,
/// which refuses damaged bytes with an `AggregateBlock.Damage`, never a crash.
public struct AggregateBlock: Equatable, Sendable {
    public static let format: UInt8 = 1
    /// Entries per block: an open block that reaches it is closed and written (about 9 KiB).
    public static let maximumEntries = 1024
    static let flagIPv6: UInt8 = 1
    static let flagPseudonyms: UInt8 = 2
    static let flagPorts: UInt8 = 4

    /// An address below its network (clear), or an address's pseudonym code (`low` only).
    public struct Part: Equatable, Sendable {
        public var high: UInt16
        public var low: UInt64

        public init(high: UInt16 = 0, low: UInt64) {
            self.high = high
            self.low = low
        }
    }

    public struct Entry: Equatable, Sendable {
        /// 0 when the block's entries have no ports.
        public var port: UInt16
        /// Clear: the network's prefix (IPv4 the /24's 24 bits, IPv6 the /48's 48 bits);
        /// pseudonymised: the network address's pseudonym code.
        public var network: UInt64
        public var events: UInt64
        public var packets: UInt64
        public var samples: [Part]

        public init(port: UInt16, network: UInt64, events: UInt64, packets: UInt64, samples: [Part]) {
            self.port = port
            self.network = network
            self.events = events
            self.packets = packets
            self.samples = samples
        }
    }

    public var isIPv6: Bool
    public var isPseudonymised: Bool
    public var hasPorts: Bool
    public var entries: [Entry]

    public init(isIPv6: Bool, isPseudonymised: Bool, hasPorts: Bool, entries: [Entry]) {
        self.isIPv6 = isIPv6
        self.isPseudonymised = isPseudonymised
        self.hasPorts = hasPorts
        self.entries = entries
    }

    /// Why bytes are not a block: what was wrong and at which byte.
    public struct Damage: Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "damaged aggregate block at byte \(offset): \(reason)" }
    }

    public var events: UInt64 { entries.reduce(0) { $0 + $1.events } }
    public var packets: UInt64 { entries.reduce(0) { $0 + $1.packets } }
    public var prefixLength: Int { isIPv6 ? EventAggregates.ipv6PrefixLength : EventAggregates.ipv4PrefixLength }

    // MARK: Bytes

    var networkWidth: Int { isPseudonymised ? 8 : (isIPv6 ? 6 : 3) }
    var sampleWidth: Int { isPseudonymised ? 8 : (isIPv6 ? 10 : 1) }

    /// The block's bytes. Entries are written as given (callers keep them within the limits).
    public func encoded() -> [UInt8] {
        var encoder = Encoder(isIPv6: isIPv6, isPseudonymised: isPseudonymised, hasPorts: hasPorts, capacity: entries.count)
        for entry in entries {
            encoder.append(port: entry.port, network: entry.network, events: entry.events, packets: entry.packets,
                           sampleCount: entry.samples.count) { entry.samples[$0] }
        }
        return encoder.finish()
    }

    /// Writes a block entry by entry, without an `Entry` (and its array of samples) per entry.
    /// It writes into a buffer sized at once for `capacity` entries at their largest, through
    /// a pointer per entry rather than an append per byte: a closed flood block is packed on
    /// the packet loop, 1,024 entries at a time.
    struct Encoder {
        /// The header's room at the front (format, flags, a varint count), then the entries.
        private var bytes: [UInt8]
        private var length = Encoder.headerRoom
        private(set) var count = 0
        let isIPv6: Bool, isPseudonymised: Bool, hasPorts: Bool
        private static let headerRoom = 2 + 10

        init(isIPv6: Bool, isPseudonymised: Bool, hasPorts: Bool, capacity: Int) {
            self.isIPv6 = isIPv6
            self.isPseudonymised = isPseudonymised
            self.hasPorts = hasPorts
            // Not zeroed (a memset of ~30 KiB per flood block): only the bytes written, up to
            // `length`, are ever read.
            let size = Self.headerRoom + max(1, capacity) * Self.largestEntry(isIPv6: isIPv6, isPseudonymised: isPseudonymised)
            bytes = [UInt8](unsafeUninitializedCapacity: size) { _, initialized in initialized = size }
        }

        /// An entry's bytes at most: port, network, two varints, the sample count, the samples.
        private static func largestEntry(isIPv6: Bool, isPseudonymised: Bool) -> Int {
            let sample = isPseudonymised ? 8 : (isIPv6 ? 10 : 1)
            return 2 + (isPseudonymised ? 8 : (isIPv6 ? 6 : 3)) + 10 + 10 + 1 + EventAggregates.sampleSize * sample
        }

        mutating func append(port: UInt16, network: UInt64, events: UInt64, packets: UInt64, sampleCount: Int, sample: (Int) -> Part) {
            let first = sample(0)
            append(port: port, network: network, events: events, packets: packets, sampleCount: sampleCount,
                   samples: (first, sampleCount > 1 ? sample(1) : first, sampleCount > 2 ? sample(2) : first, sampleCount > 3 ? sample(3) : first))
        }

        /// `samples`: the first `sampleCount` of them are written.
        mutating func append(port: UInt16, network: UInt64, events: UInt64, packets: UInt64, sampleCount: Int,
                             samples: (Part, Part, Part, Part)) {
            append(entries: 1) { _ in
                (port: port, network: network, events: events, packets: packets, sampleCount: sampleCount, samples: samples)
            }
        }

        /// One entry's fields as `append(entries:_:)` takes them.
        typealias Fields = (port: UInt16, network: UInt64, events: UInt64, packets: UInt64, sampleCount: Int,
                            samples: (Part, Part, Part, Part))

        /// `entries` entries, the `index`th one's fields `fields(index)`, in one access to the
        /// buffer: a closed flood block's 1,024 without a uniqueness check and a closure each.
        mutating func append(entries: Int, _ fields: (Int) -> Fields) {
            guard entries > 0 else { return }
            let largest = Self.largestEntry(isIPv6: isIPv6, isPseudonymised: isPseudonymised)
            let needed = length + entries * largest
            if needed > bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, needed - bytes.count))) }
            count += entries
            let (hasPorts, isIPv6, isPseudonymised, start) = (self.hasPorts, self.isIPv6, self.isPseudonymised, length)
            // In bounds: `largest` bytes from each entry's start are there.
            length = bytes.withUnsafeMutableBufferPointer { buffer -> Int in
                guard let out = buffer.baseAddress else { return start }
                var at = start
                for index in 0..<entries {
                    let entry = fields(index)
                    if hasPorts { at = Self.put(UInt64(entry.port), width: 2, at: at, out) }
                    at = Self.put(entry.network, width: isPseudonymised ? 8 : (isIPv6 ? 6 : 3), at: at, out)
                    at = Self.putVarint(entry.events, at: at, out)
                    at = Self.putVarint(entry.packets, at: at, out)
                    out[at] = UInt8(truncatingIfNeeded: entry.sampleCount)
                    at += 1
                    let samples = entry.samples
                    for sample in 0..<entry.sampleCount {
                        let part = sample == 0 ? samples.0 : sample == 1 ? samples.1 : sample == 2 ? samples.2 : samples.3
                        if isPseudonymised {
                            at = Self.put(part.low, width: 8, at: at, out)
                        } else if isIPv6 {
                            at = Self.put(UInt64(part.high), width: 2, at: at, out)
                            at = Self.put(part.low, width: 8, at: at, out)
                        } else {
                            out[at] = UInt8(truncatingIfNeeded: part.low)
                            at += 1
                        }
                    }
                }
                return at
            }
        }

        /// `append(entries:_:)` for IPv4 sources in the clear, a flood's usual block, in fewer
        /// stores: the port and the network in one (`portAndNetwork`: port << 24 | the /24's
        /// 24 bits, its last 3 bytes written when the block has no ports), the samples
        /// (`samples`' bytes from the lowest, the first `sampleCount` of them kept) in another.
        /// Inlined with `fields`.
        @inline(__always)
        mutating func appendIPv4(entries: Int, _ fields: (Int) -> (portAndNetwork: UInt64, events: UInt64, packets: UInt64,
                                                                   sampleCount: Int, samples: UInt32)) {
            precondition(!isIPv6 && !isPseudonymised)
            guard entries > 0 else { return }
            let needed = length + entries * Self.largestEntry(isIPv6: false, isPseudonymised: false)
            if needed > bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, needed - bytes.count))) }
            count += entries
            let (portAndNetworkWidth, start) = (hasPorts ? 5 : 3, length)
            // In bounds: `largestEntry` bytes from each entry's start are there, and every store
            // below ends within them (the samples' 4 bytes are its room for 4 samples).
            length = bytes.withUnsafeMutableBufferPointer { buffer -> Int in
                guard let out = buffer.baseAddress else { return start }
                var at = start
                for index in 0..<entries {
                    let entry = fields(index)
                    at = Self.put(entry.portAndNetwork, width: portAndNetworkWidth, at: at, out)
                    at = Self.putVarint(entry.events, at: at, out)
                    at = Self.putVarint(entry.packets, at: at, out)
                    out[at] = UInt8(truncatingIfNeeded: entry.sampleCount)
                    UnsafeMutableRawPointer(out + at + 1).storeBytes(of: entry.samples.littleEndian, as: UInt32.self)
                    at &+= 1 &+ entry.sampleCount
                }
                return at
            }
        }

        /// `value`'s last `width` bytes (1...8), big-endian, at `at`; where the next byte goes.
        /// One 8-byte store: the bytes past `at + width` it also writes are the next fields'
        /// room (an entry's `largestEntry` bytes are there from its start, and no field is
        /// written after it ends), overwritten by them or past `length`.
        /// Positions add wrapping (`&+`): they stay within the buffer sized at `init`, and an
        /// overflow check was a branch per field written, on the packet loop.
        @inline(__always)
        private static func put(_ value: UInt64, width: Int, at: Int, _ out: UnsafeMutablePointer<UInt8>) -> Int {
            UnsafeMutableRawPointer(out + at).storeBytes(of: (value &<< UInt64(64 &- 8 &* width)).bigEndian, as: UInt64.self)
            return at &+ width
        }

        @inline(__always)
        private static func putVarint(_ value: UInt64, at: Int, _ out: UnsafeMutablePointer<UInt8>) -> Int {
            var value = value, at = at
            while value >= 0x80 {
                out[at] = UInt8(truncatingIfNeeded: value) | 0x80
                at &+= 1
                value >>= 7
            }
            out[at] = UInt8(value)
            return at &+ 1
        }

        func finish() -> [UInt8] {
            var header: [UInt8] = [AggregateBlock.format,
                                   (isIPv6 ? AggregateBlock.flagIPv6 : 0) | (isPseudonymised ? AggregateBlock.flagPseudonyms : 0)
                                   | (hasPorts ? AggregateBlock.flagPorts : 0)]
            var value = UInt64(count)
            while value >= 0x80 {
                header.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            header.append(UInt8(value))
            return header + bytes[Self.headerRoom..<length]
        }
    }

    /// The one decoder of the `block` column: every reader goes through it.
    public static func decode(_ bytes: [UInt8]) throws(Damage) -> AggregateBlock {
        var reader = Reader(bytes: bytes)
        let format = try reader.byte("the format")
        guard format == Self.format else { throw Damage(offset: 0, reason: "format \(format), this LightScope reads format \(Self.format)") }
        let flags = try reader.byte("the flags")
        guard flags & ~(flagIPv6 | flagPseudonyms | flagPorts) == 0 else { throw Damage(offset: 1, reason: "unknown flags \(flags)") }
        var block = AggregateBlock(isIPv6: flags & flagIPv6 != 0, isPseudonymised: flags & flagPseudonyms != 0,
                                   hasPorts: flags & flagPorts != 0, entries: [])
        let countOffset = reader.offset
        let count = try reader.varint("the entry count")
        guard count >= 1, count <= UInt64(maximumEntries) else {
            throw Damage(offset: countOffset, reason: "\(count) entries, not 1...\(maximumEntries)")
        }
        block.entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            let port = block.hasPorts ? UInt16(try reader.fixed(2, "a port")) : 0
            let network = try reader.fixed(block.networkWidth, "a network")
            let eventsOffset = reader.offset
            let events = try reader.varint("an entry's events")
            guard events >= 1 else { throw Damage(offset: eventsOffset, reason: "an entry of 0 events") }
            let packets = try reader.varint("an entry's packets")
            let samplesOffset = reader.offset
            let sampleCount = Int(try reader.byte("an entry's sample count"))
            guard (1...EventAggregates.sampleSize).contains(sampleCount) else {
                throw Damage(offset: samplesOffset, reason: "\(sampleCount) samples, not 1...\(EventAggregates.sampleSize)")
            }
            var samples: [Part] = []
            samples.reserveCapacity(sampleCount)
            for _ in 0..<sampleCount {
                if !block.isPseudonymised && block.isIPv6 {
                    let high = UInt16(try reader.fixed(2, "a sample"))
                    samples.append(Part(high: high, low: try reader.fixed(8, "a sample")))
                } else {
                    samples.append(Part(low: try reader.fixed(block.sampleWidth, "a sample")))
                }
            }
            block.entries.append(Entry(port: port, network: network, events: events, packets: packets, samples: samples))
        }
        guard reader.offset == bytes.count else {
            throw Damage(offset: reader.offset, reason: "\(bytes.count - reader.offset) bytes after the last entry")
        }
        return block
    }

    /// The entries the header announces (0 when it is damaged), without decoding them.
    static func entryCount(of bytes: [UInt8]) -> Int {
        var reader = Reader(bytes: bytes, offset: 2)
        guard bytes.first == format, let count = try? reader.varint("the entry count") else { return 0 }
        return Int(min(count, UInt64(maximumEntries)))
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte(_ what: String) throws(Damage) -> UInt8 {
            guard offset < bytes.count else { throw Damage(offset: offset, reason: "truncated in \(what)") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func fixed(_ width: Int, _ what: String) throws(Damage) -> UInt64 {
            guard bytes.count - offset >= width else { throw Damage(offset: offset, reason: "truncated in \(what)") }
            var value: UInt64 = 0
            for index in offset..<offset + width { value = value << 8 | UInt64(bytes[index]) }
            offset += width
            return value
        }

        mutating func varint(_ what: String) throws(Damage) -> UInt64 {
            let start = offset
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = try self.byte(what)
                guard shift < 63 || (shift == 63 && byte <= 1) else { throw Damage(offset: start, reason: "\(what) overflows 64 bits") }
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
    }

    // MARK: Text

    /// A clear network's or sample's address.
    func address(network: UInt64, part: Part? = nil) -> IPAddress {
        if isIPv6 {
            return IPAddress(high: network << 16 | UInt64(part?.high ?? 0), low: part?.low ?? 0)
        }
        return IPAddress(ipv4: UInt32(truncatingIfNeeded: network << 8 | (part?.low ?? 0) & 0xFF))
    }

    /// How a network or sample is written: its address, or its pseudonym as `AddressAnonymiser` writes it.
    func text(network: UInt64, part: Part? = nil) -> String {
        guard isPseudonymised else { return address(network: network, part: part).description }
        return AddressAnonymiser.pseudonymText(code: part?.low ?? network, isIPv4: !isIPv6)
    }

    /// Each entry's network as written (`203.0.113.0/24`, or its pseudonym and the prefix length).
    var networkTexts: [String] { entries.map { "\(text(network: $0.network))/\(prefixLength)" } }

    /// The block's entries as the aggregate events they are, each with the row's own fields
    /// (time, interface, verdict, destination, tool) and its port, network, counts and samples.
    public func records(row: EventRecord) -> [EventRecord] {
        entries.map { entry in
            var record = row
            record.source = "\(text(network: entry.network))/\(prefixLength)"
            record.sourcePort = nil
            record.destinationPort = hasPorts ? entry.port : nil
            record.packets = UInt32(clamping: entry.packets)
            record.aggregated = Int(clamping: entry.events)
            record.samples = entry.samples.map { text(network: entry.network, part: $0) }.joined(separator: ",")
            return record
        }
    }

    /// The same block with its networks and samples pseudonymised: what an anonymised store holds.
    func pseudonymised(by anonymiser: AddressAnonymiser) -> AggregateBlock {
        guard !isPseudonymised else { return self }
        var block = self
        block.isPseudonymised = true
        for index in block.entries.indices {
            let network = entries[index].network
            block.entries[index].network = anonymiser.pseudonymCode(for: address(network: network))
            block.entries[index].samples = entries[index].samples.map {
                Part(low: anonymiser.pseudonymCode(for: address(network: network, part: $0)))
            }
        }
        return block
    }
}
