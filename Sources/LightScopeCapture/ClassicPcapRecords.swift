#if canImport(Glibc)
import Glibc
#endif

/// The records of a classic pcap file (the format `tcpdump -w` writes), read straight from
/// the file in large chunks and handed over where they lie: no copy of a packet in user
/// space. libpcap reads a file through stdio, one `fread` for each record header and one for
/// each packet, copying every packet twice on its way; for `lightscope replay` that was most
/// of the cost of reading.
///
/// Only the plain, well-formed case is read here; libpcap stays the authority on everything
/// else. `PcapFileReader` opens every file with libpcap (which checks the header and gives
/// the link type) and uses this reader only for a classic pcap file of version 2.4. A record
/// this reader would have to judge (a captured length above the file's snapshot length, or
/// a record cut short by the end of the file) ends its part: it reports the record's offset
/// and libpcap reads on from there, with its own checks and its own error messages.
/// `PcapFileReaderTests` hold the two to the same packets on well-formed, damaged and odd files.
///
/// Inlinable, with `PcapFileReader.forEachPacket`: the caller's visitor is then compiled
/// into the loop, not called through a closure context for each of millions of packets.
@usableFromInline
struct ClassicPcapRecords {
    /// How the file's header says its fields are stored.
    @usableFromInline
    struct Layout {
        @usableFromInline var bigEndian: Bool
        /// The fraction field counts nanoseconds (magic 0xa1b23c4d), not microseconds.
        @usableFromInline var nanosecond: Bool

        @usableFromInline static let headerSize = 24
        @usableFromInline static let recordHeaderSize = 16

        /// From the file's first 24 bytes; nil for anything but a classic pcap file of
        /// version 2.4 (pcapng, older versions with their quirks, not a capture at all).
        init?(header: UnsafeRawBufferPointer) {
            guard header.count >= Self.headerSize else { return nil }
            switch header.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian {
            case 0xA1B2_C3D4: (bigEndian, nanosecond) = (false, false)
            case 0xA1B2_3C4D: (bigEndian, nanosecond) = (false, true)
            case 0xD4C3_B2A1: (bigEndian, nanosecond) = (true, false)
            case 0x4D3C_B2A1: (bigEndian, nanosecond) = (true, true)
            default: return nil
            }
            let layout = self
            guard layout.load16(header, at: 4) == 2, layout.load16(header, at: 6) == 4 else { return nil }
        }

        @inlinable @inline(__always)
        func load32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
            let raw = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
        }

        @inlinable @inline(__always)
        func load16(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
            let raw = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
            return bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
        }

        /// The file's byte order is not this machine's.
        @inlinable
        var swapped: Bool { bigEndian != (1.bigEndian == 1) }

        /// A record's time as libpcap 1.10 hands it over by default, in nanoseconds: at
        /// microsecond precision (a nanosecond file's fraction is cut to whole microseconds),
        /// the fields read as signed 32-bit values from a file in this machine's byte order
        /// and as unsigned ones from a swapped file (libpcap's byte swap yields unsigned).
        @inlinable @inline(__always)
        func timestampNanos(seconds: UInt32, fraction: UInt32) -> UInt64 {
            let (seconds, fraction) = swapped ? (Int(seconds), Int(fraction))
                                              : (Int(Int32(bitPattern: seconds)), Int(Int32(bitPattern: fraction)))
            return PacketTimestamp.nanoseconds(seconds: seconds, microseconds: nanosecond ? fraction / 1000 : fraction)
        }
    }

    /// Bytes read from the file at once; also room for the largest record libpcap accepts
    /// (a 16-byte header and 262,144 bytes), so a whole record always fits.
    @usableFromInline static let chunkSize = 1 << 20

    /// Where a read ended.
    @usableFromInline
    enum End {
        /// The file ended exactly after a record.
        case endOfFile
        /// A record this reader leaves to libpcap starts at this offset in the file.
        case handOver(offset: Int64)
        /// The file could not be read (errno).
        case readFailed(Int32)
    }

    /// Calls `visit` for each record from `offset` (just after the file header) on, in file
    /// order, with the packet's bytes where they lie in the chunk: valid during the call only.
    /// `snapshotLength` is libpcap's for this file (`pcap_snapshot`): longer records are its
    /// to judge.
    @inlinable
    static func forEachRecord(fileDescriptor: Int32, from offset: Int64, layout: Layout, snapshotLength: Int,
                              _ visit: PcapFileReader.PacketVisitor) -> End {
        let maximumCaptured = min(snapshotLength, chunkSize - Layout.recordHeaderSize)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var bufferOffset = offset // the file offset of buffer[0]
        var filled = 0
        var parsed = 0
        while true {
            // Keep the unparsed tail (part of a record) and fill the rest of the chunk.
            if parsed > 0 {
                if filled > parsed { buffer.copyMemory(from: buffer + parsed, byteCount: filled - parsed) }
                bufferOffset += Int64(parsed)
                filled -= parsed
                parsed = 0
            }
            let count = pread(fileDescriptor, buffer + filled, chunkSize - filled, off_t(bufferOffset + Int64(filled)))
            if count < 0 {
                if errno == EINTR { continue }
                return .readFailed(errno)
            }
            if count == 0 {
                // A partial record at the end: libpcap reports the truncation in its words.
                return filled == 0 ? .endOfFile : .handOver(offset: bufferOffset)
            }
            filled += count
            let chunk = UnsafeRawBufferPointer(start: buffer, count: filled)
            while filled - parsed >= Layout.recordHeaderSize {
                let captured = Int(layout.load32(chunk, at: parsed + 8))
                guard captured <= maximumCaptured else { return .handOver(offset: bufferOffset + Int64(parsed)) }
                guard filled - parsed - Layout.recordHeaderSize >= captured else { break }
                let time = layout.timestampNanos(seconds: layout.load32(chunk, at: parsed), fraction: layout.load32(chunk, at: parsed + 4))
                let wireLength = Int(layout.load32(chunk, at: parsed + 12))
                visit(UnsafeRawBufferPointer(start: buffer + parsed + Layout.recordHeaderSize, count: captured), wireLength, time)
                parsed += Layout.recordHeaderSize + captured
            }
        }
    }
}
