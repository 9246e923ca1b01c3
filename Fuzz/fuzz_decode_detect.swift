import LightScopeCore

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry point over the whole pure pipeline: bytes -> `PacketDecoder` (and the
/// `FragmentReassembler` for pieces of TCP headers) -> a `DetectionEngine` with tiny tables
/// and thresholds -> event records and their JSON.
///
/// Besides "never crash" (every read and every arithmetic overflow traps in Swift, and
/// AddressSanitizer watches the unsafe pointers), it checks what the daemon promises:
/// tables (the reassembler's too) never exceed their capacity, the engine's counters match the events it emitted,
/// and every event's JSON line decodes back to the same record.
///
/// Input layout (see `FuzzInput`): one settings byte, then records of
/// `[link type index][time step][length (2 bytes, big-endian)][packet bytes]`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecodeDetect(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    // The whole input as one packet, under every link type the decoder knows.
    for linkType in FuzzInput.linkTypes {
        _ = try? PacketDecoder.decode(bytes, linkType: linkType)
    }
    FuzzInput(bytes).run()
    return 0
}

/// `LIGHTSCOPE_FUZZ_WRITE_SEEDS=DIR` makes the binary write its seed corpus to DIR and exit,
/// so the corpus is generated from code (Fuzz/FuzzSeeds.swift), never committed as binaries.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    guard let directory = getenv("LIGHTSCOPE_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return 0 }
    let seeds = FuzzSeeds.all()
    for (index, seed) in seeds.enumerated() {
        let path = "\(directory)/seed-\(index)"
        guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }
    print("wrote \(seeds.count) seeds to \(directory)")
    exit(0)
}

struct FuzzInput {
    static let linkTypes: [Int32] = [
        LinkType.ethernet, LinkType.raw, LinkType.linuxCooked, LinkType.linuxCookedV2, LinkType.null,
        LinkType.loop, LinkType.ipv4, LinkType.ipv6, LinkType.rawOpenBSD, 4242,
    ]
    /// Start times: a realistic capture clock, the epoch, and two seconds before the last
    /// nanosecond a UInt64 holds (in 2554), where arithmetic on times must not overflow.
    static let startTimes: [UInt64] = [1_780_000_000_000_000_000, 0, UInt64.max - 2_000_000_000, 5_000_000_000]

    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func run() {
        guard let settingsByte = bytes.first else { return }
        var settings = Settings.Detection()
        settings.synAnswerTimeout = .seconds(1)
        settings.grace = .seconds(2)
        settings.portscanPorts = 2 + Int(settingsByte >> 6)
        settings.addrscanAddresses = 2 + Int(settingsByte >> 6)
        settings.portscanWindow = .seconds(5)
        settings.addrscanWindow = .seconds(3)
        let capacity = 1 + Int(settingsByte >> 2 & 0x3) * 3
        let capacities = DetectionCapacities(pendingProbes: capacity, recentConnections: capacity, scanSources: capacity)
        let local: LocalAddresses = switch settingsByte & 0x3 {
        case 0: LocalAddresses(addresses: [IPAddress("192.0.2.1")!, IPAddress("2001:db8::1")!])
        case 1: LocalAddresses(prefixes: [IPPrefix("192.0.2.0/24")!, IPPrefix("2001:db8::/64")!])
        default: .learnedFromAnswers()
        }
        let engine = DetectionEngine(interface: "fuzz0", settings: settings, localAddresses: local, capacities: capacities)
        var reassembler = FragmentReassembler(capacity: capacity)
        if settingsByte & 0x10 != 0 { engine.updateListeningPorts(ListeningPorts(tcp: [22, 80], udp: [53])) }
        var nowNanos = Self.startTimes[Int(settingsByte >> 4 & 0x3)]
        var emitted: UInt64 = 0
        let emit: (UnwantedEvent) -> Void = { event in
            emitted += 1
            Self.check(event)
        }
        var lostProbes: UInt64 = 0
        let lost: (LostProbe) -> Void = { _ in lostProbes += 1 }

        var offset = 1
        while offset + 4 <= bytes.count {
            let linkType = Self.linkTypes[Int(bytes[offset]) % Self.linkTypes.count]
            let step = bytes[offset + 1]
            let declared = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 4
            let length = min(declared, bytes.count - offset)
            let packet = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
            offset += length

            switch step {
            case 0xFF:
                // A clock that steps back (NTP, a replayed file out of order).
                nowNanos = nowNanos &- min(nowNanos, 3_000_000_000)
            case 0xF0...0xFE:
                // A timer tick without a packet, as the capture loop does on a quiet wake-up.
                nowNanos = nowNanos &+ UInt64(step - 0xF0) * 500_000_000
                engine.advance(toNanos: nowNanos, emit: emit)
            default:
                nowNanos = nowNanos &+ UInt64(step) * 50_000_000
            }
            if var decoded = try? PacketDecoder.decode(packet, linkType: linkType) {
                if case .tcpFragment(let piece) = decoded.transport,
                   let whole = try? reassembler.add(piece, of: decoded, bytes: packet, timeNanos: nowNanos) {
                    decoded = whole
                }
                engine.process(decoded, timeNanos: nowNanos, emit: emit, lost: lost)
            }
            Self.checkBounds(engine.state, capacity: capacity)
            guard reassembler.count <= capacity else {
                fatalError("the fragment reassembler outgrew its capacity \(capacity): \(reassembler.count)")
            }
        }
        engine.finish(emit: emit)
        Self.checkBounds(engine.state, capacity: capacity)
        guard engine.counters.events == emitted else {
            fatalError("the engine counted \(engine.counters.events) events but emitted \(emitted)")
        }
        guard engine.state.probeEvictions == lostProbes else {
            fatalError("the engine counted \(engine.state.probeEvictions) probes evicted but handed over \(lostProbes)")
        }
    }

    /// Each kind of table is an IPv4 and an IPv6 table, each of `capacity` entries (hand-set
    /// `DetectionCapacities` give both families the same), and the state counts both. The
    /// scan sources are two trackers' here: the portscan and addrscan windows differ (above),
    /// so each kind of scan keeps its own tables.
    static func checkBounds(_ state: DetectionState, capacity: Int) {
        let bothFamilies = 2 * capacity
        guard state.pendingProbes <= bothFamilies, state.recentConnections <= bothFamilies,
              state.scanSources <= 2 * bothFamilies else {
            fatalError("a detection table outgrew its capacity \(capacity) per address family: \(state)")
        }
    }

    /// What every sink does with an event: a record, its journal line and its JSON, which
    /// must read back as the same record.
    static func check(_ event: UnwantedEvent) {
        let record = EventRecord(event)
        _ = EventLine.text(record)
        _ = JournalFields.fields(for: record)
        let line = EventJSON.encode(record)
        let decoded: EventRecord
        do {
            decoded = try EventJSON.decode(line)
        } catch {
            fatalError("an event's JSON does not decode (\(error)): \(line)")
        }
        // The JSON carries microseconds, all that capture timestamps have.
        var expected = record
        expected.timeNanos -= expected.timeNanos % 1000
        guard decoded == expected else { fatalError("JSON round trip changed the event:\n\(line)\n\(expected)\n\(decoded)") }
    }
}
