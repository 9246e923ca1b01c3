/// A TCP timestamp option (RFC 7323).
public struct TCPTimestamp: Equatable, Sendable {
    public var value: UInt32
    public var echo: UInt32

    public init(value: UInt32, echo: UInt32) {
        self.value = value
        self.echo = echo
    }
}

/// TCP options: the raw option bytes (at most 40) held inline, so the fingerprint can be
/// built later, after the capture buffer is gone, without a heap copy. The common options
/// are parsed when asked for, not per packet: most packets' options are never looked at
/// (only a SYN that becomes an event is), and a copy is cheaper than a walk.
public struct TCPOptions: Sendable {
    static let capacity = 40
    /// The option bytes as captured, zero-filled past `rawCount`. A tuple, not an array, so a
    /// `TCPOptions` lives entirely inline.
    private var raw: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    private var rawCount: UInt8 = 0
    /// Fewer bytes were kept than the header declared (a short capture, or over 40).
    private var cutShort = false

    /// No options at all.
    public init() {}

    /// Builds options from raw bytes (at most 40 are kept), as a packet would carry them.
    public init(bytes: UnsafeRawBufferPointer) {
        var cursor = ByteCursor(bytes)
        self.init(parsing: &cursor, declaredLength: bytes.count)
    }

    /// Copies what was captured of the `declaredLength` option bytes.
    @inline(__always)
    init(parsing cursor: inout ByteCursor, declaredLength: Int) {
        let available = min(declaredLength, cursor.remaining, Self.capacity)
        guard available > 0 else {
            cutShort = declaredLength > 0
            return
        }
        let copied = withUnsafeMutableBytes(of: &raw) { storage in
            cursor.copyBytes(into: UnsafeMutableRawBufferPointer(rebasing: storage[0..<available]))
        }
        rawCount = copied ? UInt8(available) : 0
        cutShort = !copied || available < declaredLength
    }

    public var mss: UInt16? { parsed.mss }
    public var windowScale: UInt8? { parsed.windowScale }
    public var sackPermitted: Bool { parsed.sackPermitted }
    public var timestamp: TCPTimestamp? { parsed.timestamp }
    /// Parsing stopped before the declared option space ended: a malformed option length, or
    /// a capture that cut the header short. The parsed fields hold what came before.
    public var isIncomplete: Bool { cutShort || !parsed.wellFormed }

    private struct Parsed {
        var mss: UInt16?
        var windowScale: UInt8?
        var sackPermitted = false
        var timestamp: TCPTimestamp?
        var wellFormed = true
    }

    /// One walk over the kept bytes.
    private var parsed: Parsed {
        var result = Parsed()
        result.wellFormed = withRawBytes { bytes in
            TCPOptionWalker.walk(bytes) { kind, value in
                switch kind {
                case TCPOptionKind.maximumSegmentSize where value.remaining == 2:
                    result.mss = value.readUInt16()
                case TCPOptionKind.windowScale where value.remaining == 1:
                    result.windowScale = value.readUInt8()
                case TCPOptionKind.sackPermitted where value.remaining == 0:
                    result.sackPermitted = true
                case TCPOptionKind.timestamp where value.remaining == 8:
                    if let stamp = value.readUInt32(), let echo = value.readUInt32() {
                        result.timestamp = TCPTimestamp(value: stamp, echo: echo)
                    }
                default:
                    break
                }
            }
        }
        return result
    }

    /// The option bytes as captured, in order, for a caller that wants more than the parsed fields.
    public func withRawBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let count = Int(rawCount)
        return try withUnsafeBytes(of: raw) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// The options in order as compact text, e.g. `M1460,S,T,N,W7`, built on demand (it
    /// allocates, so only for packets that become events). See `TCPOptionsFingerprint`.
    public var fingerprint: String {
        TCPOptionsFingerprint.text(of: self)
    }
}

extension TCPOptions: FastHashKey {
    /// Every word `==` compares: the kept bytes, their count and whether they were cut short.
    public func hash(seed: FastHashSeed) -> UInt64 {
        seed.hash(raw.0, raw.1, raw.2, raw.3, raw.4, UInt64(rawCount) | (cutShort ? 0x100 : 0))
    }

    /// Fewer bytes were kept than the header declared.
    var isCutShort: Bool { cutShort }

    /// Options made of `bytes` (at most 40), as cut short as `cutShort` says.
    init(bytes: UnsafeRawBufferPointer, cutShort: Bool) {
        self.init(bytes: bytes)
        self.cutShort = cutShort || bytes.count > Self.capacity
    }
}

extension TCPOptions: Equatable {
    /// The parsed fields follow from the bytes, so the bytes are what is compared.
    public static func == (lhs: TCPOptions, rhs: TCPOptions) -> Bool {
        lhs.rawCount == rhs.rawCount && lhs.cutShort == rhs.cutShort && lhs.raw == rhs.raw
    }
}

/// Option kinds from the IANA TCP parameters registry that the decoder understands.
enum TCPOptionKind {
    static let endOfList: UInt8 = 0
    static let noOperation: UInt8 = 1
    static let maximumSegmentSize: UInt8 = 2
    static let windowScale: UInt8 = 3
    static let sackPermitted: UInt8 = 4
    static let timestamp: UInt8 = 8
}

/// The one walk over option TLVs, shared by parsing and fingerprinting so they cannot disagree.
enum TCPOptionWalker {
    /// Calls `visit` with each option's kind and a cursor over its value (empty for EOL and NOP),
    /// stopping after EOL. Returns false when an option's length is below 2 or runs past the end.
    static func walk(_ bytes: UnsafeRawBufferPointer, _ visit: (UInt8, inout ByteCursor) -> Void) -> Bool {
        var cursor = ByteCursor(bytes)
        while let kind = cursor.readUInt8() {
            switch kind {
            case TCPOptionKind.endOfList, TCPOptionKind.noOperation:
                var empty = ByteCursor(UnsafeRawBufferPointer(start: nil, count: 0))
                visit(kind, &empty)
                if kind == TCPOptionKind.endOfList { return true }
            default:
                guard let length = cursor.readUInt8(), length >= 2, var value = cursor.take(Int(length) - 2) else {
                    return false
                }
                visit(kind, &value)
            }
        }
        return true
    }
}
