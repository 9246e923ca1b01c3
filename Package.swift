// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "LightScope",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lightscope", targets: ["lightscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Thin C shims: a modulemap and a header each, no logic.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libpq's API (libpq-dev's header), the library itself opened with dlopen on first use:
        // a daemon that ships nothing to a fleet never maps it (Sources/CLibPQ/include/CLibPQ.h).
        .target(name: "CLibPQ"),

        // One static inline function: the cache-prefetch hint Swift cannot spell.
        .target(name: "CPrefetch"),

        // The speed machinery of detection's state: hand-made hash tables and expiring tables in
        // memory mapped straight from the kernel (with its madvise), and the prefetch hint.
        // Their code is @inlinable, so Core still specialises and inlines it.
        // The system layer: threads, wake pipes, clocks, the directory rule. What Core must not do.
        .target(name: "LightScopeSystem", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "LightScopeFastTables", dependencies: ["CPrefetch"]),
        // Pure: configuration, watchdog policy, counters, status text. No I/O in its sources;
        // it links the system layer for the heartbeat's clock.
        .target(name: "LightScopeCore", dependencies: ["LightScopeFastTables", "LightScopeSystem"]),
        // libpcap handles and the non-blocking poll loop that feeds them.
        .target(name: "LightScopeCapture", dependencies: ["LightScopeCore", "CPcap"]),
        // The logging API: swift-log, with a handler that writes journald's <N> priorities.
        .target(name: "LightScopeLogging", dependencies: [
            "LightScopeCore", "LightScopeSystem", .product(name: "Logging", package: "swift-log"),
        ]),
        // sd_notify, signals; re-exports the logging.
        .target(name: "LightScopeSystemd", dependencies: ["LightScopeCore", "LightScopeLogging", "CSystemd"]),
        // Event sinks: the SQLite store, the journal, anonymisation, and the writer thread feeding them.
        .target(name: "LightScopeStore", dependencies: [
            "LightScopeCore", "LightScopeLogging", "CSQLite", "CSystemd",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The fleet: the shipper that delivers the local store to a central PostgreSQL (libpq,
        // non-blocking), the collector's schema and the fleet commands' logic.
        .target(name: "LightScopeFleet", dependencies: ["LightScopeCore", "LightScopeCapture", "LightScopeStore", "CLibPQ", "CSystemd"]),
        // The runner: composes capture loops and the watchdog supervisor.
        .target(name: "LightScopeDaemon", dependencies: ["LightScopeCore", "LightScopeCapture", "LightScopeSystemd", "LightScopeStore", "LightScopeFleet"]),
        // `lightscope replay`: the detection engine over a capture file, on three threads.
        .target(name: "LightScopeReplay", dependencies: ["LightScopeCore", "LightScopeSystem", "LightScopeCapture", "CPrefetch"]),
        .executableTarget(name: "lightscope", dependencies: [
            "LightScopeDaemon", "LightScopeReplay", "LightScopeStore", "LightScopeFleet",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmark only: writes the reproducible capture files bench/run.sh measures with.
        .executableTarget(name: "lightscope-pcapgen", path: "bench/pcapgen"),
        // Benchmark only: a hundred simulated hosts' shippers for bench/fleet-hosts.sh.
        .executableTarget(name: "lightscope-fleetsim", dependencies: ["LightScopeCore", "LightScopeStore", "LightScopeFleet"],
                          path: "bench/fleetsim"),
        // Benchmark only: the store writer's CPU per event (bench/README.md, "The store writer").
        .executableTarget(name: "lightscope-storewrite", dependencies: ["LightScopeCore", "LightScopeStore"], path: "bench/storewrite"),
        // Benchmark only: bench/flatmodel.c's flood through LightScope's own tables (bench/README.md).
        .executableTarget(name: "lightscope-tablebench", dependencies: ["LightScopeCore", "LightScopeFastTables", "CPrefetch"],
                          path: "bench/tablebench"),

        // Real test parts shared by the test targets: a notify socket, namespaces, the daemon process.
        .target(name: "LightScopeTestSupport", dependencies: ["LightScopeCore"], path: "Tests/LightScopeTestSupport"),
        .testTarget(name: "LightScopeFastTablesTests", dependencies: ["LightScopeFastTables", "LightScopeCore", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeCoreTests", dependencies: ["LightScopeCore", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeSystemTests", dependencies: ["LightScopeSystem", "LightScopeTestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "LightScopeCaptureTests", dependencies: ["LightScopeCapture", "CPcap", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeSystemdTests", dependencies: ["LightScopeSystemd", "LightScopeLogging", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeStoreTests", dependencies: ["LightScopeStore", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeDaemonTests", dependencies: ["LightScopeDaemon", "LightScopeCapture", "CPcap", "LightScopeStore", "LightScopeFleet", "LightScopeTestSupport"]),
        // Replay in process (its threads against one engine on one thread) and through the binary
        // (golden outputs, bad files).
        .testTarget(name: "LightScopeReplayTests", dependencies: ["LightScopeReplay", "LightScopeCapture", "LightScopeCore", "LightScopeTestSupport"]),
        // The shipper and the collector's schema against a real PostgreSQL the tests start.
        .testTarget(name: "LightScopeFleetTests", dependencies: ["LightScopeFleet", "LightScopeStore", "LightScopeTestSupport"]),
        // The operator commands (events, top, blocklist, doctor) through the real binary.
        .testTarget(name: "LightScopeCLITests", dependencies: ["LightScopeCore", "LightScopeStore", "LightScopeTestSupport"]),
    ]
)
