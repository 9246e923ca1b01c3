import LightScopeCore
import LightScopeTestSupport

/// Snapshots for comparing the status file's hand writer (`StatusJSON`) with `JSONEncoder`.
enum StatusSnapshotSamples {
    /// What an idle daemon on one interface writes.
    static var typical: DaemonSnapshot {
        DaemonSnapshot(
            version: "0.9.0", pid: 4242, startedAtNanos: 1_764_800_000_000_000_000, updatedAtNanos: 1_764_800_005_000_000_000,
            status: "Capturing on lo: 0 pkt/s, 0 events", interfaces: [
                DaemonSnapshot.Interface(name: "lo", capturing: true, packets: 12, bytes: 840, packetsPerSecond: 0, drops: 0,
                                         unwanted: 3, malformed: 0),
            ],
            loops: [
                DaemonSnapshot.Loop(name: "runner", heartbeatAgeNanos: 1_250_000, stalled: false),
                DaemonSnapshot.Loop(name: "capture-lo", heartbeatAgeNanos: 98_000_000, stalled: false),
            ],
            watchdog: DaemonSnapshot.Watchdog(timeoutNanos: nil, pingIntervalNanos: 0, stallLimitNanos: 30_000_000_000, pingsSent: 0,
                                              lastPingAtNanos: nil, stallsDetected: 0),
            events: DaemonSnapshot.Events(byVerdict: ["open": 0, "closed": 2, "filtered": 1]),
            detection: DaemonSnapshot.Detection(pendingProbes: 1, scanSources: 0, evictions: 0, probeEvictions: 0, scanSourceEvictions: 0),
            store: DaemonSnapshot.Store(path: "/var/lib/lightscope/events.sqlite", sizeBytes: 77_824, eventsWritten: 3, errors: 0,
                                        aggregated: 0, aggregatesWritten: 0),
            lostEvents: LostEvents().byReason,
            restarts: DaemonSnapshot.Restarts(byEnding: ["watchdog": 0, "crash": 0, "killed": 0, "failed": 0, "unknown": 0],
                                              lastRestartAtNanos: nil, lastReason: nil),
            fragments: FragmentCounters())
    }

    /// Every optional set and every array holding an element, so every stored property is written.
    static var everyOptionalSet: DaemonSnapshot {
        var snapshot = typical
        snapshot.watchdog.timeoutNanos = 60_000_000_000
        snapshot.watchdog.lastPingAtNanos = 1_764_800_004_000_000_000
        snapshot.events.byTool = ["nmap": 5, "masscan": 1]
        snapshot.detection.slowScanEvictions = 7
        snapshot.restarts.lastRestartAtNanos = 1_764_799_000_000_000_000
        snapshot.restarts.lastReason = "a watchdog timeout"
        snapshot.fleet = DaemonSnapshot.Fleet(collector: "203.0.113.10:5432", hostIdentifier: "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64",
                                              hostName: "web1", connected: false, eventsPending: 12, oldestPendingAtNanos: 1_000,
                                              eventsShipped: 4567, lastShippedAtNanos: 2_000, problem: "collector refused: \"no\"")
        snapshot.reload = DaemonSnapshot.Reload(generation: 2, applied: false, problem: "[capture] interface: no such device",
                                                exitCode: 78, atNanos: 1_764_800_003_000_000_000)
        var fragments = FragmentCounters()
        fragments.reassembled = 10
        fragments.overlapping = 2
        fragments.evicted = 1
        fragments.expired = 3
        snapshot.fragments = fragments
        return snapshot
    }

    /// Every optional nil, every array and dictionary empty.
    static var everyOptionalNil: DaemonSnapshot {
        DaemonSnapshot(
            version: "", pid: 1, startedAtNanos: 0, updatedAtNanos: 0, status: "", interfaces: [], loops: [],
            watchdog: DaemonSnapshot.Watchdog(timeoutNanos: nil, pingIntervalNanos: 0, stallLimitNanos: 0, pingsSent: 0,
                                              lastPingAtNanos: nil, stallsDetected: 0),
            events: DaemonSnapshot.Events(byVerdict: [:]),
            detection: DaemonSnapshot.Detection(pendingProbes: 0, scanSources: 0, evictions: 0, probeEvictions: 0, scanSourceEvictions: 0),
            store: DaemonSnapshot.Store(path: "", sizeBytes: 0, eventsWritten: 0, errors: 0),
            lostEvents: [:], restarts: DaemonSnapshot.Restarts(byEnding: [:], lastRestartAtNanos: nil, lastReason: nil))
    }

