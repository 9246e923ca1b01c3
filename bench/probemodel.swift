// bench/probemodel.c, line for line in Swift: does the language itself reach the model's cost?
// (bench/HISTORY.md, session 22). The same flood, tables, hashing and prefetching; the tables
// are unsafe pointers into huge-page mappings, as LightScope's are, and the code is built
// with -O as the package is. Not LightScope.
// Build and run (the prefetch is LightScope's own, from its C shim's header):
//   swiftc -O -I Sources/CPrefetch/include -o /tmp/probemodel-swift bench/probemodel.swift
//   /tmp/probemodel-swift 1500000 [prefetch 0|1]
import CPrefetch
import Glibc

let pendingCapacity = 1 << 20, indexSlots = 1 << 21, sourceSlots = 1 << 18, foldSlots = 1 << 21
let timeoutMillis: UInt32 = 10000, prefetchAhead = 8

struct Probe { var source: UInt32, destination: UInt32, sourcePort: UInt16, port: UInt16, millis: UInt32 }
struct Source { var source: UInt32, firstMillis: UInt32, attempts: UInt32, lastMillis: UInt32 }
struct Fold { var network: UInt32, port: UInt16, minute: UInt16, count: UInt32, sample: UInt32 }

func hugePages<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    let huge = 2 << 20
    let bytes = (MemoryLayout<T>.stride * count + huge - 1) & ~(huge - 1)
    let mapped = mmap(nil, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
    let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: mapped) + huge - 1) & ~(huge - 1))!
    madvise(aligned, bytes, 14)  // MADV_HUGEPAGE
    memset(aligned, 0, bytes)
    return aligned.bindMemory(to: T.self, capacity: count)
}

@inline(__always) func mix(_ value: UInt64) -> UInt64 {
    var x = value
    x ^= x >> 33; x &*= 0xff51afd7ed558ccd; x ^= x >> 33; x &*= 0xc4ceb9fe1a85ec53
    return x ^ (x >> 33)
}
@inline(__always) func indexSlot(_ p: Probe) -> Int {
    let ports = (UInt64(p.sourcePort) << 16 | UInt64(p.port)) &* 0x9E3779B97F4A7C15
    return Int(truncatingIfNeeded: mix((UInt64(p.source) << 32 | UInt64(p.destination)) ^ ports)) & (indexSlots - 1)
}
@inline(__always) func sourceSlot(_ p: Probe) -> Int { Int(truncatingIfNeeded: mix(UInt64(p.source))) & (sourceSlots - 1) }
@inline(__always) func foldSlot(_ p: Probe) -> Int {
    let key = UInt64(p.source >> 8) << 32 | UInt64(p.port) << 16 | UInt64(p.millis / 60000)
    return Int(truncatingIfNeeded: mix(key)) & (foldSlots - 1)
}
@inline(__always) func prefetch(_ pointer: UnsafeRawPointer) { lightscope_prefetch(pointer) }

/// A struct, as LightScope's detection state is, held in a local: no dynamic exclusivity checks.
struct Model {
    let ring = hugePages(Probe.self, count: pendingCapacity)
    let index = hugePages(UInt32.self, count: indexSlots)
    let sources = hugePages(Source.self, count: sourceSlots)
    let folds = hugePages(Fold.self, count: foldSlots)
    var head: UInt64 = 0, tail: UInt64 = 0, judged: UInt64 = 0, lost: UInt64 = 0, sourceEvictions: UInt64 = 0, foldsUsed = 0

    @inline(__always) mutating func insert(_ p: Probe) {
        if tail &- head == UInt64(pendingCapacity) { lost &+= 1; head &+= 1 }
        var slot = indexSlot(p)
        while true {
            let entry = index[slot]
            if entry == 0 || UInt64(entry &- 1) < head { break }
            slot = (slot &+ 1) & (indexSlots - 1)
        }
        ring[Int(truncatingIfNeeded: tail) & (pendingCapacity - 1)] = p
        index[slot] = UInt32(truncatingIfNeeded: tail &+ 1)
        tail &+= 1
    }

    @inline(__always) mutating func judge(_ p: Probe) {
        judged &+= 1
        let s = sources + sourceSlot(p)
        if s.pointee.source != p.source {
            if s.pointee.source != 0 { sourceEvictions &+= 1 }
            s.pointee = Source(source: p.source, firstMillis: p.millis, attempts: 0, lastMillis: 0)
        }
        s.pointee.attempts &+= 1
        s.pointee.lastMillis = p.millis
        let network = p.source >> 8
        let minute = UInt16(truncatingIfNeeded: p.millis / 60000)
        var slot = foldSlot(p)
        while true {
            let f = folds + slot
            if f.pointee.count == 0 {
                f.pointee = Fold(network: network, port: p.port, minute: minute, count: 1, sample: p.source)
                foldsUsed &+= 1
                break
            }
            if f.pointee.network == network && f.pointee.port == p.port && f.pointee.minute == minute { f.pointee.count &+= 1; break }
            slot = (slot &+ 1) & (foldSlots - 1)
        }
        if foldsUsed > foldSlots / 2 { memset(folds, 0, MemoryLayout<Fold>.stride * foldSlots); foldsUsed = 0 }  // blocks closed
    }

    mutating func expire(nowMillis: UInt32, prefetching: Bool) {
        while head < tail && nowMillis &- ring[Int(truncatingIfNeeded: head) & (pendingCapacity - 1)].millis >= timeoutMillis {
            if prefetching {
                let next = ring[Int(truncatingIfNeeded: head &+ UInt64(prefetchAhead)) & (pendingCapacity - 1)]
                prefetch(sources + sourceSlot(next))
                prefetch(folds + foldSlot(next))
            }
            judge(ring[Int(truncatingIfNeeded: head) & (pendingCapacity - 1)])
            head &+= 1
        }
    }
}

func nanos() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1e9 + Double(now.tv_nsec)
}

func run() {
    let arguments = CommandLine.arguments
    let count = arguments.count > 1 ? Int(arguments[1]) ?? 1_500_000 : 1_500_000
    let prefetching = arguments.count > 2 ? arguments[2] != "0" : true
    var model = Model()
    let flood = UnsafeMutablePointer<Probe>.allocate(capacity: count)  // random 10/8 sources, ports 1024-65535, 350,000/s
    var r: UInt64 = 12345
    for i in 0..<count {
        r = mix(r &+ UInt64(i))
        flood[i] = Probe(source: 10 << 24 | UInt32(truncatingIfNeeded: r & 0xffffff), destination: 0xc0000201,
                         sourcePort: UInt16(truncatingIfNeeded: r >> 24), port: UInt16(1024 + (r >> 40) % 64512),
                         millis: UInt32(i / 350))
    }
    var start = nanos()
    for i in 0..<count {
        if prefetching && i + prefetchAhead < count { prefetch(model.index + indexSlot(flood[i + prefetchAhead])) }
        model.insert(flood[i])
    }
    let arrival = nanos() - start
    start = nanos()
    model.expire(nowMillis: UInt32.max, prefetching: prefetching)
    let verdicts = nanos() - start
    print("arrival \(Int(arrival / Double(count))) ns a SYN, verdict \(Int(verdicts / Double(model.judged))) ns a judged probe, "
          + "\(Int((arrival + verdicts) / Double(count))) ns a packet; judged \(model.judged), lost \(model.lost), "
          + "source evictions \(model.sourceEvictions)")
}

run()
