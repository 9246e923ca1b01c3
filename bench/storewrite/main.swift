// Benchmark only: the store writer's cost per event, without capture or detection.
//
//     .build/release/lightscope-storewrite [events] [rounds] [flood | rate [paced]] [batch]
//
// Each round makes a fresh store in a temporary directory and writes `events` events (default
// 500,000: about what the `closed` stream of bench/livecost.sh stores) as the event writer
// does: each event made a record (`AddressAnonymiser.record`), inserted in transactions of
// `EventPipeline.maximumEventsPerTransaction`. Events look like that stream's: SYNs from
// random 10.0.0.0/8 sources to random ports 1024-65535, answered by RST (`closed`).
// Prints the process's CPU time (user + system, which holds SQLite's pwrite/pread/fdatasync)
// and wall time per event for each round, then the best round.
//
// `flood`: the same events through an `EventPipeline` whose queue holds 1,024 (as
// LIGHTSCOPE_TEST_EVENT_QUEUE=1024 makes the daemon's), so that all but the first 512 are
// folded into aggregates, every one its own (random source /24 and port), and written in
// flood blocks. All are submitted before the writer starts: the CPU of the submitting (the
// fold, on a packet loop in the daemon) and of the writer's start to stop are told apart,
// per folded probe, with the store's bytes per probe.
//
// `rate`: the same, through a pipeline with the daemon's queue (65,536): the events come 2 us
// apart (500,000 a second of capture time), so all but the rate's (`EventRateBucket`: its
// burst and its rate for the flood's length) are folded before the queue is anywhere near its
// mark. Per probe (all of them), as the daemon pays under such a flood.
//
// `paced` (with `rate`): the writer runs while the events arrive, each submitted once the
// wall clock has run as far past the first as its capture time (64 at a time), as the
// daemon's writer meets a flood: a transaction of the rate's single events per wake-up, the
// blocks as they fill, into a store that holds the earlier ones. The writer's CPU is the
// process's less the submitting thread's (`RUSAGE_THREAD`).
//
// `batch` (with `flood` or `rate`): each event appended to a reused buffer handed over at 64
// (`submit(contentsOf:)`), as a packet loop hands over its reported events
// (`DetectionConsumer.eventsPerHandover`), instead of one `submit` each. callgrind:
// `submitAll` inclusive is the hand-over's whole cost, the buffer included.
import Foundation
import LightScopeCore
import LightScopeStore

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let eventCount = arguments.first ?? 500_000
let rounds = arguments.dropFirst().first ?? 3
let batch = EventPipeline.maximumEventsPerTransaction

/// Linux's RUSAGE_THREAD, which Glibc's module leaves out (it needs _GNU_SOURCE).
let rusageThread: Int32 = 1
/// User and system CPU of the whole process, or with `thread` of the calling thread alone.
func cpuNanos(thread: Bool = false) -> UInt64 {
    var usage = rusage()
    getrusage(thread ? rusageThread : RUSAGE_SELF.rawValue, &usage)
    func nanos(_ time: timeval) -> UInt64 { UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1000 }
    return nanos(usage.ru_utime) + nanos(usage.ru_stime)
}

var generator = SystemRandomNumberGenerator()
let start = UInt64(Date().timeIntervalSince1970 * 1e9)
let events = (0..<eventCount).map { index in
    UnwantedEvent(timeNanos: start + UInt64(index) * 2_000, interface: "lsc0", proto: .tcp,
                  source: IPAddress(ipv4: 0x0A00_0000 | UInt32.random(in: 0...0xFF_FFFF, using: &generator)),
                  sourcePort: UInt16.random(in: 1024...65535, using: &generator), destination: IPAddress("10.0.0.1")!,
                  destinationPort: UInt16.random(in: 1024...65535, using: &generator), verdict: .closed, packets: 1,
                  ttl: 64, tcpWindow: 64240, options: nil, tool: .unknown, tcpFlags: .syn)
}
let anonymiser = AddressAnonymiser.disabled

