import Foundation
import LightScopeCore
import LightScopeSystem
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import Synchronization
import XCTest

/// A collector with the schema applied and one host role, plus a local store of events.
final class FleetFixture {
    let server: PostgresServer
    let role: String
    let password: String
    let hostID = HostID("6c1f3a52-9e44-4b0d-8a57-2cd17e903b64")!
    let stateDirectory: String
    let lines = LogLines()

    init(server: PostgresServer? = nil) throws {
        self.server = try server ?? PostgresServer()
        let admin = try FleetCollector.connect(url: self.server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 2, retentionDays: 30)
        let credentials = try FleetCollector.addHost(admin, name: "web1", hostID: nil, authentication: .scram,
                                                     collector: nil, adminURL: self.server.tlsURL(role: "postgres"))
        role = credentials.role
        password = credentials.password!
        stateDirectory = NSTemporaryDirectory() + "lightscope-fleet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    var databasePath: String { stateDirectory + "/" + EventStore.fileName }

    func settings(password: String? = nil) -> Settings.Fleet {
        var settings = Settings.Fleet()
        settings.url = server.tlsURL(role: role)
        settings.batchEvents = 1000
        settings.interval = .seconds(1)
        settings.connectTimeout = .seconds(5)
        settings.retryMaxInterval = .seconds(1)
        return settings
    }

    func shipper(password: String? = nil, settings: Settings.Fleet? = nil, lost: LostEvents = LostEvents()) throws -> FleetShipper {
        let settings = settings ?? self.settings()
        let configuration = FleetShipper.Configuration(
            settings: settings, parameters: try ConnectionParameters(url: settings.url!), password: password ?? self.password,
            hostID: hostID, hostName: "web1", databasePath: databasePath, anonymiser: .disabled, killAfterCommits: nil)
        return FleetShipper(configuration: configuration, lost: lost, wakeInterval: .milliseconds(250), log: lines.log)
    }

    /// Appends `count` events to the local store; returns their ids.
    @discardableResult
    func store(_ count: Int, from first: Int = 0) throws -> [Int64] {
        let store = try EventStore(path: databasePath)
        let before = try store.events(after: 0, limit: .max).last?.id ?? 0
        try store.insert((first..<first + count).map(FleetSample.record))
        return try store.events(after: before, limit: .max).map(\.id)
    }

    func localIDs() throws -> Set<Int64> {
        Set(try EventStore(path: databasePath).events(after: 0, limit: .max).map(\.id))
    }

    func collectorIDs() throws -> Set<Int64> {
        let text = try server.query("SELECT event_id FROM lightscope.events WHERE host_id = '\(hostID)'")
        return Set(text.split(separator: "\n").compactMap { Int64($0) })
    }

    func collectorCount() -> Int {
        Int((try? server.query("SELECT count(*) FROM lightscope.events")) ?? "") ?? -1
    }

    func waitForCollector(count: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if collectorCount() == count { return true }
            usleep(100_000)
        }
        return collectorCount() == count
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: stateDirectory)
        server.destroy()
    }
}

enum FleetSample {
    static let baseNanos: UInt64 = WallClock.nowNanos() - 3_600_000_000_000

    static func record(_ index: Int) -> EventRecord {
        let verdict = [Verdict.closed, .unanswered, .portscan, .addrscan][index % 4]
        return EventRecord(timeNanos: baseNanos + UInt64(index) * 1_000_000, interface: "eth0", proto: index % 5 == 0 ? .udp : .tcp,
                           source: "203.0.113.\(index % 200)", sourcePort: verdict == .portscan ? nil : 40000 + UInt16(index % 1000),
                           destination: verdict == .addrscan ? nil : "192.0.2.1", destinationPort: verdict == .portscan ? nil : 22,
                           verdict: verdict, packets: UInt32(1 + index % 7), ttl: 54, tcpWindow: 64240, tcpOptions: "M1460,S,T,N,W7",
                           ports: verdict == .portscan ? 40 : nil, addresses: verdict == .addrscan ? 12 : nil,
                           tool: ScanTool.allCases[index % ScanTool.allCases.count], tcpFlags: flags(index))
    }

    /// A SYN, FIN, NULL (empty) or Xmas probe's flags for TCP, none for UDP.
    static func flags(_ index: Int) -> String? {
        index % 5 == 0 ? nil : ["S", "F", "", "FPU"][(index / 4) % 4]
    }
}

/// What the shipper logs, for counting its lines.
final class LogLines: Sendable {
    private let lines = Mutex<[(level: LogLevel, message: String)]>([])

    var log: FleetShipper.LogFunction { { level, message in self.lines.withLock { $0.append((level, message)) } } }

    func messages(_ level: LogLevel? = nil) -> [String] {
        lines.withLock { $0.filter { level == nil || $0.level == level }.map(\.message) }
    }
}
