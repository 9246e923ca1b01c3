import CPcap
#if canImport(Glibc)
import Glibc
#endif
import LightScopeCore

/// Reads a capture file (pcap or pcapng), packet by packet.
public final class PcapFileReader {
    public let path: String
    public let linkType: Int32
    @usableFromInline var handle: OpaquePointer?
    @usableFromInline let classicLayout: ClassicPcapRecords.Layout?

    public init(path: String) throws(DaemonError) {
        self.path = path
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let opened = pcap_open_offline(path, &errorBuffer) else {
            throw DaemonError("Cannot read capture file \(path): \(String(pcapError: errorBuffer)); check the path and that it is a pcap or pcapng file",
                              exitCode: .failure)
        }
        handle = opened
        linkType = pcap_datalink(opened)
        classicLayout = Self.classicLayout(of: opened)
    }

    /// The layout of a classic pcap file of version 2.4, read from the header libpcap has
    /// just accepted; nil for pcapng or anything else, which libpcap reads alone.
    private static func classicLayout(of handle: OpaquePointer) -> ClassicPcapRecords.Layout? {
        guard pcap_major_version(handle) == 2, pcap_minor_version(handle) == 4, let file = pcap_file(handle) else { return nil }
        var header = [UInt8](repeating: 0, count: ClassicPcapRecords.Layout.headerSize)
        let count = header.withUnsafeMutableBytes { pread(fileno(file), $0.baseAddress, $0.count, 0) }
        guard count == header.count else { return nil }
        return header.withUnsafeBytes { ClassicPcapRecords.Layout(header: $0) }
    }

    deinit {
        if let handle { pcap_close(handle) }
    }

    public typealias PacketVisitor = (_ bytes: UnsafeRawBufferPointer, _ wireLength: Int, _ timestampNanos: UInt64) -> Void

    /// Calls `visit` for every packet, in file order. Returns nil at a clean end of file, or
    /// libpcap's description of the damage when the file is corrupt or truncated (after every
    /// readable packet has been visited).
    ///
    /// A classic pcap file is read in large chunks with its packets handed over in place
    /// (`ClassicPcapRecords`); libpcap reads anything else, and the rest of a classic file
    /// from the first record it would have to judge. Inlinable, so that `visit` is compiled
    /// into the loop (see `ClassicPcapRecords`).
    @inlinable
    public func forEachPacket(_ visit: PacketVisitor) -> String? {
        guard let handle else { return nil }
        if let layout = classicLayout {
            let end = ClassicPcapRecords.forEachRecord(fileDescriptor: fileno(pcap_file(handle)),
                                                       from: Int64(ClassicPcapRecords.Layout.headerSize), layout: layout,
                                                       snapshotLength: Int(pcap_snapshot(handle)), visit)
            switch end {
            case .endOfFile:
                return nil
            case .readFailed(let code):
                return "read error: \(String(cString: strerror(code)))"
            case .handOver(let offset):
                guard fseeko(pcap_file(handle), off_t(offset), SEEK_SET) == 0 else {
                    return "cannot seek to offset \(offset): \(String(cString: strerror(errno)))"
                }
            }
        }
        return forEachPacketThroughLibpcap(visit)
    }

    /// libpcap's own reading (`pcap_dispatch`), from wherever its file position is.
    @usableFromInline
    func forEachPacketThroughLibpcap(_ visit: PacketVisitor) -> String? {
        guard let handle else { return nil }
        return withoutActuallyEscaping(visit) { visitor in
            var box = VisitorBox(visit: visitor)
            return withUnsafeMutablePointer(to: &box) { pointer -> String? in
                while true {
                    let count = pcap_dispatch(handle, 4096, { context, header, bytes in
                        guard let context, let header, let bytes else { return }
                        let box = UnsafeMutableRawPointer(context).assumingMemoryBound(to: VisitorBox.self)
                        let timestamp = PacketTimestamp.nanoseconds(header.pointee.ts)
                        box.pointee.visit(UnsafeRawBufferPointer(start: bytes, count: Int(header.pointee.caplen)),
                                          Int(header.pointee.len), timestamp)
                    }, UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt8.self))
                    if count == 0 { return nil }
                    if count < 0 { return String(cString: pcap_geterr(handle)) }
                }
            }
        }
    }

    private struct VisitorBox {
        var visit: PacketVisitor
    }
}
