/// What has arrived of one fragmented datagram's TCP header: its first
/// `TCP.maximumHeaderLength` bytes, with a bit per byte for what some fragment declared
/// (`claimed`) and for what was captured (`filled`; less than claimed when the snapshot
/// length cut a fragment short). What lies beyond those bytes is not kept.
///
/// Fragments whose bytes overlap make the datagram inconsistent, and it is dropped, as current
/// Linux drops it (RFC 5722 for IPv6, IPv4 alike since Linux 4.19): otherwise which copy of a byte
/// counts would be a choice an attacker could play against the host's own. A fragment whose
/// bytes have all arrived already is a duplicate and changes nothing (Linux keeps the first
/// copy too). So does a last fragment that contradicts the end the datagram already has.
struct PartialTCPHeader {
    static let window = TCP.maximumHeaderLength

    /// 64 bytes inline, of which `window` are used.
    private var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private(set) var claimed: UInt64 = 0
    private(set) var filled: UInt64 = 0
    /// Where the datagram ends (its last fragment's end), once that fragment came.
    private(set) var end: Int?
    /// The furthest any fragment reached, within the header or past it.
    private var furthest = 0

    enum Outcome: Equatable {
        case taken
        case duplicate
        /// Overlapping bytes, or ends that disagree: the datagram is to be dropped.
        case inconsistent
    }

    /// Takes one fragment's piece: `length` bytes from `offset` in the segment as declared,
    /// of which `captured` holds the first ones.
    mutating func take(offset: Int, length: Int, moreFragments: Bool, captured: UnsafeRawBufferPointer) -> Outcome {
        precondition(offset >= 0 && offset < Self.window && length >= 0)
        // A fragment with more to follow covers whole 8-byte units; Linux trims the rest.
        let pieceEnd = moreFragments ? offset + (length & ~7) : offset + length
        guard pieceEnd > offset else { return .duplicate }
        if moreFragments {
            if let end, pieceEnd > end { return .inconsistent }
        } else {
            if let end, end != pieceEnd { return .inconsistent }
            if pieceEnd < furthest { return .inconsistent }
            end = pieceEnd
        }
        furthest = max(furthest, pieceEnd)
        let range = Self.mask(from: offset, to: min(pieceEnd, Self.window))
        if claimed & range == range { return .duplicate }
        if claimed & range != 0 { return .inconsistent }
        claimed |= range
        let count = min(captured.count, min(pieceEnd, Self.window) - offset)
        if count > 0, let source = captured.baseAddress {
            withUnsafeMutableBytes(of: &bytes) { $0.baseAddress!.advanced(by: offset).copyMemory(from: source, byteCount: count) }
            filled |= Self.mask(from: offset, to: offset + count)
        }
        return .taken
    }

    /// The header's length once every byte of it is in: 20 bytes until the data offset is
    /// known, then what it declares; no more than the datagram holds, when its end is known.
    var completeLength: Int? {
        var needed = 20
        if filled & (1 << 12) != 0 {
            let dataOffset = withUnsafeBytes(of: bytes) { $0[12] } >> 4
            needed = max(20, Int(dataOffset) * 4)
        }
        if let end { needed = min(needed, end) }
        let wanted = Self.mask(from: 0, to: needed)
        return filled & wanted == wanted ? needed : nil
    }

    /// Decodes the first `length` bytes (`completeLength`) as a TCP header.
    func segment(length: Int) throws(DecodeRejection) -> TCPSegment {
        try withUnsafeBytes(of: bytes) { (all) throws(DecodeRejection) -> TCPSegment in
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: all[0..<length]))
            return try TCP.decode(&cursor)
        }
    }

    /// Bits `from..<to` set (at most `window` of them).
    private static func mask(from start: Int, to end: Int) -> UInt64 {
        guard end > start else { return 0 }
        return ((1 << UInt64(end - start)) - 1) << UInt64(start)
    }
}
