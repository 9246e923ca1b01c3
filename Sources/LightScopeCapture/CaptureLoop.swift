import CPcap
import LightScopeCore
import LightScopeSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The packet loop of one interface: poll() with a bounded timeout (under a flood, a pause
/// that lets the ring fill: `FloodPacing`), drain the ring, beat.
///
/// It never blocks for longer than `wakeInterval`: on Linux libpcap's read timeout only
/// starts after the first packet, so a quiet interface could otherwise block forever and
/// the heartbeat would lie. Shutdown comes through a pipe in the poll set (libpcap's
/// own wake-up fd is closed in non-blocking mode), so a stop is never missed.
public final class CaptureLoop: SupervisedLoop, @unchecked Sendable {
    public let interfaceName: String
    public let interfaceIndex: UInt32
    /// The loop's name in the status: the interface's, or with several loops on it
    /// (`[capture] threads`) the interface's and the loop's number, `eth0/2`.
    public let loopName: String
    /// The thread's name: `ls-eth0`, or `ls-eth0-2`.
    private let threadName: String
    public let heartbeat: Heartbeat
    public let counters: InterfaceCounters
    private let handle: any PacketSource
    /// The source's link type, read once: every packet passes it on.
    private let linkType: Int32
    private let consumer: PacketConsumer
    private let wakeInterval: Duration
    /// A pipe in the poll set: a byte on it ends the loop.
    private let stopPipe = WakePipe()
    private let thread = DedicatedThread()
    private let outcomeStore = Mutex<Outcome?>(nil)
    /// The host's addresses for the filter, from the runner, and what to do with a warning,
    /// until the loop's thread puts the filter on again (`refilter`).
    private let filterUpdate = Mutex<(addresses: [IPAddress], warn: @Sendable (String) -> Void)?>(nil)
    // Touched only on the loop's thread while a dispatch runs.
    private var packetsInDispatch: UInt64 = 0
    private var bytesInDispatch: UInt64 = 0
    private var capturedBytesInDispatch: UInt64 = 0
    /// What the dispatches of the current wake-up drained, for `FloodPacing`.
    private var packetsInWake: UInt64 = 0
    private var capturedBytesInWake: UInt64 = 0
    private let pacing: FloodPacing

    /// Packets per pcap_dispatch call; the loop beats after each call. Unbounded, one call
    /// kept draining ring blocks as fast as a flood refilled them, the loop stopped beating
    /// and the watchdog restarted a daemon that was merely busy.
    public static let maximumPacketsPerDispatch = 1024
    /// Bounds the drain per wake-up, so a flood cannot keep the loop from checking for shutdown.
    static let maximumDispatchesPerWake = 64

    /// Why a loop ended.
    public enum Outcome: Equatable, Sendable {
        case stopped
        case interfaceGone(String)
        case failed(String)
    }

    /// - Parameter member: the loop's number (from 1) among several on the interface; nil
    ///   for the one loop.
    public init(interface: NetworkInterface, member: Int? = nil, handle: any PacketSource, consumer: PacketConsumer,
                counters: InterfaceCounters, wakeInterval: Duration) {
        self.interfaceName = interface.name
        loopName = Self.loopName(interface: interface.name, member: member)
        threadName = "ls-\(interface.name)" + (member.map { "-\($0)" } ?? "")
        self.interfaceIndex = interface.index
        self.handle = handle
        self.linkType = handle.linkType
        pacing = FloodPacing(ringBytes: handle.ringBytes)
        self.consumer = consumer
        self.counters = counters
        self.wakeInterval = wakeInterval
        self.heartbeat = Heartbeat(loopName: "packet loop \(loopName)")
    }

    /// `eth0` for the one loop of an interface, `eth0/2` for the second of several: a slash is
    /// never part of an interface's name.
    public static func loopName(interface: String, member: Int?) -> String {
        member.map { "\(interface)/\($0)" } ?? interface
    }

    public func start() {
        thread.start(name: threadName) { [self] in
            let outcome = run()
            handle.close()
            counters.handleClosed()
            outcomeStore.withLock { $0 = outcome }
        }
    }

    /// The host's addresses changed: the loop's thread puts the capture filter on again for
    /// them (`PacketSource.refilter`) at its next wake-up, at most `wakeInterval` from now,
    /// before detection hears of them. `warn` gets the filter's warning, if there is one.
    public func refilter(hostAddresses: [IPAddress], warn: @escaping @Sendable (String) -> Void) {
        filterUpdate.withLock { $0 = (hostAddresses, warn) }
    }

    /// Why the loop ended, or nil while it runs.
    public var outcome: Outcome? { outcomeStore.withLock { $0 } }

    /// Asks the loop to end and waits for it; false if it made no progress for `timeout`
    /// (hung). A loop still flushing a large table beats as it goes and is waited for, up to
    /// `Self.longestFlush`.
    public func stop(timeout: Duration) -> Bool {
        stopPipe.wake()
        let giveUp = MonotonicClock.nowNanos() + UInt64(Self.longestFlush.nanoseconds)
        var beats = heartbeat.pulse.beatCount
        while !thread.join(timeout: timeout) {
            let now = heartbeat.pulse.beatCount
            if now == beats || MonotonicClock.nowNanos() >= giveUp { return false }
            beats = now
        }
        return true
    }

    /// Gives up on a hung loop without waiting: asks it to end, so that it stops capturing if
    /// it ever recovers, and lets its thread go.
    public func abandon() {
        stopPipe.wake()
        thread.detach()
    }

    /// The most a stop waits for a loop that keeps beating: well inside systemd's default
    /// TimeoutStopSec (90 s), so that a loop beating without end is still reported as hung.
    public static let longestFlush: Duration = .seconds(30)

    /// However the loop ends (a stop, its interface gone, a failure), detection reports what
    /// it holds: the probes pending now become events with the verdict time gives them,
    /// instead of vanishing with the interface.
    private func run() -> Outcome {
        let outcome = capture()
        consumer.flush(wallClockNanos: WallClock.nowNanos()) { heartbeat.beat() }
        return outcome
    }

    private func capture() -> Outcome {
        let timeoutMilliseconds = Int32(max(1, wakeInterval.milliseconds))
        var descriptors = [
            pollfd(fd: handle.selectableFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stopPipe.readEnd, events: Int16(POLLIN), revents: 0),
        ]
        let context = Unmanaged.passUnretained(self).toOpaque()
        heartbeat.beat()
        var pauseNanos: UInt64 = 0
        var lastWakeNanos: UInt64 = 0
        while true {
            let ready: Int32
            if pauseNanos > 0 {
                // A busy ring (`FloodPacing`): the stop pipe alone, then drain what came meanwhile.
                descriptors[0].revents = 0
                let pauseMilliseconds = Int32(max(1, pauseNanos / 1_000_000))
                ready = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress! + 1, 1, pauseMilliseconds) }
            } else {
                ready = poll(&descriptors, 2, timeoutMilliseconds)
            }
            let now = MonotonicClock.nowNanos()
            heartbeat.beat(now: now)
            if ready < 0, errno != EINTR { return .failed("poll: errno \(errno)") }
            if descriptors[1].revents != 0 {
                drainBeforeStopping(context: context)
                break
            }
            if FaultInjection.isPacketLoopHangRequested { hangForever() }

            let emptied: Bool
            do {
                emptied = try dispatchReady(context: context)
            } catch {
                return NetworkInterfaces.index(of: interfaceName) == interfaceIndex
                    ? .failed(error.message) : .interfaceGone(error.message)
            }
            pauseNanos = lastWakeNanos == 0 ? 0 : pacing.pauseNanos(
                packets: packetsInWake, capturedBytes: capturedBytesInWake, elapsedNanos: now &- lastWakeNanos,
                emptied: emptied, limitNanos: UInt64(timeoutMilliseconds) * 1_000_000)
            lastWakeNanos = now
            packetsInWake = 0
            capturedBytesInWake = 0
            if descriptors[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0,
               NetworkInterfaces.index(of: interfaceName) != interfaceIndex {
                return .interfaceGone("\(interfaceName) disappeared")
            }
            if let drops = handle.droppedPackets() { counters.setHandleDrops(drops) }
            if let update = filterUpdate.withLock({ pending in defer { pending = nil }; return pending }),
               let warning = handle.refilter(hostAddresses: update.addresses) {
                update.warn(warning)
            }
            consumer.tick(monotonicNanos: now, wallClockNanos: WallClock.nowNanos())
        }
        return .stopped
    }

    /// Read timeouts a stop keeps reading for (see `drainBeforeStopping`).
    static let finalDrainReadTimeouts: UInt64 = 2

    /// Reads what the kernel captured before the stop. Linux hands a ring block (TPACKET_V3)
    /// to user space only when it fills or when libpcap's read timeout retires it, so the
    /// last packets before a stop may still sit in a block nobody can read yet: a stop that
    /// left at once would lose them, and with them the events of a scan that just ended.
    /// Two read timeouts see every such block retired; a flood cannot stretch this, since
    /// the deadline is fixed.
    private func drainBeforeStopping(context: UnsafeMutableRawPointer) {
        let window = Self.finalDrainReadTimeouts * UInt64(handle.readTimeoutMilliseconds) * 1_000_000
        let deadline = MonotonicClock.nowNanos() + window
        var descriptor = pollfd(fd: handle.selectableFD, events: Int16(POLLIN), revents: 0)
        while true {
            let now = MonotonicClock.nowNanos()
            guard now < deadline else { return }
            let ready = poll(&descriptor, 1, Int32(max(1, (deadline - now) / 1_000_000)))
            if ready < 0, errno != EINTR { return }
            do { _ = try dispatchReady(context: context) } catch { return }
        }
    }

    /// Hands what the ring holds to the consumer, at most `maximumDispatchesPerWake` calls of
    /// `maximumPacketsPerDispatch` packets, beating between calls. Returns whether it left the
    /// ring empty (its last call found nothing).
    private func dispatchReady(context: UnsafeMutableRawPointer) throws(PcapHandle.OpenError) -> Bool {
        for _ in 0..<Self.maximumDispatchesPerWake {
            let dispatched = try handle.dispatch(context: context, callback: Self.onPacket,
                                                 maximumPackets: Self.maximumPacketsPerDispatch)
            consumer.dispatchEnded()
            flushDispatchCounts()
            heartbeat.beat()
            if dispatched == 0 { return true }
        }
        return false
    }

    private func flushDispatchCounts() {
        guard packetsInDispatch > 0 else { return }
        counters.addPackets(packetsInDispatch, bytes: bytesInDispatch)
        packetsInWake &+= packetsInDispatch
        capturedBytesInWake &+= capturedBytesInDispatch
        packetsInDispatch = 0
        bytesInDispatch = 0
        capturedBytesInDispatch = 0
    }

    private static let onPacket: pcap_handler = { context, header, bytes in
        guard let context, let header, let bytes else { return }
        // The loop is alive for the whole dispatch (`drain` runs on it): borrowed, not
        // retained. Taken as a strong reference, the loop and its consumer were retained and
        // released around every packet, four atomic operations each time.
        Unmanaged<CaptureLoop>.fromOpaque(UnsafeRawPointer(context))._withUnsafeGuaranteedRef { loop in
            let captured = Int(header.pointee.caplen)
            let wireLength = Int(header.pointee.len)
            loop.packetsInDispatch &+= 1
            loop.bytesInDispatch &+= UInt64(wireLength)
            loop.capturedBytesInDispatch &+= UInt64(captured)
            let timestamp = PacketTimestamp.nanoseconds(header.pointee.ts)
            loop.consumer.consume(bytes: UnsafeRawBufferPointer(start: bytes, count: captured),
                                  wireLength: wireLength, timestampNanos: timestamp, linkType: loop.linkType)
        }
    }

    /// Fault injection: block inside packet processing, beating no more.
    private func hangForever() -> Never {
        while true { sleep(3600) }
    }
}
