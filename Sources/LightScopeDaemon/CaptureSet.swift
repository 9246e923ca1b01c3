import LightScopeCapture
import LightScopeCore
import LightScopeSystemd

/// The open captures, one loop per interface, kept in line with the `CapturePlan`:
/// new interfaces are opened, vanished ones closed, returning ones reopened, all
/// without restarting the process. Used from the runner thread only.
final class CaptureSet {
    private var loops: [String: CaptureLoop] = [:]
    private var counters: [String: InterfaceCounters] = [:]
    /// The last open problem logged per interface, so a persisting problem is logged once.
    private var reportedProblems: [String: String] = [:]
    private(set) var waitingFor: [String] = []
    private let makeConsumer: (String, InterfaceCounters) -> PacketConsumer

    static let stopTimeout: Duration = .seconds(3)

    init(makeConsumer: @escaping (String, InterfaceCounters) -> PacketConsumer) {
        self.makeConsumer = makeConsumer
    }

    var capturing: [String] { loops.keys.sorted() }
    var heartbeats: [Heartbeat] { loops.keys.sorted().map { loops[$0]!.heartbeat } }
    var counterSnapshots: [InterfaceCounters.Snapshot] { counters.keys.sorted().map { counters[$0]!.snapshot } }

    /// Brings the open captures in line with the interfaces present now.
    /// Throws only for problems a restart cannot fix (missing capture privileges).
    func reconcile(settings: Settings.Capture, wakeInterval: Duration,
                   current: [NetworkInterface] = NetworkInterfaces.current()) throws(DaemonError) {
        reapEndedLoops()
        let plan = CapturePlan.make(named: settings.interfaces, current: current)
        let wantedByName = Dictionary(uniqueKeysWithValues: plan.wanted.map { ($0.name, $0) })
        for (name, loop) in loops where wantedByName[name]?.index != loop.interfaceIndex {
            closeLoop(name, reason: "is gone or no longer selected")
        }
        for interface in plan.wanted where loops[interface.name] == nil {
            try open(interface, settings: settings, wakeInterval: wakeInterval)
        }
        waitingFor = plan.waitingFor + plan.wanted.map(\.name).filter { loops[$0] == nil }
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

    private func reapEndedLoops() {
        for (name, loop) in loops {
            guard let outcome = loop.outcome else { continue }
            _ = loop.stop(timeout: Self.stopTimeout)
            loops[name] = nil
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
        guard let loop = loops.removeValue(forKey: name) else { return true }
        let ended = loop.stop(timeout: Self.stopTimeout)
        if !ended {
            Log.error("The packet loop of \(name) did not stop within \(DurationText.format(Self.stopTimeout)); it is hung")
        } else if let reason {
            Log.warning("Interface \(name) \(reason); closed its capture, it reopens when the interface returns")
        }
        return ended
    }

    private func open(_ interface: NetworkInterface, settings: Settings.Capture, wakeInterval: Duration) throws(DaemonError) {
        let options = PcapHandle.Options(snaplenBytes: settings.snaplenBytes,
                                         bufferSizeBytes: settings.bufferSizeMiB << 20)
        do {
            let handle = try PcapHandle(interfaceName: interface.name, options: options)
            if let warning = handle.filterWarning { Log.warning("\(interface.name): \(warning)") }
            let interfaceCounters = counters[interface.name] ?? InterfaceCounters(interfaceName: interface.name)
            counters[interface.name] = interfaceCounters
            let loop = CaptureLoop(interface: interface, handle: handle, consumer: makeConsumer(interface.name, interfaceCounters),
                                   counters: interfaceCounters, wakeInterval: wakeInterval)
            loop.start()
            loops[interface.name] = loop
            reportedProblems[interface.name] = nil
            Log.info("Capturing on \(interface.name) (link type \(handle.linkType), snaplen \(settings.snaplenBytes), buffer \(settings.bufferSizeMiB) MiB)")
        } catch .permissionDenied(let detail) {
            throw DaemonError("No permission to capture on \(interface.name) (\(detail)): run lightscope as root or grant it CAP_NET_RAW (the packaged unit does this with AmbientCapabilities=CAP_NET_RAW)",
                              exitCode: .noPermission)
        } catch {
            let problem = error.message
            if reportedProblems[interface.name] != problem {
                reportedProblems[interface.name] = problem
                Log.warning("Cannot capture on \(interface.name) yet (\(problem)); retrying on every interface scan")
            }
        }
    }
}