/// The events handed to the pipeline as a packet loop hands them (its own function, so that
/// callgrind shows what it costs, with the batch's buffer): batched, each appended to a reused
/// `EventHandOverBuffer` that is handed over at 64 (`DetectionConsumer.eventsPerHandover`); else one `submit` each.
@inline(never)
func submitAll(_ events: [UnwantedEvent], to pipeline: EventPipeline, batched: Bool) -> Int {
    var accepted = 0
    guard batched else {
        for event in events where pipeline.submit(event) { accepted += 1 }
        return accepted
    }
    var buffer = EventHandOverBuffer(capacity: 64)
    for event in events {
        guard buffer.append(event) else { continue }
        accepted += pipeline.submit(contentsOf: buffer.events)
        buffer.removeAll()
    }
    return accepted + pipeline.submit(contentsOf: buffer.events)
}
/// `submitAll` of 64 events at a time, each batch once the wall clock has run as far past the
/// start as its first event's capture time has past the first event's: the flood's own pace.
func submitPaced(_ events: [UnwantedEvent], to pipeline: EventPipeline) -> Int {
    guard let firstNanos = events.first?.timeNanos else { return 0 }
    let startNanos = DispatchTime.now().uptimeNanoseconds
    var accepted = 0
    for first in stride(from: 0, to: events.count, by: 64) {
        let dueNanos = startNanos + (events[first].timeNanos - firstNanos)
        let nowNanos = DispatchTime.now().uptimeNanoseconds
        if dueNanos > nowNanos { usleep(UInt32((dueNanos - nowNanos) / 1000)) }
        accepted += pipeline.submit(contentsOf: Array(events[first..<min(first + 64, events.count)]))
    }
    return accepted
}
let rate = CommandLine.arguments.contains("rate")
let paced = rate && CommandLine.arguments.contains("paced")
if rate || CommandLine.arguments.contains("flood") {
    var best = (fold: Double.infinity, writer: Double.infinity)
    for round in 1...rounds {
        let directory = NSTemporaryDirectory() + "lightscope-storewrite-\(getpid())-flood-\(round)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipeline = EventPipeline(stateDirectory: directory, settings: Settings.Store(), anonymiser: anonymiser, journal: nil,
                                     queueCapacity: rate ? EventPipeline.defaultQueueCapacity : 1024, log: { _, _ in })
        let cpuBefore = cpuNanos()
        let accepted: Int
        let fold: Double, writer: Double
        let folded = Double(rate ? eventCount : eventCount - 512)
        if paced {
            let submitterBefore = cpuNanos(thread: true)
            pipeline.start()
            accepted = submitPaced(events, to: pipeline)
            guard pipeline.stop(timeout: .seconds(600)) else { fatalError("the writer did not stop") }
            let submitter = cpuNanos(thread: true) - submitterBefore
            fold = Double(submitter) / folded
            writer = Double(cpuNanos() - cpuBefore - submitter) / folded
        } else {
            accepted = submitAll(events, to: pipeline, batched: CommandLine.arguments.contains("batch"))
            let cpuFolded = cpuNanos()
            pipeline.start()
            guard pipeline.stop(timeout: .seconds(600)) else { fatalError("the writer did not stop") }
            fold = Double(cpuFolded - cpuBefore) / folded
            writer = Double(cpuNanos() - cpuFolded) / folded
        }
        let counters = pipeline.counters.snapshot
        let bytes = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: pipeline.databasePath + $0)[.size] as? Int }
            .reduce(0, +)
        best = (min(best.fold, fold), min(best.writer, writer))
        print("round \(round): \(eventCount) probes, \(accepted) accepted, \(counters.eventsWritten) stored, \(counters.aggregated) aggregated in \(counters.aggregatesWritten) aggregates, \(pipeline.counters.lost.total) lost; per \(rate ? "" : "folded ")probe: fold \(String(format: "%.0f", fold)) ns CPU, writer \(String(format: "%.0f", writer)) ns CPU (its \(counters.eventsWritten) single events included); store \(String(format: "%.1f", Double(bytes) / Double(eventCount))) bytes per probe")
    }
    print("best: fold \(String(format: "%.0f", best.fold)) ns, writer \(String(format: "%.0f", best.writer)) ns CPU per \(rate ? "" : "folded ")probe (load average \((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"))")
    exit(0)
}
var best = Double.infinity
for round in 1...rounds {
    let directory = NSTemporaryDirectory() + "lightscope-storewrite-\(getpid())-\(round)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try EventStore(directory: directory)
    let cpuBefore = cpuNanos()
    let wallBefore = DispatchTime.now().uptimeNanoseconds
    for first in stride(from: 0, to: events.count, by: batch) {
        try store.insert(events[first..<min(first + batch, events.count)].map(anonymiser.record(for:)))
    }
    let cpu = Double(cpuNanos() - cpuBefore) / Double(eventCount)
    let wall = Double(DispatchTime.now().uptimeNanoseconds - wallBefore) / Double(eventCount)
    best = min(best, cpu)
    print("round \(round): \(eventCount) events, \(String(format: "%.0f", cpu)) ns CPU per event, \(String(format: "%.0f", wall)) ns wall")
}
print("best: \(String(format: "%.0f", best)) ns CPU per event (load average \((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"))")
