import LightScopeCapture
import LightScopeCore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The open captures, one loop per interface (or `[capture] threads` loops, joined by a
/// `FanoutGroup`), kept in line with the `CapturePlan`: new interfaces are opened, vanished
/// ones closed, returning ones reopened, all without restarting the process. Loops, their
/// pipelines and counters are kept by loop name (`CaptureLoop.loopName`: `eth0`, or `eth0/1`,
/// `eth0/2`). Used from the runner thread only.
final class CaptureSet {
    private let interfaces: any InterfaceSystem
    /// Where every capture's detection sends its events, and counts those it loses.
    private let sink: EventSink
    private let lost: LostEvents
    /// What each newly opened capture's detection starts with.
    var detectionSettings: Settings.Detection
    private var hostFacts = DetectionConsumer.HostFacts()
    private var loops: [String: CaptureLoop] = [:]
    /// Per interface with several loops: their fan-out group and their shared scans.
    private var groups: [String: (fanout: FanoutGroup, scans: SharedScanDetection)] = [:]
    /// The detection pipeline of each open loop, to hand it host facts and read its state.
    private var consumers: [String: DetectionConsumer] = [:]
    private var counters: [String: InterfaceCounters] = [:]
    /// The last open problem logged per interface, so a persisting problem is logged once.
    private var reportedProblems: [String: String] = [:]
    private(set) var waitingFor: [String] = []

    static let stopTimeout: Duration = .seconds(3)

    init(interfaces: any InterfaceSystem, detectionSettings: Settings.Detection, sink: EventSink, lost: LostEvents) {
        self.interfaces = interfaces
        self.detectionSettings = detectionSettings
        self.sink = sink
        self.lost = lost
    }

    var capturing: [String] { loops.keys.sorted() }
    var loopsInOrder: [CaptureLoop] { loops.keys.sorted().map { loops[$0]! } }
    var counterSnapshots: [InterfaceCounters.Snapshot] { counters.keys.sorted().map { counters[$0]!.snapshot } }
    /// Each open loop's detection state as of its last tick.
    var published: [String: DetectionConsumer.Published] { consumers.compactMapValues(\.published) }

    /// Hands what changed about the host to every open loop's detection, and to those opened
    /// later; new addresses go to every open loop's capture filter too (`CaptureLoop.refilter`).
    func post(_ facts: DetectionConsumer.HostFacts) {
        if let addresses = facts.addresses {
            hostFacts.addresses = addresses
            for (name, loop) in loops {
                loop.refilter(hostAddresses: Array(addresses)) { Log.warning("\(name): \($0)") }
            }
        }
        if let listening = facts.listening { hostFacts.listening = listening }
        for consumer in consumers.values { consumer.post(facts) }
    }

    /// Brings the open captures in line with the interfaces present now.
    /// Throws only for problems a restart cannot fix (missing capture privileges).
    func reconcile(settings: Settings.Capture, wakeInterval: Duration) throws(DaemonError) {
        reapEndedLoops()
        let plan = CapturePlan.make(named: settings.interfaces, current: interfaces.current())
        let wantedByName = Dictionary(plan.wanted.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let members = Self.members(settings.threads)
        for (name, loop) in loops where wantedByName[loop.interfaceName]?.index != loop.interfaceIndex
            || !members.contains(where: { CaptureLoop.loopName(interface: loop.interfaceName, member: $0) == name }) {
            closeLoop(name, reason: "is gone or no longer selected")
        }
        for interface in plan.wanted {
            let missing = members.filter { loops[CaptureLoop.loopName(interface: interface.name, member: $0)] == nil }
            if !missing.isEmpty {
                try open(interface, members: missing, settings: settings, wakeInterval: wakeInterval)
            }
        }
        let open = Set(loops.values.map(\.interfaceName))
        waitingFor = plan.waitingFor + plan.wanted.map(\.name).filter { !open.contains($0) }
    }

    /// The loops' numbers per interface: [nil] for the one loop (named as ever), else 1...N.
    static func members(_ threads: CaptureThreads) -> [Int?] {
        let count = threads.loops(onlineCPUs: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        return count == 1 ? [nil] : Array(1...count)
    }

    /// Whether `reconcile` with these settings would have the privileges it needs, asked before
    /// a reload applies anything: opens and closes a capture on each interface it would open.
    /// - Parameter reopeningAll: the open captures would be closed and opened again.
    func checkPrivileges(settings: Settings.Capture, reopeningAll: Bool) throws(DaemonError) {
        let plan = CapturePlan.make(named: settings.interfaces, current: interfaces.current())
        for interface in plan.wanted where reopeningAll || loops[interface.name] == nil {
            do {
                try interfaces.openCapture(on: interface, settings: settings).close()
            } catch .permissionDenied(let detail) {
                throw Self.noPermission(interface.name, detail)
            } catch {
                continue
            }
        }
    }

    /// Closes every capture (they reopen on the next `reconcile`). Returns the loops that hung.
    @discardableResult
    func closeAll() -> [String] {
        var hung: [String] = []
        for name in loops.keys.sorted() where !closeLoop(name, reason: nil) {
            hung.append(name)
        }
        return hung
    }

    /// Stops one capture, which reports its pending probes; returns how many it held.
    func close(_ name: String) -> Int {
        let pending = consumers[name]?.published?.detection.pendingProbes ?? 0
        return closeLoop(name, reason: nil) ? pending : 0
    }

    /// Gives up a capture whose loop is stalled, without waiting for it: what it held, as of
    /// its last tick, is counted lost.
    func abandon(_ name: String) {
        let pending = UInt64(consumers[name]?.published?.detection.pendingProbes ?? 0)
        consumers[name]?.abandon()
        loops[name]?.abandon()
        forget(name)
        lost.add(pending, .interface)
        Log.error("The packet loop of \(name) is stalled: its \(pending) pending probes are lost")
    }

    private func reapEndedLoops() {
        for (name, loop) in loops {
            guard let outcome = loop.outcome else { continue }
            _ = loop.stop(timeout: Self.stopTimeout)
            forget(name)
            switch outcome {
            case .stopped:
                break
            case .interfaceGone(let detail):
                Log.warning("Interface \(name) went away (\(detail)); its capture is closed and reopens when it returns")
            case .failed(let detail):
                Log.error("Capture on \(name) failed: \(detail); reopening it on the next interface scan")
            }
        }
    }

    @discardableResult
    private func closeLoop(_ name: String, reason: String?) -> Bool {
        guard let loop = loops[name] else { return true }
        let consumer = consumers[name]
        let pending = UInt64(consumer?.published?.detection.pendingProbes ?? 0)
        forget(name)
        let ended = loop.stop(timeout: Self.stopTimeout)
        if !ended {
            // Its thread never flushes: what it held, as of its last tick, is lost with it.
            consumer?.abandon()
            loop.abandon()
            lost.add(pending, .interface)
            Log.error("The packet loop of \(name) did not stop within \(DurationText.format(Self.stopTimeout)); it is hung, and its \(pending) pending probes are lost")
        } else if let reason {
            Log.warning("Interface \(name) \(reason); closed its capture, it reopens when the interface returns")
        }
        return ended
    }

    private func forget(_ name: String) {
        let interface = loops[name]?.interfaceName
        loops[name] = nil
        consumers[name] = nil
        if let interface, !loops.values.contains(where: { $0.interfaceName == interface }) { groups[interface] = nil }
    }

    /// Opens the loops `members` of `interface` (all of them, or those a failure left out),
    /// each its own handle; several join the interface's fan-out group and share its scans.
    private func open(_ interface: NetworkInterface, members: [Int?], settings: Settings.Capture,
                      wakeInterval: Duration) throws(DaemonError) {
        do throws(PcapHandle.OpenError) {
            for member in members {
                let name = CaptureLoop.loopName(interface: interface.name, member: member)
                let source = try interfaces.openCapture(on: interface, settings: settings)
                var shared: SharedScanDetection?
                if member != nil {
                    let group = groups[interface.name] ?? (FanoutGroup(), SharedScanDetection(
                        interface: interface.name, settings: detectionSettings, budget: DetectionConsumer.budget(for: detectionSettings)))
                    do throws(PcapHandle.OpenError) { try source.join(group.fanout) } catch { source.close(); throw error }
                    groups[interface.name] = group
                    shared = group.scans
                }
                let loopCounters = counters[name] ?? InterfaceCounters(interfaceName: name)
                let consumer = DetectionConsumer(interface: interface.name, settings: detectionSettings, facts: hostFacts,
                                                 counters: loopCounters, sink: sink, lost: lost, sharedScans: shared,
                                                 publishesSharedScans: member == 1,
                                                 roomShares: Self.members(settings.threads).count)
                let loop = CaptureLoop(interface: interface, member: member, handle: source, consumer: consumer,
                                       counters: loopCounters, wakeInterval: wakeInterval)
                counters[name] = loopCounters
                consumers[name] = consumer
                loops[name] = loop
                loop.start()
                reportedProblems[interface.name] = nil
                let loopsText = member.map { ", loop \($0) of \(Self.members(settings.threads).count), joined by PACKET_FANOUT" } ?? ""
                Log.info("Capturing on \(interface.name) (link type \(source.linkType), snaplen \(settings.snaplenBytes), buffer \(settings.bufferSizeMiB) MiB\(loopsText))")
            }
        } catch .permissionDenied(let detail) {
            throw Self.noPermission(interface.name, detail)
        } catch {
            let problem = error.message
            if reportedProblems[interface.name] != problem {
                reportedProblems[interface.name] = problem
                Log.warning("Cannot capture on \(interface.name) yet (\(problem)); retrying on every interface scan")
            }
        }
    }

    private static func noPermission(_ name: String, _ detail: String) -> DaemonError {
        DaemonError("No permission to capture on \(name) (\(detail)): run lightscope as root or grant it CAP_NET_RAW (the packaged unit does this with AmbientCapabilities=CAP_NET_RAW)",
                    exitCode: .noPermission)
    }
}