    /// Pieces that JSON escapes, that sort differently by bytes than by characters, or that
    /// snake_case would change if it were applied to dictionary keys.
    static let awkwardTexts: [String] = [
        "", "a", "Z", "_", "10", "9", "fooBar", "URLPath", "with space", "quote\"d", "back\\slash", "a/b", "http://x/",
        "tab\there", "line\nbreak", "cr\rlf", "\u{0}", "\u{1}\u{1F}", "\u{8}\u{C}", "\u{7F}", "é", "É", "日本語", "🛰️", "👩‍👩‍👧",
        "e\u{301}", "\u{2028}\u{2029}", "\u{FEFF}",
    ]

    static func text(_ generator: inout SplitMix64) -> String {
        (0..<generator.next(below: 4)).map { _ in awkwardTexts[generator.next(below: awkwardTexts.count)] }.joined()
    }

    static func number(_ generator: inout SplitMix64) -> UInt64 {
        switch generator.next(below: 4) {
        case 0: 0
        case 1: UInt64.max - UInt64(generator.next(below: 3))
        case 2: UInt64(generator.next(below: 1000))
        default: generator.next()
        }
    }

    static func maybe<T>(_ generator: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> T? {
        generator.next(below: 2) == 0 ? nil : make(&generator)
    }

    static func counts(_ generator: inout SplitMix64) -> [String: UInt64] {
        var counts: [String: UInt64] = [:]
        for _ in 0..<generator.next(below: 6) {
            counts[text(&generator)] = number(&generator)
        }
        return counts
    }

    static func random(_ generator: inout SplitMix64) -> DaemonSnapshot {
        let interfaces = (0..<generator.next(below: 4)).map { _ in
            DaemonSnapshot.Interface(name: text(&generator), capturing: generator.next(below: 2) == 0, packets: number(&generator),
                                     bytes: number(&generator), packetsPerSecond: number(&generator), drops: number(&generator),
                                     unwanted: number(&generator), malformed: number(&generator))
        }
        let loops = (0..<generator.next(below: 4)).map { _ in
            DaemonSnapshot.Loop(name: text(&generator), heartbeatAgeNanos: number(&generator), stalled: generator.next(below: 2) == 0)
        }
        let pid = [Int32.min, -1, 0, 1, Int32.max][generator.next(below: 5)]
        return DaemonSnapshot(
            version: text(&generator), pid: pid, startedAtNanos: number(&generator), updatedAtNanos: number(&generator),
            status: text(&generator), interfaces: interfaces, loops: loops,
            watchdog: DaemonSnapshot.Watchdog(timeoutNanos: maybe(&generator, number), pingIntervalNanos: number(&generator),
                                              stallLimitNanos: number(&generator), pingsSent: number(&generator),
                                              lastPingAtNanos: maybe(&generator, number), stallsDetected: number(&generator)),
            events: DaemonSnapshot.Events(byVerdict: counts(&generator), byTool: counts(&generator)),
            detection: DaemonSnapshot.Detection(pendingProbes: number(&generator), scanSources: number(&generator),
                                                evictions: number(&generator), probeEvictions: number(&generator),
                                                scanSourceEvictions: number(&generator), slowScanEvictions: number(&generator)),
            store: maybe(&generator) { generator in
                DaemonSnapshot.Store(path: text(&generator), sizeBytes: number(&generator), eventsWritten: number(&generator),
                                     errors: number(&generator), aggregated: maybe(&generator, number),
                                     aggregatesWritten: maybe(&generator, number))
            },
            lostEvents: counts(&generator),
            restarts: DaemonSnapshot.Restarts(byEnding: counts(&generator), lastRestartAtNanos: maybe(&generator, number),
                                              lastReason: maybe(&generator, text)),
            fleet: maybe(&generator) { generator in
                DaemonSnapshot.Fleet(collector: text(&generator), hostIdentifier: text(&generator), hostName: text(&generator),
                                     connected: generator.next(below: 2) == 0, eventsPending: number(&generator),
                                     oldestPendingAtNanos: maybe(&generator, number), eventsShipped: number(&generator),
                                     lastShippedAtNanos: maybe(&generator, number), problem: maybe(&generator, text))
            },
            reload: maybe(&generator) { generator in
                DaemonSnapshot.Reload(generation: number(&generator), applied: generator.next(below: 2) == 0,
                                      problem: maybe(&generator, text),
                                      exitCode: maybe(&generator) { [Int32.min, -1, 0, 77, 78, Int32.max][$0.next(below: 6)] },
                                      atNanos: number(&generator))
            },
            fragments: maybe(&generator) { generator in
                var fragments = FragmentCounters()
                fragments.reassembled = number(&generator)
                fragments.overlapping = number(&generator)
                fragments.evicted = number(&generator)
                fragments.expired = number(&generator)
                return fragments
            })
    }
}
