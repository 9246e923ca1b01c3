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
    ],
    targets: [
        // Thin C shims: a modulemap and a header each, no logic.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // One static inline function: the cache-prefetch hint Swift cannot spell.
        .target(name: "CPrefetch"),

        // Pure: configuration, watchdog policy, counters, status text. No I/O.
        .target(name: "LightScopeCore", dependencies: ["CPrefetch"]),
        // libpcap handles and the non-blocking poll loop that feeds them.
        .target(name: "LightScopeCapture", dependencies: ["LightScopeCore", "CPcap"]),
        // sd_notify, journald-friendly logging, signals.
        .target(name: "LightScopeSystemd", dependencies: ["LightScopeCore", "CSystemd"]),
        // Event sinks: the SQLite store, the journal, anonymisation, and the writer thread feeding them.
        .target(name: "LightScopeStore", dependencies: [
            "LightScopeCore", "LightScopeSystemd", "CSQLite", "CSystemd",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The fleet: the shipper that delivers the local store to a central PostgreSQL (libpq,
        // non-blocking), the collector's schema and the fleet commands' logic.
        .target(name: "LightScopeFleet", dependencies: ["LightScopeCore", "LightScopeCapture", "LightScopeStore", "CLibPQ", "CSystemd"]),
        // The runner: composes capture loops and the watchdog supervisor.
        .target(name: "LightScopeDaemon", dependencies: ["LightScopeCore", "LightScopeCapture", "LightScopeSystemd", "LightScopeStore", "LightScopeFleet", "CPrefetch"]),
        .executableTarget(name: "lightscope", dependencies: [
            "LightScopeDaemon", "LightScopeStore", "LightScopeFleet",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmark only: writes the reproducible capture files bench/run.sh measures with.
        .executableTarget(name: "lightscope-pcapgen", path: "bench/pcapgen"),
        // Benchmark only: a hundred simulated hosts' shippers for bench/fleet-hosts.sh.
        .executableTarget(name: "lightscope-fleetsim", dependencies: ["LightScopeCore", "LightScopeStore", "LightScopeFleet"],
                          path: "bench/fleetsim"),
        // Benchmark only: the store writer's CPU per event (bench/README.md, "The store writer").
        .executableTarget(name: "lightscope-storewrite", dependencies: ["LightScopeCore", "LightScopeStore"], path: "bench/storewrite"),

        // Real test parts shared by the test targets: a notify socket, namespaces, the daemon process.
        .target(name: "LightScopeTestSupport", dependencies: ["LightScopeCore"], path: "Tests/LightScopeTestSupport"),
        .testTarget(name: "LightScopeCoreTests", dependencies: ["LightScopeCore", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeCaptureTests", dependencies: ["LightScopeCapture", "CPcap", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeSystemdTests", dependencies: ["LightScopeSystemd", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeStoreTests", dependencies: ["LightScopeStore", "LightScopeTestSupport"]),
        .testTarget(name: "LightScopeDaemonTests", dependencies: ["LightScopeDaemon", "LightScopeCapture", "CPcap", "LightScopeStore", "LightScopeFleet", "LightScopeTestSupport"]),
        // The shipper and the collector's schema against a real PostgreSQL the tests start.
        .testTarget(name: "LightScopeFleetTests", dependencies: ["LightScopeFleet", "LightScopeStore", "LightScopeTestSupport"]),
        // The operator commands (events, top, blocklist, doctor) through the real binary.
        .testTarget(name: "LightScopeCLITests", dependencies: ["LightScopeCore", "LightScopeStore", "LightScopeTestSupport"]),
    ]
)
