import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeTestSupport
import XCTest

/// Two real daemons, each in its own network namespace, ship to one PostgreSQL 15 (through its
/// Unix socket, which every namespace reaches). One scanner probes each host on a few ports:
/// under each host's portscan threshold, and found by `fleet scanners --min-hosts 2`. Then one
/// daemon stops, and `fleet status` calls it silent once three heartbeat intervals have passed.
final class FleetViewDaemonTests: XCTestCase {
    var labs: [NamespaceLab] = []
    var server: PostgresServer!
    var hosts: [FleetTestHost] = []
    var daemons: [DaemonProcess] = []
    var readerURL = ""

    override func setUpWithError() throws {
        server = try PostgresServer()
        let admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
        let reader = try FleetCollector.addReader(admin, name: "ops", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        readerURL = server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
        for (name, id) in [("web1", "11111111-1111-4111-8111-111111111111"), ("web2", "22222222-2222-4222-8222-222222222222")] {
            labs.append(try NamespaceLab())
            hosts.append(try FleetTestHost(server: server, admin: admin, name: name, hostID: HostID(id)!))
        }
    }

    override func tearDown() {
        for daemon in daemons where daemon.isRunning {
            daemon.signal(SIGKILL)
            _ = daemon.waitForExit(timeout: 10)
        }
        // Released here, not when XCTest lets the test case go (at the end of the run): each
        // daemon's log file goes with it.
        daemons = []
        labs.forEach { $0.destroy() }
        hosts = []
        server?.destroy()
    }

    /// The daemon of `hosts[index]` in the host namespace of `labs[index]`, with a heartbeat every second.
    private func startDaemon(_ index: Int) throws {
        let host = hosts[index], lab = labs[index]
        let passwordFile = host.stateDirectory + "/fleet-password"
        try host.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        let config = host.stateDirectory + "/lightscope.conf"
        try """
            [fleet]
            url = host=\(server.directory) port=\(server.port) user=\(host.role) dbname=lightscope
            password_file = \(passwordFile)
            host_name = \(host.name)
            interval = 1s
            connect_timeout = 3s
            retry_max_interval = 2s
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let listener = try NotifyListener(kind: .path)
        let daemon = try DaemonProcess(arguments: ["run", "--config", config, "--state-dir", host.stateDirectory, "--interface", lab.hostInterface],
                                       namespace: lab.host,
                                       environment: ["NOTIFY_SOCKET": listener.address, HostID.overrideVariable: host.hostID.description])
        daemons.append(daemon)
        XCTAssertNotNil(listener.wait(timeout: 10) { $0.has("READY", "1") }.match, daemon.log)
    }

    private func objects(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    private func waitFor(_ sql: String, toBe expected: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? server.query(sql)) == expected { return true }
            usleep(200_000)
        }
        return false
    }

    func testAScannerUnderBothHostsThresholdsIsFoundAndAStoppedHostGoesSilent() throws {
        try startDaemon(0)
        try startDaemon(1)
        // Five closed ports on each host: a third of the portscan threshold (15 ports) on either.
        try labs[0].probeHostTCP(ports: Array(1001...1005))
        try labs[1].probeHostTCP(ports: Array(1006...1010))
        let scanner = labs[0].peerIPv4
        XCTAssertTrue(waitFor("SELECT count(DISTINCT (host_id, dport)) FROM lightscope.events WHERE src = '\(scanner)'", toBe: "10", timeout: 30),
                      "collector: \((try? server.query("SELECT host_id, dport, verdict FROM lightscope.events")) ?? "")\n\(daemons.map(\.log))")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.events WHERE verdict IN ('portscan', 'addrscan')"), "0",
                       "neither host alone saw a scan")

        let found = try runLightScope(["fleet", "scanners", "--min-hosts", "2", "--json", "--url", readerURL])
        XCTAssertEqual(found.status, 0, found.errors)
        let scanners = try objects(found.output)
        XCTAssertEqual(scanners.count, 1, found.output)
        XCTAssertEqual(scanners.first?["src"] as? String, scanner)
        XCTAssertEqual(scanners.first?["hosts"] as? Int, 2)
        XCTAssertEqual(scanners.first?["dports"] as? [Int], Array(1001...1010))

        XCTAssertTrue(waitFor("SELECT count(*) FROM lightscope.hosts", toBe: "2", timeout: 10))
        let beating = try runLightScope(["fleet", "status", "--url", readerURL])
        XCTAssertEqual(beating.status, 0, beating.output + beating.errors)

        daemons[1].signal(SIGTERM)
        XCTAssertEqual(daemons[1].waitForExit(timeout: 10), 0, daemons[1].log)
        XCTAssertTrue(waitFor("SELECT string_agg(name, ',' ORDER BY name) FROM lightscope.host_health WHERE silent", toBe: "web2", timeout: 10))
        let silent = try runLightScope(["fleet", "status", "--url", readerURL])
        XCTAssertEqual(silent.status, FleetSilentExitCode, silent.output + silent.errors)
        XCTAssertTrue(silent.errors.contains("1 of 2 hosts silent: web2"), silent.errors)
    }
}
