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

    /// Batches between the reading thread and the caller: enough for the reader to run
    /// ahead while the caller works through one.
    static let batchesInFlight = 4

    /// Like `forEachPacket`, with libpcap's reading (file I/O, record parsing, one copy of
    /// each packet into a `PacketBatch`) on a thread of its own, a few batches ahead of
    /// `visit`. On a machine with a spare core the two overlap. `visit` is still called on
    /// the calling thread, once per packet, in file order, so results do not change.
    public func forEachPacketReadingAhead(_ visit: PacketVisitor) -> String? {
        let full = HandoffQueue<PacketBatch>(capacity: Self.batchesInFlight)
        let empty = HandoffQueue<PacketBatch>(capacity: Self.batchesInFlight)
        for _ in 0..<Self.batchesInFlight { empty.put(PacketBatch()) }
        let outcome = ReadOutcome()
        let thread = DedicatedThread()
        thread.start(name: "lightscope-read") { [self] in
            // Only this thread touches the handle until `full` is closed.
            var batch = empty.take()! // filled above
            let damage = forEachPacket { bytes, wireLength, timestamp in
                if batch.append(bytes, wireLength: wireLength, timestampNanos: timestamp) { return }
                full.put(batch)
                batch = empty.take()! // the caller hands every batch back until `full` is closed
                _ = batch.append(bytes, wireLength: wireLength, timestampNanos: timestamp) // an empty batch always has room
            }
            // An empty last batch goes nowhere else, so it is freed here, not leaked.
            if batch.isEmpty { batch.deallocate() } else { full.put(batch) }
            outcome.damage = damage // published by the queue's lock: `close` below, `take` on the caller's side
            full.close()
        }
        while var batch = full.take() {
            batch.forEach(visit)
            batch.removeAll()
            empty.put(batch)
        }
        thread.join()
        empty.close()
        while let batch = empty.take() { batch.deallocate() }
        return outcome.damage
    }

    private final class ReadOutcome: @unchecked Sendable {
        var damage: String?
    }

    private struct VisitorBox {
        var visit: PacketVisitor
    }
}
