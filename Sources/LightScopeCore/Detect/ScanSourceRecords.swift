/// What a scan source did in its window, unpacked from its table record for counting.
struct SourceActivity {
    var attempts: UInt32 = 0
    var targetCount = 0
    var flags: ScanFlags = [.targetsShareHost, .targetsSharePort]
    /// The first target, kept in the record itself: most sources fail once, and then
    /// cost no target block.
    var firstHost = IPAddress(high: 0, low: 0)
    var firstPort: UInt16 = 0
    /// A bit per target's port and per target's host (`bit(of:)`): a clear bit says no
    /// target has that port (host) without a look at the targets.
    var portBits: UInt16 = 0
    var hostBits: UInt16 = 0
    /// The newest of the blocks holding the targets after the first (`ScanTargets`); 0: none.
    var spill: UInt32 = 0

    /// What counting one attempt at `target` in a fresh window makes, when it crosses no
    /// threshold (`ScanLimits.count`'s first target): one attempt, one target, its bits.
    @inline(__always)
    static func firstAttempt(at target: ScanTracker.Target) -> SourceActivity {
        SourceActivity(attempts: 1, targetCount: 1, firstHost: target.address, firstPort: target.port,
                       portBits: bit(of: target.port), hostBits: bit(of: target.address))
    }

    @inline(__always)
    static func bit(of port: UInt16) -> UInt16 { 1 << (port & 15) }
    @inline(__always)
    static func bit(of host: IPAddress) -> UInt16 { 1 << ((host.low ^ host.high) & 15) }
}

struct ScanFlags: OptionSet {
    let rawValue: UInt8
    static let reportedPortscan = ScanFlags(rawValue: 1)
    static let reportedAddrscan = ScanFlags(rawValue: 2)
    /// Every target so far is on the first target's host (a port scan's shape), or has its
    /// port (an address scan's): then the counts follow from `targetCount`, and only whether
    /// the target is new needs a look at the targets.
    static let targetsShareHost = ScanFlags(rawValue: 4)
    static let targetsSharePort = ScanFlags(rawValue: 8)
}

/// An IPv4 source whose targets are all IPv4: 32 bytes. The stamp's time is its window's start.
struct IPv4SourceRecord: TableRecord {
    var source: UInt32
    var attempts: UInt32
    var firstHost: UInt32
    var spill: UInt32
    var stamp = RecordStamp()
    var flags: UInt8
    var firstPort: UInt16
    var targetCount: UInt16
    var portBits: UInt16
    var hostBits: UInt16

    var key: IPv4Key { IPv4Key(value: source) }

    /// `activity`'s targets must all be IPv4.
    init(source: UInt32, _ activity: SourceActivity) {
        self.source = source
        attempts = activity.attempts
        firstHost = UInt32(truncatingIfNeeded: activity.firstHost.low)
        spill = activity.spill
        flags = activity.flags.rawValue
        firstPort = activity.firstPort
        targetCount = UInt16(activity.targetCount)
        portBits = activity.portBits
        hostBits = activity.hostBits
    }

    var activity: SourceActivity {
        SourceActivity(attempts: attempts, targetCount: Int(targetCount), flags: ScanFlags(rawValue: flags),
                       firstHost: targetCount == 0 ? IPAddress(high: 0, low: 0) : IPAddress(ipv4: firstHost),
                       firstPort: firstPort, portBits: portBits, hostBits: hostBits, spill: spill)
    }
}

/// Any other source (IPv6, or IPv4 with a target of another family): 56 bytes.
struct WideSourceRecord: TableRecord {
    var source: PackedAddress
    var firstHost: PackedAddress
    var attempts: UInt32
    var spill: UInt32
    var stamp = RecordStamp()
    var flags: UInt8
    var firstPort: UInt16
    var targetCount: UInt16
    var portBits: UInt16
    var hostBits: UInt16

    var key: IPAddress { source.address }

    init(source: IPAddress, _ activity: SourceActivity) {
        self.source = PackedAddress(source)
        attempts = activity.attempts
        firstHost = PackedAddress(activity.firstHost)
        spill = activity.spill
        flags = activity.flags.rawValue
        firstPort = activity.firstPort
        targetCount = UInt16(activity.targetCount)
        portBits = activity.portBits
        hostBits = activity.hostBits
    }

    var activity: SourceActivity {
        SourceActivity(attempts: attempts, targetCount: Int(targetCount), flags: ScanFlags(rawValue: flags),
                       firstHost: firstHost.address, firstPort: firstPort, portBits: portBits, hostBits: hostBits, spill: spill)
    }
}

