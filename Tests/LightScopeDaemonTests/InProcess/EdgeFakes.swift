import CPcap
import Foundation
import LightScopeCapture
import LightScopeCore
import LightScopeSystem
@testable import LightScopeDaemon
import LightScopeSystemd
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Stand-ins for the four OS edges of the runner (see `RunnerEdges`), and nothing else:
// the runner, the capture loops, detection, the event pipeline, SQLite and the metrics
// listener are the real ones. Each fake writes what happened to one shared `EdgeLog`, so a
// test can read the order of events across edges.

/// What happened at the edges, in order, from any thread.
final class EdgeLog: Sendable {
    private let entries = Mutex<[String]>([])

    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }

    /// The position of the first entry at or after `start` that begins with `prefix`.
    func index(of prefix: String, from start: Int = 0) -> Int? {
        let all = self.all
        return all.indices.dropFirst(start).first { all[$0].hasPrefix(prefix) }
    }

    /// Waits until an entry begins with `prefix`; its position, or nil after `timeout` seconds.
    func wait(for prefix: String, from start: Int = 0, timeout: Double = 5) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let found = index(of: prefix, from: start) { return found }
            usleep(10_000)
        } while Date() < deadline
        return index(of: prefix, from: start)
    }
}

/// systemd's notify socket: records each datagram as `notify KEY=VALUE|KEY=VALUE`.
final class RecordingNotifier: NotifySocket {
    let log: EdgeLog
    let watchdogTimeout: Duration?

    init(log: EdgeLog, watchdogTimeout: Duration?) {
        self.log = log
        self.watchdogTimeout = watchdogTimeout
    }

    func send(_ assignments: [String]) -> Bool {
        log.append("notify " + assignments.joined(separator: "|"))
        return true
    }
}

/// The clocks, running as the real ones do, plus whatever `advance` added.
final class SteppedClock: RunnerClock, Sendable {
    private let offsetNanos = Atomic<UInt64>(0)

    func advance(by duration: Duration) { offsetNanos.wrappingAdd(UInt64(duration.nanoseconds), ordering: .relaxed) }
    func monotonicNanos() -> UInt64 { MonotonicClock.nowNanos() + offsetNanos.load(ordering: .relaxed) }
    func wallNanos() -> UInt64 { WallClock.nowNanos() + offsetNanos.load(ordering: .relaxed) }
}

/// Process signals: `send` puts a signal number on the pipe the runner polls.
final class PipeSignals: SignalSource, Sendable {
    private let pipe = WakePipe()
    let log: EdgeLog

    init(log: EdgeLog) { self.log = log }

    func install() { log.append("signals installed") }
    var readEnd: Int32 { pipe.readEnd }

    func send(_ signalNumber: Int32) {
        log.append("signal \(signalNumber)")
        var byte = UInt8(signalNumber)
        _ = write(pipe.writeEnd, &byte, 1)
    }

    func drain() -> [Int32] {
        var received: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while case let count = read(pipe.readEnd, &buffer, buffer.count), count > 0 {
            received += buffer[0..<count].map { Int32($0) }
        }
        return received
    }
}

/// Network interfaces that exist only in the test, with a packet source each that the test
/// feeds frames; `deny` makes opening one fail as it does without CAP_NET_RAW.
final class FakeInterfaces: InterfaceSystem, Sendable {
    private struct State {
        var present: [NetworkInterface] = []
        var denied: Set<String> = []
        var opened: [FakePacketSource] = []
        var addresses: Set<IPAddress> = []
    }

    let log: EdgeLog
    private let state = Mutex(State())
    /// Kernel indexes far above any real interface's: `if_nametoindex` never matches them.
    private static let firstIndex: UInt32 = 100_000

    init(log: EdgeLog, names: [String], addresses: [String]) {
        self.log = log
        state.withLock { state in
            state.addresses = Set(addresses.compactMap(IPAddress.init))
            for name in names { state.present.append(Self.interface(name, index: Self.firstIndex + UInt32(state.present.count))) }
        }
    }

    private static func interface(_ name: String, index: UInt32) -> NetworkInterface {
        NetworkInterface(name: name, index: index, isUp: true, isLoopback: false, hasAddress: true)
    }

    func add(_ name: String) {
        state.withLock { $0.present.append(Self.interface(name, index: Self.firstIndex + 1000 + UInt32($0.present.count))) }
    }

