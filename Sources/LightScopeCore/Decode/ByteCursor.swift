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

    /// The next byte without consuming it, for dispatch on a version nibble.
    @inline(__always)
    func peekUInt8() -> UInt8? {
        offset < end ? bytes.load(fromByteOffset: offset, as: UInt8.self) : nil
    }

    /// The next `size` bytes as a fixed-size header, stepped past; nil (and no move) when fewer
    /// remain. One bounds check for a whole header instead of one per field: its fields are
    /// then read at fixed offsets within it (`FixedHeader`).
    @inline(__always)
    mutating func readHeader(_ size: Int) -> FixedHeader? {
        guard size > 0, size <= remaining, let base = bytes.baseAddress else { return nil }
        defer { offset += size }
        return FixedHeader(start: base + offset, size: size)
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

    /// The same bytes read again from the first (to decode headers a second time), up to the same end.
    func restarted() -> ByteCursor {
        var cursor = self
        cursor.offset = 0
        return cursor
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

/// A header whose bytes `ByteCursor.readHeader` has checked are all there: fields are read at
/// offsets within it, each below `size` (checked in debug builds; the offsets are constants
/// of each header's layout, next to the size they are read after).
struct FixedHeader {
    private let start: UnsafeRawPointer
    private let size: Int

    @inline(__always)
    fileprivate init(start: UnsafeRawPointer, size: Int) {
        self.start = start
        self.size = size
    }

    @inline(__always)
    func uint8(at offset: Int) -> UInt8 {
        assert(offset >= 0 && offset < size)
        return start.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    func uint16(at offset: Int) -> UInt16 {
        assert(offset >= 0 && offset + 2 <= size)
        return UInt16(bigEndian: start.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func uint32(at offset: Int) -> UInt32 {
        assert(offset >= 0 && offset + 4 <= size)
        return UInt32(bigEndian: start.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func uint64(at offset: Int) -> UInt64 {
        assert(offset >= 0 && offset + 8 <= size)
        return UInt64(bigEndian: start.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
