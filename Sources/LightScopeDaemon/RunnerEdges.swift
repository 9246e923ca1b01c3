import LightScopeCapture
import LightScopeCore
import LightScopeSystem
import LightScopeSystemd

/// Where the runner meets the operating system: systemd's notify socket, the clocks, process
/// signals and the network interfaces. Everything else the runner drives is real in every
/// test (the event pipeline, SQLite, the metrics listener); these four are injected, so that
/// start-up, reload and shutdown are tested in-process, without root and without the binary.
struct RunnerEdges {
    var notifier: any NotifySocket
    var clock: any RunnerClock
    var signals: any SignalSource
    var interfaces: any InterfaceSystem

    static var system: RunnerEdges {
        RunnerEdges(notifier: SystemdNotifier(), clock: SystemClock(), signals: ProcessSignals(), interfaces: SystemInterfaces())
    }
}

/// The two clocks the runner reads: monotonic for intervals, wall for what people read.
protocol RunnerClock {
    func monotonicNanos() -> UInt64
    func wallNanos() -> UInt64
}

struct SystemClock: RunnerClock {
    func monotonicNanos() -> UInt64 { MonotonicClock.nowNanos() }
    func wallNanos() -> UInt64 { WallClock.nowNanos() }
}

/// Signals as bytes on a descriptor the runner polls (see `SignalPipe`).
protocol SignalSource {
    /// Installs the handlers; before any thread starts.
    func install()
    /// Readable (POLLIN) when a signal has arrived.
    var readEnd: Int32 { get }
    /// The signals received since the last call, in arrival order.
    func drain() -> [Int32]
}

struct ProcessSignals: SignalSource {
    func install() { SignalPipe.install() }
    var readEnd: Int32 { SignalPipe.readEnd }
    func drain() -> [Int32] { SignalPipe.drain() }
}

/// The host's interfaces and the packet sources opened on them.
protocol InterfaceSystem {
    func current() -> [NetworkInterface]
    /// Every address of this host: what "local" means to detection.
    func addresses() -> Set<IPAddress>
    /// A packet source on `interface`, ready to read; a permission error means no capture privileges.
    func openCapture(on interface: NetworkInterface, settings: Settings.Capture) throws(PcapHandle.OpenError) -> any PacketSource
}

struct SystemInterfaces: InterfaceSystem {
    func current() -> [NetworkInterface] { NetworkInterfaces.current() }
    func addresses() -> Set<IPAddress> { NetworkInterfaces.addresses() }

    func openCapture(on interface: NetworkInterface, settings: Settings.Capture) throws(PcapHandle.OpenError) -> any PacketSource {
        let options = PcapHandle.Options(snaplenBytes: settings.snaplenBytes, bufferSizeBytes: settings.bufferSizeMiB << 20,
                                         hostAddresses: Array(addresses()))
        let handle = try PcapHandle(interfaceName: interface.name, options: options)
        if let warning = handle.filterWarning { Log.warning("\(interface.name): \(warning)") }
        return handle
    }
}
