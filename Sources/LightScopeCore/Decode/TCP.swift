/// The TCP control bits of header byte 13 (RFC 9293, ECN bits from RFC 3168).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8

    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    // Computed rather than stored statics, so a use in another module folds to a constant
    // instead of calling a global accessor per packet.
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x01) }
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x02) }
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x04) }
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x08) }
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x10) }
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x20) }
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x40) }
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x80) }

    /// The letters events show, one per flag set, in bit order as nmap and tcpdump name them:
    /// `S` for a SYN, `F` for a FIN probe, `FPU` for an Xmas one, `FA` for Maimon's, and the
    /// empty text for a NULL probe.
    public var letters: String {
        var text = ""
        for (bit, letter) in zip(0..<8, "FSRPAUEC") where rawValue & (1 << bit) != 0 { text.append(letter) }
        return text
    }
}

/// The TCP fields the detectors use: who, which control bits, and the window and options
/// that fingerprint the sender's stack.
public struct TCPSegment: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: UInt32
    public var acknowledgement: UInt32
    /// Header length in bytes (data offset times four).
    public var headerLength: UInt8
    public var flags: TCPFlags
    public var window: UInt16
    public var options: TCPOptions

    public init(sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, acknowledgement: UInt32,
                headerLength: UInt8 = 20, flags: TCPFlags, window: UInt16, options: TCPOptions = TCPOptions()) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgement = acknowledgement
        self.headerLength = headerLength
        self.flags = flags
        self.window = window
        self.options = options
    }

    /// A connection attempt: SYN without ACK. The probe every TCP detector starts from.
    @inlinable public var isConnectionAttempt: Bool {
        flags.contains(.syn) && !flags.contains(.ack)
    }
}

/// The TCP header (RFC 9293). Options are parsed, never trusted: a bad option length ends
/// option parsing but not the packet, because the ports and flags are still good.
enum TCP {
    /// A data offset of 15 words: the most a TCP header can be.
    static let maximumHeaderLength = 60

    /// The header length the data offset at the cursor declares, if the byte is there.
    static func declaredHeaderLength(_ cursor: ByteCursor) -> Int? {
        var field = cursor
        guard field.skip(12), let dataOffset = field.readUInt8() else { return nil }
        return Int(dataOffset >> 4) * 4
    }

    @inline(__always)
    static func decode(_ cursor: inout ByteCursor) throws(DecodeRejection) -> TCPSegment {
        // Ports, sequence, acknowledgement, data offset, flags, window, checksum, urgent pointer.
        guard let header = cursor.readHeader(20) else { throw .truncatedTCPHeader }
        let headerLength = Int(header.uint8(at: 12) >> 4) * 4
        guard headerLength >= 20 else { throw .badTCPDataOffset }
        let options = TCPOptions(parsing: &cursor, declaredLength: headerLength - 20)
        return TCPSegment(sourcePort: header.uint16(at: 0), destinationPort: header.uint16(at: 2), sequence: header.uint32(at: 4),
                          acknowledgement: header.uint32(at: 8), headerLength: UInt8(headerLength),
                          flags: TCPFlags(rawValue: header.uint8(at: 13)), window: header.uint16(at: 14), options: options)
    }
}
