import Foundation
import LightScopeCore
import LightScopeSystem
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import Synchronization
import XCTest

/// One host of a test fleet: its own role, host id and local store; its events reach the
/// collector through the real shipper, in this process.
final class FleetTestHost {
    let name: String
    let hostID: HostID
    let role: String
    let password: String
    let stateDirectory: String
    private let server: PostgresServer

    init(server: PostgresServer, admin: PostgresConnection, name: String, hostID: HostID) throws {
        self.server = server
        self.name = name
        self.hostID = hostID
        let credentials = try FleetCollector.addHost(admin, name: name, hostID: hostID, authentication: .scram,
                                                     collector: nil, adminURL: server.tlsURL(role: "postgres"))
        role = credentials.role
        password = credentials.password!
        stateDirectory = NSTemporaryDirectory() + "lightscope-fleetview-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: stateDirectory) }

    /// Stores `records` locally, runs the shipper until the collector holds them all, stops it.
    /// `anonymiser` is the host's: its heartbeat says which key the sources' pseudonyms are made with.
    func ship(_ records: [EventRecord], anonymiser: AddressAnonymiser = .disabled) throws {
        let databasePath = stateDirectory + "/" + EventStore.fileName
        try EventStore(path: databasePath).insert(records)
        var settings = Settings.Fleet()
        settings.url = server.tlsURL(role: role)
        settings.interval = .seconds(1)
        settings.connectTimeout = .seconds(5)
        settings.retryMaxInterval = .seconds(1)
        let configuration = FleetShipper.Configuration(
            settings: settings, parameters: try ConnectionParameters(url: settings.url!), password: password,
            hostID: hostID, hostName: name, databasePath: databasePath, anonymiser: anonymiser, killAfterCommits: nil)
        let shipper = FleetShipper(configuration: configuration, lost: LostEvents(), wakeInterval: .milliseconds(250), log: { _, _ in })
        shipper.start()
        defer { _ = shipper.stop(timeout: .seconds(10)) }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try server.query("SELECT count(*) FROM lightscope.events WHERE host_id = '\(hostID)'") == String(records.count),
               try server.query("SELECT count(*) FROM lightscope.hosts WHERE host_id = '\(hostID)'") == "1" { return }
            usleep(100_000)
        }
        throw TestFailure("host \(name) did not ship its \(records.count) events within 30 s")
    }

    /// A heartbeat through the collector's own function, as this host's role, claiming `addresses`
    /// and the anonymisation key id `keyID` (empty: sources in the clear; nil: the heartbeat of a
    /// LightScope before the key id).
    func beat(addresses: [String], intervalSeconds: Int = 10, keyID: String? = "") throws {
        let list = addresses.map { "'\($0)'" }.joined(separator: ",")
        try server.psql(server.tlsURL(role: role) + "&password=" + password, """
            SELECT lightscope.host_heartbeat('\(hostID)', '\(name)', '\(LightScopeVersion.current)', 1, \(intervalSeconds), 60, 0,
                1000, 2, 0, NULL, 0, ARRAY[\(list)]::text[]\(keyID.map { ", '\($0)'" } ?? ""))
            """)
    }
}

/// An event as a host's store holds it: `secondsAgo` before now, from `source` to `port`.
func fleetEvent(_ source: String, port: UInt16, secondsAgo: UInt64 = 60, verdict: Verdict = .closed) -> EventRecord {
    EventRecord(timeNanos: WallClock.nowNanos() - secondsAgo * 1_000_000_000, interface: "eth0", proto: .tcp, source: source,
                sourcePort: 40000, destination: "192.0.2.1", destinationPort: port, verdict: verdict, packets: 1, ttl: 54)
}

/// The real `lightscope` binary, run with `arguments`: its exit status, stdout and stderr.
func runLightScope(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: DaemonProcess.binaryPath)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Both pipes at once, so a full stderr pipe never blocks the child.
    let errorData = Mutex<Data>(Data()), readerDone = DispatchSemaphore(value: 0)
    Thread {
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        errorData.withLock { $0 = data }
        readerDone.signal()
    }.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    readerDone.wait()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self),
            String(decoding: errorData.withLock { $0 }, as: UTF8.self))
}
