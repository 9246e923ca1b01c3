/// Captured packets copied out of libpcap's buffer into one flat block, so a run of them can
/// be handed to another thread (libpcap's own buffer is only valid during its callback).
///
/// A struct over two allocations, owned by whichever thread holds it (handed over through a
/// `HandoffQueue`) and reused: the consumer empties it and hands it back, and whoever ends
/// up with it last calls `deallocate`. Not a class: a class's stored properties get a
/// dynamic exclusivity check on every access, and a batch is written once per packet.
struct PacketBatch: @unchecked Sendable {
    /// Bytes of packet data per batch: above the largest snapshot length libpcap allows
    /// (262,144), so any one packet fits an empty batch.
    static let byteCapacity = 1 << 20
    /// Packets per batch, whatever their size.
    static let packetCapacity = 8192

    struct Record {
        var offset: Int
        var capturedLength: Int
        var wireLength: Int
        var timestampNanos: UInt64
    }

    private let bytes = UnsafeMutableRawPointer.allocate(byteCount: PacketBatch.byteCapacity, alignment: 16)
    private let records = UnsafeMutablePointer<Record>.allocate(capacity: PacketBatch.packetCapacity)
    private(set) var count = 0
    private var used = 0

    init() {}

    func deallocate() {
        bytes.deallocate()
        records.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Copies one packet in; false when it does not fit (hand the batch on and retry with an
    /// empty one, which always has room).
    mutating func append(_ packet: UnsafeRawBufferPointer, wireLength: Int, timestampNanos: UInt64) -> Bool {
        guard count < Self.packetCapacity, packet.count <= Self.byteCapacity - used else { return false }
        if let source = packet.baseAddress, packet.count > 0 {
            (bytes + used).copyMemory(from: source, byteCount: packet.count)
        }
        (records + count).initialize(to: Record(offset: used, capturedLength: packet.count, wireLength: wireLength,
                                                timestampNanos: timestampNanos))
        count += 1
        // Each packet starts 8-byte aligned, as in libpcap's own buffers.
        used = min(Self.byteCapacity, (used + packet.count + 7) & ~7)
        return true
    }

    /// Calls `visit` for each packet in order.
    func forEach(_ visit: PcapFileReader.PacketVisitor) {
        for index in 0..<count {
            let record = records[index]
            visit(UnsafeRawBufferPointer(start: bytes + record.offset, count: record.capturedLength),
                  record.wireLength, record.timestampNanos)
        }
    }

    mutating func removeAll() {
        count = 0
        used = 0
    }
}
