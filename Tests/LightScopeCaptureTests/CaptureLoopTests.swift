import CPcap
import LightScopeCapture
import LightScopeCore
import LightScopeTestSupport
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Live capture through the real libpcap on the loopback interface of the test's own
/// host: connection attempts to a closed port on 127.0.0.1 are a SYN and a RST each.
final class CaptureLoopTests: XCTestCase {
    final class RecordingConsumer: PacketConsumer, @unchecked Sendable {
        let packets = Mutex<[(length: Int, linkType: Int32)]>([])
        let ticks = Atomic<Int>(0)
        let flushed = Atomic<Bool>(false)
        /// A slow flush: this many steps of 100 ms, beating after each if `flushBeats`.
        let flushSteps = Atomic<Int>(0)
        let flushBeats = Atomic<Bool>(true)
        func consume(bytes: UnsafeRawBufferPointer, wireLength: Int, timestampNanos: UInt64, linkType: Int32) {
            packets.withLock { $0.append((bytes.count, linkType)) }
        }
        func tick(monotonicNanos: UInt64, wallClockNanos: UInt64) { ticks.wrappingAdd(1, ordering: .relaxed) }
        func flush(wallClockNanos: UInt64, beat: () -> Void) {
            for _ in 0..<flushSteps.load(ordering: .relaxed) {
                usleep(100_000)
                if flushBeats.load(ordering: .relaxed) { beat() }
            }
            flushed.store(true, ordering: .relaxed)
        }
    }

    func testLoopCapturesFilteredPacketsAndBeatsWhileIdle() throws {
        try requireRoot()
        let (loop, consumer, counters) = try startLoopbackLoop()

        // Idle: no traffic, yet the loop wakes and beats on its poll() timeout.
        let before = loop.heartbeat.pulse.beatCount
        usleep(600_000)
        XCTAssertGreaterThanOrEqual(loop.heartbeat.pulse.beatCount - before, 3, "an idle loop must keep beating")
        XCTAssertGreaterThanOrEqual(consumer.ticks.load(ordering: .relaxed), 3)

        let attempts = 5
        for _ in 0..<attempts { connectToClosedLoopbackPort() }
        let deadline = Date().addingTimeInterval(3)
        while counters.snapshot.packets < UInt64(2 * attempts), Date() < deadline { usleep(20_000) }

        XCTAssertTrue(loop.stop(timeout: .seconds(2)), "the loop must stop when asked")
        XCTAssertEqual(loop.outcome, .stopped)
        XCTAssertTrue(consumer.flushed.load(ordering: .relaxed), "flush on stop")
        // SYN + RST for each attempt; data-less ACKs and other loopback chatter are filtered out.
        let packets = consumer.packets.withLock { $0 }
        XCTAssertGreaterThanOrEqual(packets.count, 2 * attempts)
        XCTAssertEqual(counters.snapshot.packets, UInt64(packets.count))
        XCTAssertTrue(packets.allSatisfy { $0.length <= 128 }, "snaplen keeps headers only")
    }

    /// Packets captured just before a stop are still consumed: the kernel holds them in a ring
    /// block it has not handed over yet (it does so when the read timeout retires the block),
    /// and a loop that left at once would lose them (the last probes of a scan).
    func testAStopRightAfterTrafficStillConsumesIt() throws {
        try requireRoot()
        let (loop, consumer, _) = try startLoopbackLoop()
        let started = Date().addingTimeInterval(2)
        while loop.heartbeat.pulse.beatCount < 2, Date() < started { usleep(10_000) }

        let attempts = 5
        for _ in 0..<attempts { connectToClosedLoopbackPort() }
        XCTAssertTrue(loop.stop(timeout: .seconds(2)), "the loop must stop when asked")
        XCTAssertEqual(loop.outcome, .stopped)
        XCTAssertGreaterThanOrEqual(consumer.packets.withLock { $0.count }, 2 * attempts,
                                    "a SYN and a RST per attempt, captured before the stop")
    }