    /// The interface disappears: gone from the list, and its open source fails from now on.
    func remove(_ name: String) {
        let sources = state.withLock { state in
            state.present.removeAll { $0.name == name }
            return state.opened.filter { $0.interfaceName == name }
        }
        for source in sources { source.vanish() }
    }

    func deny(_ name: String) { state.withLock { _ = $0.denied.insert(name) } }

    /// Every source opened on `name`, oldest first.
    func sources(on name: String) -> [FakePacketSource] { state.withLock { $0.opened.filter { $0.interfaceName == name } } }

    func current() -> [NetworkInterface] { state.withLock { $0.present } }
    func addresses() -> Set<IPAddress> { state.withLock { $0.addresses } }

    func openCapture(on interface: NetworkInterface, settings: Settings.Capture) throws(PcapHandle.OpenError) -> any PacketSource {
        let (denied, present) = state.withLock { ($0.denied.contains(interface.name), $0.present.contains(interface)) }
        if denied {
            log.append("open denied \(interface.name)")
            throw .permissionDenied("\(interface.name): You don't have permission to capture on that device (fake)")
        }
        guard present else { throw .noSuchInterface("\(interface.name): No such device exists (fake)") }
        let source = FakePacketSource(interfaceName: interface.name, snaplenBytes: settings.snaplenBytes, log: log)
        state.withLock { $0.opened.append(source) }
        log.append("open \(interface.name)")
        return source
    }
}

/// What a libpcap handle on an Ethernet interface hands its loop: frames, through the
/// same C callback, when its descriptor polls readable.
final class FakePacketSource: PacketSource, Sendable {
    let interfaceName: String
    let linkType: Int32 = 1
    let readTimeoutMilliseconds: Int32 = 20
    private let snaplenBytes: Int
    private let ready = WakePipe()
    /// While set, a read blocks, as a hung driver's would, until `release`.
    private let hung = Atomic<Bool>(false)
    private let released = DispatchSemaphore(value: 0)
    private let frames = Mutex<(waiting: [[UInt8]], vanished: Bool, closed: Bool)>(([], false, false))
    private let log: EdgeLog

    init(interfaceName: String, snaplenBytes: Int, log: EdgeLog) {
        self.interfaceName = interfaceName
        self.snaplenBytes = snaplenBytes
        self.log = log
    }

    var selectableFD: Int32 { ready.readEnd }
    var isClosed: Bool { frames.withLock { $0.closed } }

    func inject(_ batch: [[UInt8]]) {
        frames.withLock { $0.waiting += batch }
        ready.wake()
    }

    /// The next read never returns (until `release`): the loop reading this source stalls.
    func hang() {
        hung.store(true, ordering: .relaxed)
        ready.wake()
    }

    /// Ends a hang; the interface is gone by then, so the loop ends.
    func release() {
        vanish()
        if hung.exchange(false, ordering: .relaxed) { released.signal() }
    }

    func vanish() {
        frames.withLock { $0.vanished = true }
        ready.wake()
    }

    func dispatch(context: UnsafeMutableRawPointer, callback: pcap_handler, maximumPackets: Int) throws(PcapHandle.OpenError) -> Int {
        if hung.load(ordering: .relaxed) {
            log.append("hung \(interfaceName)")
            released.wait()
        }
        ready.drain()
        let (batch, vanished, more) = frames.withLock { state in
            let taken = Array(state.waiting.prefix(maximumPackets))
            state.waiting.removeFirst(taken.count)
            return (taken, state.vanished, !state.waiting.isEmpty)
        }
        if vanished { throw .failed("The interface went down (fake)") }
        if more { ready.wake() }
        let now = WallClock.nowNanos()
        for frame in batch {
            var header = pcap_pkthdr()
            header.ts = timeval(tv_sec: Int(now / 1_000_000_000), tv_usec: Int(now % 1_000_000_000 / 1000))
            header.caplen = bpf_u_int32(min(frame.count, snaplenBytes))
            header.len = bpf_u_int32(frame.count)
            frame.withUnsafeBufferPointer { bytes in
                callback(context.assumingMemoryBound(to: UInt8.self), &header, bytes.baseAddress)
            }
        }
        return batch.count
    }

    func droppedPackets() -> UInt64? { 0 }

    func close() {
        let first = frames.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        if first { log.append("close \(interfaceName)") }
    }
}