/// The targets of scan sources beyond each one's first, in 64-byte blocks from one
/// `BlockPool`: ten IPv4 targets a block, or three of another family (a wide source's).
/// A source's blocks form a chain, newest first, so adding a target touches one block.
///
/// A class, so that table callbacks (an evicted source gives its blocks back) can reach it
/// while the tracker's tables are being changed.
final class ScanTargets {
    let blocks: BlockPool
    /// IPv4 sources in the wide table (they probed a host of another family, through an
    /// IPv4-mapped address): while there are any, an IPv4 source is looked for there too.
    @exclusivity(unchecked) var ipv4SourcesInWideTable = 0

    static let ipv4PerBlock = 10
    static let widePerBlock = 3

    init(blocks: BlockPool) {
        self.blocks = blocks
    }

    /// The blocks a source with `targets` targets takes (its first lives in its record).
    static func blocks(holding targets: Int, wide: Bool) -> Int {
        let perBlock = wide ? widePerBlock : ipv4PerBlock
        return (max(0, targets - 1) + perBlock - 1) / perBlock
    }

    /// Calls `body` with each target after the first, newest block first, until it returns false.
    func forEachSpilled(_ activity: SourceActivity, wide: Bool, _ body: (ScanTracker.Target) -> Bool) {
        let perBlock = wide ? Self.widePerBlock : Self.ipv4PerBlock
        var remaining = activity.targetCount - 1
        var handle = activity.spill
        while handle != 0, remaining > 0 {
            let block = blocks.block(handle)
            let inBlock = remaining - (remaining - 1) / perBlock * perBlock
            for position in 0..<inBlock where !body(Self.target(in: block, at: position, wide: wide)) { return }
            remaining -= inBlock
            handle = block.load(as: UInt32.self)
        }
    }

    /// Stores one more target after the first (the count is the caller's to raise); false,
    /// changing nothing, if it needs a block and there is none.
    func append(_ target: ScanTracker.Target, to activity: inout SourceActivity, wide: Bool) -> Bool {
        let perBlock = wide ? Self.widePerBlock : Self.ipv4PerBlock
        let spilled = activity.targetCount - 1
        if spilled % perBlock == 0 {
            guard let fresh = blocks.allocate() else { return false }
            blocks.block(fresh).storeBytes(of: activity.spill, as: UInt32.self)
            activity.spill = fresh
        }
        Self.store(target, in: blocks.block(activity.spill), at: spilled % perBlock, wide: wide)
        return true
    }

    /// Gives back a source's blocks.
    func release(_ spill: UInt32) {
        var handle = spill
        while handle != 0 {
            let next = blocks.block(handle).load(as: UInt32.self)
            blocks.free(handle)
            handle = next
        }
    }

    /// The wide form of an IPv4 source's spilled targets, in fresh blocks; nil, keeping
    /// none, if the blocks run out. The IPv4 blocks are left as they were.
    func widened(_ activity: SourceActivity) -> UInt32? {
        var targets: [ScanTracker.Target] = []
        forEachSpilled(activity, wide: false) { targets.append($0); return true }
        var wide = SourceActivity(targetCount: 1)
        for target in targets.reversed() {
            guard append(target, to: &wide, wide: true) else {
                release(wide.spill)
                return nil
            }
            wide.targetCount += 1
        }
        return wide.spill
    }

    private static func target(in block: UnsafeMutableRawPointer, at position: Int, wide: Bool) -> ScanTracker.Target {
        if wide {
            let host = block.loadUnaligned(fromByteOffset: 4 + 16 * position, as: PackedAddress.self).address
            return ScanTracker.Target(address: host, port: block.load(fromByteOffset: 52 + 2 * position, as: UInt16.self))
        }
        let host = IPAddress(ipv4: block.load(fromByteOffset: 4 + 4 * position, as: UInt32.self))
        return ScanTracker.Target(address: host, port: block.load(fromByteOffset: 44 + 2 * position, as: UInt16.self))
    }

    private static func store(_ target: ScanTracker.Target, in block: UnsafeMutableRawPointer, at position: Int, wide: Bool) {
        if wide {
            block.storeBytes(of: PackedAddress(target.address), toByteOffset: 4 + 16 * position, as: PackedAddress.self)
            block.storeBytes(of: target.port, toByteOffset: 52 + 2 * position, as: UInt16.self)
        } else {
            block.storeBytes(of: UInt32(truncatingIfNeeded: target.address.low), toByteOffset: 4 + 4 * position, as: UInt32.self)
            block.storeBytes(of: target.port, toByteOffset: 44 + 2 * position, as: UInt16.self)
        }
    }
}
