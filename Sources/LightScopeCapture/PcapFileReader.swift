import CPcap
import LightScopeCore

/// Reads a capture file with libpcap (pcap or pcapng), packet by packet.
public final class PcapFileReader {
    public let path: String
    public let linkType: Int32
    private var handle: OpaquePointer?

    public init(path: String) throws(DaemonError) {
        self.path = path
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let opened = pcap_open_offline(path, &errorBuffer) else {
            throw DaemonError("Cannot read capture file \(path): \(String(pcapError: errorBuffer)); check the path and that it is a pcap or pcapng file",
                              exitCode: .failure)
        }
        handle = opened
        linkType = pcap_datalink(opened)
    }

    deinit {
        if let handle { pcap_close(handle) }
    }

    public typealias PacketVisitor = (_ bytes: UnsafeRawBufferPointer, _ wireLength: Int, _ timestampNanos: UInt64) -> Void

    /// Calls `visit` for every packet. Returns nil at a clean end of file, or libpcap's
    /// description of the damage when the file is corrupt or truncated (after every
    /// readable packet has been visited).
    public func forEachPacket(_ visit: PacketVisitor) -> String? {
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
