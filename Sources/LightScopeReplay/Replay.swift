import LightScopeCapture
@_spi(Replay) import LightScopeCore

/// `lightscope replay`: the live detection engine over a capture file, driven by the
/// capture's own timestamps, so the same file always gives the same events.
public struct Replay {
    public var path: String
    public var json: Bool
    /// The capture's local addresses; empty: learn them from who answers connection attempts.
    public var local: [IPPrefix]
    public var settings: Settings.Detection
    /// The process ends right after this replay (`lightscope replay`): its detection tables
    /// and tallies are then left to the kernel to reclaim at exit, not freed one by one,
    /// which for a large capture's tables is a visible share of the run after the work was
    /// done (the reason compilers skip their own frees on the way out too). Off by default, so a
    /// long-lived caller (the tests) frees everything.
    public var processExitsAfterwards: Bool
    /// Shown while the file is read (a terminal's); nil: silent.
    public var progress: ReplayProgress?

    public init(path: String, json: Bool, local: [IPPrefix], settings: Settings.Detection,
                processExitsAfterwards: Bool = false, progress: ReplayProgress? = nil) {
        self.path = path
        self.json = json
        self.local = local
        self.settings = settings
        self.processExitsAfterwards = processExitsAfterwards
        self.progress = progress
    }

    /// Replays the file, writing JSON lines or the summary through `write`.
    /// Throws when the file cannot be opened; a damaged file is reported after everything
    /// readable in it has been processed.
    public func run(write: (String) -> Void) throws(DaemonError) -> ReplaySummary {
        let reader = try PcapFileReader(path: path)
        return withoutActuallyEscaping(write) { write in replay(reader, write: write) }
    }

    /// What the IPv4 tables start with: the benchmark's capture keeps about 100,000 probes
    /// pending, and a table that starts small copies itself at each doubling on the way.
    static let initialIPv4Entries = 1 << 17

    /// Packets per batch handed to the detection thread, and events per batch handed to the
    /// scan and tally thread; batches at once (see `OffloadedConsumer`).
    static let packetBatchSize = 4096
    static let eventBatchSize = 4096
    static let batchesInFlight = 16
    /// How many packets (events) ahead of the one being processed the detection (scan)
    /// thread prefetches: enough for several cache misses to overlap.
    static let prefetchDistance = 16
    /// How many packets ahead the detection thread starts loading the batch itself, which
    /// the reading thread wrote on the other core: far enough that the copy has arrived by
    /// the time `prefetchDistance` reads the packet.
    static let batchPrefetchDistance = 40

    /// Three threads, one stage each, in file order: the calling thread reads the file and
    /// decodes each packet where it lies in the read buffer (`ReadStage`); the detection
    /// thread runs the engine on the probes (`DetectionStage`); the third counts scans from the
    /// failures the engine reports (`ScanDetector`, run where the engine would run it, see
    /// `ScanDetection.byCaller`), tallies every event and writes JSON (`ScanAndTallyStage`).
    /// Each stage sees everything in the order the one before produced it, so the events are
    /// those of one thread doing it all (`ReplayPipelineTests` compares the two). Each stage
    /// owns the state it keeps behind a pointer (`StageState`), and releases it here at the end.
    /// `write` only escapes to the third thread, which has ended when this returns.
    private func replay(_ reader: PcapFileReader, write: @escaping (String) -> Void) -> ReplaySummary {
        let localAddresses = local.isEmpty ? LocalAddresses.learnedFromAnswers() : LocalAddresses(prefixes: local)
        let budget = DetectionBudget(settings: settings, initialIPv4Entries: Self.initialIPv4Entries)
        let engine = DetectionEngine(interface: "pcap", settings: settings, localAddresses: localAddresses, budget: budget,
                                     scans: .byCaller)
        let scanAndTally = ScanAndTallyStage(scans: ScanDetector(interface: engine.interfaceName, settings: settings, budget: budget))
        let detection = DetectionStage(engine: engine, events: scanAndTally.consumer(json: json, write: write))
        let reading = ReadStage(reassembler: FragmentReassembler(budget: budget), packetsToDetect: detection.consumer())
        defer {
            // In the order they were made, the last first; or kept until exit on purpose (see
            // `processExitsAfterwards`): the tallies the returned summary shares among them.
            reading.release(keptUntilExit: processExitsAfterwards)
            detection.release(keptUntilExit: processExitsAfterwards)
            scanAndTally.release(keptUntilExit: processExitsAfterwards)
        }
        let damage = reading.read(reader, progress: progress)
        // The detection thread has ended: the engine and the events are this thread's now.
        detection.finish(atNanos: reading.state.pointer.pointee.lastTimestamp)
        var summary = scanAndTally.summary
        reading.state.pointer.pointee.count(into: &summary)
        detection.count(into: &summary)
        summary.damage = damage
        if !json { write(summary.report(path: path, learnedLocal: local.isEmpty)) }
        return summary
    }
}
