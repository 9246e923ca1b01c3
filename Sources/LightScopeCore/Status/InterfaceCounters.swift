import Synchronization

/// Per-interface figures, written by that interface's capture loop and read by the
/// runner for STATUS=. They outlive a capture handle, so an interface that vanishes
/// and returns keeps counting from where it was.
public final class InterfaceCounters: Sendable {
    public let interfaceName: String
    private let packets = Atomic<UInt64>(0)
    private let bytes = Atomic<UInt64>(0)
    private let unwanted = Atomic<UInt64>(0)
    /// Drops reported by previous handles (pcap_stats restarts from zero on each open).
    private let closedHandleDrops = Atomic<UInt64>(0)
    private let currentHandleDrops = Atomic<UInt64>(0)

    public init(interfaceName: String) {
        self.interfaceName = interfaceName
    }

    public func addPackets(_ count: UInt64, bytes byteCount: UInt64) {
        packets.wrappingAdd(count, ordering: .relaxed)
        bytes.wrappingAdd(byteCount, ordering: .relaxed)
    }

    public func addUnwanted(_ count: UInt64) {
        unwanted.wrappingAdd(count, ordering: .relaxed)
    }

    /// The kernel's cumulative drop count for the open handle (pcap_stats ps_drop + ps_ifdrop).
    public func setHandleDrops(_ drops: UInt64) {
        currentHandleDrops.store(drops, ordering: .relaxed)
    }

    /// The handle closed: keep its drops in the total, and start the next handle at zero.
    public func handleClosed() {
        closedHandleDrops.wrappingAdd(currentHandleDrops.exchange(0, ordering: .relaxed), ordering: .relaxed)
    }

    public var snapshot: Snapshot {
        Snapshot(interfaceName: interfaceName,
                 packets: packets.load(ordering: .relaxed),
                 bytes: bytes.load(ordering: .relaxed),
                 unwanted: unwanted.load(ordering: .relaxed),
                 drops: closedHandleDrops.load(ordering: .relaxed) &+ currentHandleDrops.load(ordering: .relaxed))
    }

    public struct Snapshot: Equatable, Sendable {
        public var interfaceName: String
        public var packets: UInt64
        public var bytes: UInt64
        public var unwanted: UInt64
        public var drops: UInt64

        public init(interfaceName: String, packets: UInt64, bytes: UInt64, unwanted: UInt64, drops: UInt64) {
            self.interfaceName = interfaceName
            self.packets = packets
            self.bytes = bytes
            self.unwanted = unwanted
            self.drops = drops
        }
    }
}
