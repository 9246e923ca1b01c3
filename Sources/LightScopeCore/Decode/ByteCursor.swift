/// The only way the decoder reads packet bytes, after tcpdump's `GET_*` macros: every read
/// checks the bounds and answers nil past the end, so a truncated or hostile packet is an
/// ordinary outcome that each layer names, never a crash. It reads in place (no copies) from a
/// buffer that is only valid during the capture callback, so a cursor must not outlive it.
struct ByteCursor {
    private let bytes: UnsafeRawBufferPointer
    /// Offset of the next byte to read, from the start of the whole packet.
    private(set) var offset: Int
    /// One past the last readable byte: the captured length, or less once a header has
    /// declared a shorter length (Ethernet pads short frames; ICMP quotes only a prefix).
    private var end: Int

    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
    }

    @inline(__always)
    var remaining: Int { end - offset }

    @inline(__always)
    mutating func readUInt8() -> UInt8? {
        guard offset < end else { return nil }
        defer { offset += 1 }
        return bytes.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    mutating func readUInt16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    mutating func readUInt32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { offset += 4 }
        return UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    mutating func readUInt64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        defer { offset += 8 }
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The next byte without consuming it, for dispatch on a version nibble.
    @inline(__always)
    func peekUInt8() -> UInt8? {
        offset < end ? bytes.load(fromByteOffset: offset, as: UInt8.self) : nil
    }

    @inline(__always)
    mutating func readIPv4Address() -> IPAddress? {
        readUInt32().map(IPAddress.init(ipv4:))
    }

    @inline(__always)
    mutating func readIPv6Address() -> IPAddress? {
        guard remaining >= 16, let high = readUInt64(), let low = readUInt64() else { return nil }
        return IPAddress(high: high, low: low)
    }

    /// Steps over `count` bytes; false (and no move) when fewer remain or `count` is negative.
    @inline(__always)
    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, count <= remaining else { return false }
        offset += count
        return true
    }

    /// Splits off the next `count` bytes as a cursor of their own and steps past them, so a
    /// length-prefixed field can be parsed without any read escaping into what follows.
    @inline(__always)
    mutating func take(_ count: Int) -> ByteCursor? {
        guard count >= 0, count <= remaining else { return nil }
        var field = self
        field.end = offset + count
        offset += count
        return field
    }

    /// Caps what is readable at `count` more bytes when a header declares less than was captured.
    /// Never extends past the captured end: a declared length cannot make bytes appear.
    @inline(__always)
    mutating func limit(to count: Int) {
        end = offset + max(0, min(count, remaining))
    }

    /// Copies exactly `destination.count` bytes out and steps past them; false (and no copy)
    /// when fewer remain. The one sanctioned copy: for fields that must outlive the packet.
    @inline(__always)
    mutating func copyBytes(into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard destination.count <= remaining else { return false }
        if let target = destination.baseAddress, let source = bytes.baseAddress, destination.count > 0 {
            target.copyMemory(from: source + offset, byteCount: destination.count)
        }
        offset += destination.count
        return true
    }
}