    /// Under a flood the ring holds more than one call may take: a call must stop at its
    /// bound (the packet loop beats between calls) instead of draining block after block.
    func testOneDispatchHandsOverAtMostItsBound() throws {
        try requireRoot()
        let loopback = try XCTUnwrap(NetworkInterfaces.current().first { $0.isLoopback })
        let handle = try PcapHandle(interfaceName: loopback.name, options: .init(snaplenBytes: 128, bufferSizeBytes: 4 << 20))
        defer { handle.close() }
        let bound = 256
        for _ in 0..<(2 * bound) { connectToClosedLoopbackPort() }
        usleep(500_000) // let the kernel retire the ring blocks (libpcap's read timeout)
        var handed = 0
        var total = 0
        let count: pcap_handler = { context, _, _ in
            context?.withMemoryRebound(to: Int.self, capacity: 1) { $0.pointee += 1 }
        }
        let first = try withUnsafeMutablePointer(to: &handed) {
            try handle.dispatch(context: UnsafeMutableRawPointer($0), callback: count, maximumPackets: bound)
        }
        XCTAssertEqual(first, bound, "\(2 * bound) SYN+RST pairs were waiting")
        XCTAssertEqual(handed, bound)
        while try withUnsafeMutablePointer(to: &total, {
            try handle.dispatch(context: UnsafeMutableRawPointer($0), callback: count, maximumPackets: bound)
        }) > 0 {}
        XCTAssertGreaterThanOrEqual(handed + total, 4 * bound - 8, "the rest is still there for the next calls")
    }

    /// A loop flushing a large table on a slow machine takes longer than the stop timeout but
    /// beats as it goes: it is slow, not hung, and its probes are reported, not abandoned.
    func testAStopWaitsForAFlushThatMakesProgress() throws {
        try requireRoot()
        let (loop, consumer, _) = try startLoopbackLoop()
        consumer.flushSteps.store(15, ordering: .relaxed)
        XCTAssertTrue(loop.stop(timeout: .milliseconds(500)), "a 1.5 s flush that beats is waited for")
        XCTAssertTrue(consumer.flushed.load(ordering: .relaxed))
        XCTAssertEqual(loop.outcome, .stopped)
    }

    /// The same flush without a beat is what a hang looks like: the stop gives up on it.
    func testAStopGivesUpOnAFlushThatMakesNoProgress() throws {
        try requireRoot()
        let (loop, consumer, _) = try startLoopbackLoop()
        consumer.flushBeats.store(false, ordering: .relaxed)
        consumer.flushSteps.store(15, ordering: .relaxed)
        XCTAssertFalse(loop.stop(timeout: .milliseconds(500)), "a silent 1.5 s flush is reported as hung")
        XCTAssertTrue(loop.stop(timeout: .seconds(3)), "it ends in the end; nothing is left running")
    }

    func testOpeningAMissingInterfaceSaysSo() {
        XCTAssertThrowsError(try PcapHandle(interfaceName: "lsnope0", options: .init(snaplenBytes: 128, bufferSizeBytes: 1 << 20))) { error in
            guard case PcapHandle.OpenError.noSuchInterface = error else { return XCTFail("\(error)") }
        }
    }

    /// A running loop on the loopback interface, snaplen 128, waking every 100 ms.
    private func startLoopbackLoop() throws -> (CaptureLoop, RecordingConsumer, InterfaceCounters) {
        let loopback = try XCTUnwrap(NetworkInterfaces.current().first { $0.isLoopback })
        let handle = try PcapHandle(interfaceName: loopback.name, options: .init(snaplenBytes: 128, bufferSizeBytes: 1 << 20))
        let consumer = RecordingConsumer()
        let counters = InterfaceCounters(interfaceName: loopback.name)
        let loop = CaptureLoop(interface: loopback, handle: handle, consumer: consumer, counters: counters, wakeInterval: .milliseconds(100))
        loop.start()
        return (loop, consumer, counters)
    }

    private func connectToClosedLoopbackPort() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(9).bigEndian // discard: nothing listens here in a test host
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
