// Benchmark only (issue 18): bench/flatmodel.c's flood through LightScope's own tables. The
// same 1.5 million SYNs, tier and fold as the C model, but the pending probes and the first
// failures in `ExpiringTable`s with the records, capacities and calls the daemon uses
// (`PendingIPv4Probe`'s 28 bytes, `FirstFailureRecord`'s 20; the default budget's
// capacities; an insert that evicts at capacity, expiry that tells of the record 8 on).
// What the tables cost apart from the detection around them: set against the C model's
// 27-32 ns a SYN and 80-91 a judged probe, and against the live stages of bench/HISTORY.md.
//
//     swift build -c release --product lightscope-tablebench
//     .build/release/lightscope-tablebench [SYNs] [rounds] [warm | grow]
//
// Without a third argument the tables are presized and their memory untouched (cold); `grow`
// starts them at the daemon's first size (`DetectionBudget.initialEntries`), doubling as the
// flood fills them; `warm` presizes them and touches their memory first, as the C model does.
import Foundation
import LightScopeCore
import LightScopeFastTables
import CPrefetch

/// `PendingIPv4Probe`'s layout (internal to LightScopeCore): 28 bytes.
struct Pending: TableRecord {
    var remote: UInt32
    var local: UInt32
    var ports: UInt32
    var counts: UInt32
    var stamp = RecordStamp()
    var ttl: UInt8
    var window: UInt16
    var options: UInt16

    var key: ProbeTableKey { ProbeTableKey(remote: remote, local: local, ports: ports) }
}

struct ProbeTableKey: FastHashKey, BitwiseCopyable {
    var remote: UInt32
    var local: UInt32
    var ports: UInt32

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 { seed.hash(UInt64(remote) << 32 | UInt64(local), UInt64(ports)) }
}

/// `FirstFailureRecord`'s layout: 20 bytes.
struct Failure: TableRecord {
    var source: UInt32
    var destination: UInt32
    var stamp = RecordStamp()
    var port: UInt16

    var key: SourceKey { SourceKey(value: source) }
}

struct SourceKey: FastHashKey, BitwiseCopyable {
    var value: UInt32

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 { seed.hash(0, 0x0000_FFFF_0000_0000 | UInt64(value)) }
}

/// bench/model.h's flood: SYNs from random 10/8 sources to ports 1024-65535 of one address,
/// 350,000 a second.
struct SYN { var source, destination: UInt32; var sourcePort, port: UInt16; var nanos: UInt64 }

@inline(__always) func mix(_ value: UInt64) -> UInt64 {
    var x = value
    x ^= x >> 33; x &*= 0xff51_afd7_ed55_8ccd; x ^= x >> 33; x &*= 0xc4ce_b9fe_1a85_ec53
    return x ^ (x >> 33)
}

func makeFlood(_ count: Int) -> [SYN] {
    var r: UInt64 = 12345
    return (0..<count).map { i in
        r = mix(r &+ UInt64(i))
        return SYN(source: 10 << 24 | UInt32(truncatingIfNeeded: r & 0xff_ffff), destination: 0xc000_0201,
                   sourcePort: UInt16(truncatingIfNeeded: r >> 24), port: UInt16(1024 + (r >> 40) % 64512),
                   nanos: UInt64(i) * 1_000_000_000 / 350_000)
    }
}

/// bench/model.h's fold: a judged probe counted into its (port, source /24, minute), 16-byte
/// slots in huge pages as the model's.
final class Folds {
    struct Slot { var network: UInt32; var port: UInt16; var minute: UInt16; var count: UInt32; var sample: UInt32 }
    static let slots = 1 << 21
    static let bytes = slots * MemoryLayout<Slot>.stride
    static let hugePage = 2 << 20
    private let mapping: UnsafeMutableRawPointer
    let table: UnsafeMutablePointer<Slot>
    var used = 0

    init() {
        guard let mapped = mmap(nil, Self.bytes + Self.hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { fatalError("tablebench: no memory for the fold") }
        mapping = mapped
        let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: mapped) + Self.hugePage - 1) & ~(Self.hugePage - 1))!
        madvise(aligned, Self.bytes, 14)   // MADV_HUGEPAGE
        table = aligned.bindMemory(to: Slot.self, capacity: Self.slots)
        clear()
    }

    deinit { munmap(mapping, Self.bytes + Self.hugePage) }

    func clear() {
        UnsafeMutableRawPointer(table).initializeMemory(as: UInt8.self, repeating: 0, count: Self.slots * MemoryLayout<Slot>.stride)
        used = 0
    }

    @inline(__always) static func slot(source: UInt32, port: UInt16, minute: UInt16) -> Int {
        Int(truncatingIfNeeded: mix(UInt64(source >> 8) << 32 | UInt64(port) << 16 | UInt64(minute))) & (slots - 1)
    }

    @inline(__always) func prefetch(source: UInt32, port: UInt16, minute: UInt16) {
        lightscope_prefetch(table + Self.slot(source: source, port: port, minute: minute))
    }

    @inline(__always) func fold(source: UInt32, port: UInt16, minute: UInt16) {
        var slot = Self.slot(source: source, port: port, minute: minute)
        while true {
            if table[slot].count == 0 {
                table[slot] = Slot(network: source >> 8, port: port, minute: minute, count: 1, sample: source)
                used += 1
                break
            }
            if table[slot].network == source >> 8 && table[slot].port == port && table[slot].minute == minute {
                table[slot].count += 1
                break
            }
            slot = (slot + 1) & (Self.slots - 1)
        }
        if used > Self.slots / 2 { clear() }
    }
}

