import CPcap
@testable import LightScopeCapture
import LightScopeCore
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `FloodPacing` inside a running `CaptureLoop`: after a wake-up that drained more than a ring
/// block, the loop lets its ring fill instead of reading the next packet at once. A stand-in
/// source (no root, no NIC) plays the ring: it says when the loop found it empty, and only
/// then lets one more packet in, so the test sees how long that packet waited.
final class FloodPacingLoopTests: XCTestCase {
    /// A ring of `ringBytes` that the test fills; readable through a pipe while it holds packets.
    final class RingStandIn: PacketSource, @unchecked Sendable {
        let linkType: Int32 = 1
        let readTimeoutMilliseconds: Int32 = 20
        let ringBytes: Int
        private let readEnd: Int32
        private let writeEnd: Int32
        private let state = Mutex<(waiting: [[UInt8]], afterEmpty: [UInt8]?, emptiedNanos: UInt64?)>(([], nil, nil))

        init(ringBytes: Int) {
            self.ringBytes = ringBytes
            var ends: [Int32] = [-1, -1]
            precondition(pipe(&ends) == 0, "pipe: errno \(errno)")
            readEnd = ends[0]
            writeEnd = ends[1]
            _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        }

        var selectableFD: Int32 { readEnd }

        func fill(_ frames: [[UInt8]]) {
            state.withLock { $0.waiting += frames }
            wake()
        }

        /// `frame` arrives the moment the loop next finds the ring empty.
        func arriveOnceEmptied(_ frame: [UInt8]) {
            state.withLock { $0.afterEmpty = frame }
        }

        /// When the loop found the ring empty and `arriveOnceEmptied`'s frame came in.
        var emptiedNanos: UInt64? { state.withLock { $0.emptiedNanos } }

        func dispatch(context: UnsafeMutableRawPointer, callback: pcap_handler, maximumPackets: Int) throws(PcapHandle.OpenError) -> Int {
            var discard = [UInt8](repeating: 0, count: 64)
            _ = read(readEnd, &discard, discard.count)
            let batch = state.withLock { state -> [[UInt8]] in
                let taken = Array(state.waiting.prefix(maximumPackets))
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty, let frame = state.afterEmpty {
                    state.afterEmpty = nil
                    state.waiting = [frame]
                    state.emptiedNanos = monotonicNanos()
                }
                return taken
            }
            if state.withLock({ !$0.waiting.isEmpty }) { wake() }
            for frame in batch {
                var header = pcap_pkthdr()
                header.caplen = bpf_u_int32(frame.count)
                header.len = bpf_u_int32(frame.count)
                frame.withUnsafeBufferPointer { callback(context.assumingMemoryBound(to: UInt8.self), &header, $0.baseAddress) }
            }
            return batch.count
        }

        func droppedPackets() -> UInt64? { 0 }

        func close() {
            Glibc.close(readEnd)
            Glibc.close(writeEnd)
        }

        private func wake() {
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }
    }

    /// Counts packets and notes when the last one came.
    final class Counting: PacketConsumer, @unchecked Sendable {
        let packets = Atomic<Int>(0)
        let lastNanos = Atomic<UInt64>(0)
        func consume(bytes: UnsafeRawBufferPointer, wireLength: Int, timestampNanos: UInt64, linkType: Int32) {
            lastNanos.store(monotonicNanos(), ordering: .relaxed)
            packets.wrappingAdd(1, ordering: .relaxed)
        }
        func tick(monotonicNanos: UInt64, wallClockNanos: UInt64) {}
        func flush(wallClockNanos: UInt64, beat: () -> Void) {}
    }

    /// Two wake-ups 40 ms apart that each drain more than a block (1,000 frames of 200 bytes)
    /// measure a rate at which a quarter of a 4 MiB ring takes far longer than the longest
    /// pause: the loop pauses `longestPauseNanos` (25 ms). A packet that arrives as the second
    /// wake-up empties the ring waits out that pause; polled at once, it would wait microseconds.
    func testAfterDrainingMoreThanABlockTheLoopLetsTheRingFill() throws {
        let source = RingStandIn(ringBytes: 4 << 20)
        let consumer = Counting()
        let interface = try XCTUnwrap(NetworkInterfaces.current().first { $0.isLoopback })
        let loop = CaptureLoop(interface: interface, handle: source, consumer: consumer,
                               counters: InterfaceCounters(interfaceName: interface.name), wakeInterval: .seconds(1))
        let burst = [[UInt8]](repeating: [UInt8](repeating: 0, count: 200), count: 1_000)
        XCTAssertGreaterThanOrEqual(UInt64(burst.count * 200) + UInt64(burst.count) * FloodPacing.frameOverheadBytes,
                                    FloodPacing.blockBytes, "each burst must fill more than a block")
        source.fill(burst)
        loop.start()
        defer { _ = loop.stop(timeout: .seconds(2)); source.close() }
        try waitFor { consumer.packets.load(ordering: .relaxed) == 1_000 }

        usleep(40_000)
        source.arriveOnceEmptied([UInt8](repeating: 0, count: 60))
        source.fill(burst)
        try waitFor { consumer.packets.load(ordering: .relaxed) == 2_001 }

        let emptied = try XCTUnwrap(source.emptiedNanos)
        let waited = consumer.lastNanos.load(ordering: .relaxed) &- emptied
        XCTAssertGreaterThanOrEqual(waited, 20_000_000, "the packet after the drain waited \(waited) ns, not the pause")
        XCTAssertLessThan(waited, 1_000_000_000, "a pause ends within the loop's wake interval")
    }

    struct TimedOut: Error {}

    private func waitFor(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = monotonicNanos() + 5_000_000_000
        while !condition() {
            guard monotonicNanos() < deadline else {
                XCTFail("the loop did not consume the packets within 5 s", file: file, line: line)
                throw TimedOut()
            }
            usleep(1_000)
        }
    }
}

private func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