let arguments = CommandLine.arguments
let synCount = arguments.count > 1 ? Int(arguments[1]) ?? 1_500_000 : 1_500_000
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
let warm = arguments.count > 3 && arguments[3] == "warm"
/// `grow`: the tables start at the daemon's first size and double as the flood fills them.
let initialEntries = arguments.count > 3 && arguments[3] == "grow" ? DetectionBudget.initialEntries : Int.max
let capacities = DetectionCapacities(settings: Settings.Detection())
let flood = makeFlood(synCount)
let timeout: UInt64 = 10_000_000_000
let distance = ExpiringTable<Pending>.expiryPrefetchDistance

func monotonic() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// One round: the tables and counts in one struct, worked on by its own mutating methods, as
/// the daemon's detection core is (closures given to the tables reach them through `self`).
struct FloodRun {
    var pending = ExpiringTable<Pending>(maximumCapacity: capacities.pendingProbes, initialCapacity: min(initialEntries, capacities.pendingProbes),
                                         pool: .unlimited())
    var tier = ExpiringTable<Failure>(maximumCapacity: capacities.firstFailures, initialCapacity: min(initialEntries, capacities.firstFailures),
                                      pool: .unlimited())
    let folds = Folds()
    var lost = 0, judged = 0, secondFailures = 0

    mutating func arrive(_ syns: UnsafeBufferPointer<SYN>) {
        for i in syns.indices {
            if i + distance < syns.count {
                let next = syns[i + distance]
                pending.prefetch(ProbeTableKey(remote: next.source, local: next.destination,
                                               ports: UInt32(next.sourcePort) << 16 | UInt32(next.port)))
            }
            let syn = syns[i]
            let key = ProbeTableKey(remote: syn.source, local: syn.destination, ports: UInt32(syn.sourcePort) << 16 | UInt32(syn.port))
            pending.insertOrModify(key, nowNanos: syn.nanos, make: {
                var record = Pending(remote: key.remote, local: key.local, ports: key.ports, counts: 1 << 24, ttl: 64,
                                     window: 1024, options: 1)
                record.stamp.mark = 1
                return record
            }, { record, _ in record.counts &+= 1 }, evicted: { _, _ in lost &+= 1 })
        }
    }

    mutating func judgeAll() {
        var table = ExpiringTable<Pending>(capacity: 1)
        swap(&table, &pending)
        table.expire(touchedAtOrBefore: .max, ahead: { record in
            tier.prefetch(hash: tier.hash(of: SourceKey(value: record.remote)))
            // The whole flood (4.3 s of it) is in its first minute.
            folds.prefetch(source: record.remote, port: UInt16(truncatingIfNeeded: record.ports), minute: 0)
        }) { record, touched in judge(record, touched: touched) }
        swap(&table, &pending)
    }

    @inline(__always)
    mutating func judge(_ record: Pending, touched: UInt64) {
        judged &+= 1
        let source = SourceKey(value: record.remote)
        var made = false
        tier.insertOrModify(source, hash: tier.hash(of: source), nowNanos: touched + timeout, make: {
            made = true
            return Failure(source: record.remote, destination: record.local, port: UInt16(truncatingIfNeeded: record.ports))
        }, { _, _ in }, evicted: { _, _ in })
        if !made {
            tier.remove(source)
            secondFailures &+= 1
        }
        folds.fold(source: record.remote, port: UInt16(truncatingIfNeeded: record.ports),
                   minute: UInt16(truncatingIfNeeded: touched / 60_000_000_000))
    }
}

for _ in 0..<rounds {
    let made = monotonic()
    var run = FloodRun()
    let setUp = monotonic() - made
    if warm {
        // The tables' memory touched first, as the C model's is: the flood in and out
        // again, and the tier filled and emptied.
        flood.withUnsafeBufferPointer { run.arrive($0) }
        run.pending.expire(touchedAtOrBefore: .max) { _, _ in }
        for source in 0..<UInt32(capacities.firstFailures) {
            run.tier.insertOrModify(SourceKey(value: source), nowNanos: 0, make: { Failure(source: source, destination: 0, port: 0) },
                                    { _, _ in }, evicted: { _, _ in })
        }
        run.tier.expire(touchedAtOrBefore: .max) { _, _ in }
        run.lost = 0
        run.judged = 0
        run.secondFailures = 0
    }
    var start = monotonic()
    // Until the table is full, then with an eviction each.
    let filling = min(synCount, capacities.pendingProbes)
    flood.withUnsafeBufferPointer { run.arrive(UnsafeBufferPointer(rebasing: $0[..<filling])) }
    let filled = monotonic() - start
    flood.withUnsafeBufferPointer { run.arrive(UnsafeBufferPointer(rebasing: $0[filling...])) }
    let arrival = monotonic() - start
    start = monotonic()
    run.judgeAll()
    let verdicts = monotonic() - start
    print(String(format: "tables: set up %.1f ms, filling %.0f ns a SYN, evicting %.0f; ", Double(setUp) / 1e6, Double(filled) / Double(filling),
                 Double(arrival - filled) / Double(max(1, synCount - filling))), terminator: "")
    print(String(format: "arrival %.0f ns a SYN, verdict %.0f ns a judged probe, %.0f ns a packet; judged %d, lost %d, "
                 + "tier evictions %d, second failures %d", Double(arrival) / Double(synCount), Double(verdicts) / Double(run.judged),
                 Double(arrival + verdicts) / Double(synCount), run.judged, run.lost, Int(run.tier.evictions), run.secondFailures))
}
