import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// `lightscope fleet add-host NAME --auth cert` against a real PostgreSQL 15: what the command
/// prints, used as printed (only the certificate files moved to the test's directory), lets the
/// shipper deliver with a client certificate of the test CA and no password; row-level security
/// holds for the role; another role's certificate, a key others can read or a missing certificate
/// gives one clear line.
final class FleetCertificateTests: XCTestCase {
    var fixture: FleetFixture!

    override func setUpWithError() throws { fixture = try FleetFixture() }
    override func tearDown() { fixture?.cleanUp() }

    func testACertificateRoleShipsWithoutAPasswordAsPrinted() throws {
        let host = try addCertificateHost("web2")
        XCTAssertEqual(host.role, "lightscope_host_web2")
        XCTAssertEqual(host.url, "postgresql://lightscope_host_web2@127.0.0.1:\(fixture.server.port)/lightscope?sslmode=verify-full"
                       + "&sslrootcert=/etc/lightscope/fleet-ca.crt&sslcert=/etc/lightscope/fleet-client.crt&sslkey=/etc/lightscope/fleet-client.key")
        XCTAssertEqual(host.hbaLine, "hostssl lightscope lightscope_host_web2 ADDRESS cert")
        for words in ["CN is lightscope_host_web2", "/etc/lightscope/fleet-client.key (owner root, group", "mode 0640", "ssl_ca_file",
                      "above any line for +lightscope_host", "[store] anonymisation_key"] {
            XCTAssertTrue(host.output.contains(words), "add-host says \(words): \(host.output)")
        }
        XCTAssertEqual(try fixture.server.query("SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = '\(host.role)'"), "t")
        let files = try fixture.server.issueClientCertificate(commonName: host.role, name: "web2")
        chmod(files.key, 0o640)
        let url = localURL(host.url, files)
        let line = host.hbaLine.replacingOccurrences(of: "ADDRESS", with: "127.0.0.1/32")

        // Below the password lines, as the old instructions allowed, the role is asked for a password.
        try fixture.server.addHBALine(line, first: false)
        let below = try fixture.server.psql(url, "SELECT 1", allowFailure: true)
        XCTAssertTrue(below.output.contains("no password supplied"), below.output)
        try fixture.server.addHBALine(line, first: true)

        try fixture.store(1200)
        let shipper = try certificateShipper(url: url)
        shipper.start()
        defer { XCTAssertTrue(shipper.stop(timeout: .seconds(10))) }
        XCTAssertTrue(fixture.waitForCollector(count: 1200, timeout: 30), "collector has \(fixture.collectorCount()); \(fixture.lines.messages())")
        XCTAssertEqual(try fixture.collectorIDs(), try fixture.localIDs())
        let session = try fixture.server.query("""
            SELECT DISTINCT s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = '\(host.role)'
            """)
        XCTAssertEqual(session, "t|/CN=\(host.role)", "the shipper logs in with its certificate over TLS")
        XCTAssertEqual(try fixture.server.query("SELECT role_name FROM lightscope.hosts WHERE host_id = '\(fixture.hostID)'"), host.role)

        let other = try fixture.server.psql(url, """
            INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, verdict, packets)
            VALUES ('0f0f0f0f-0000-4000-8000-000000000001', 1, 1, now(), 'eth0', 'tcp', '203.0.113.7', 'closed', 1)
            """, allowFailure: true)
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.output.contains("violates row-level security policy"), other.output)
        XCTAssertEqual(try fixture.server.query("SELECT count(*) FROM lightscope.events WHERE host_id <> '\(fixture.hostID)'"), "0")
    }

    func testACertificateOfAnotherRoleIsRefusedWithOneClearLine() throws {
        let host = try addCertificateHost("web2")
        try fixture.server.addHBALine(host.hbaLine.replacingOccurrences(of: "ADDRESS", with: "127.0.0.1/32"), first: true)
        let files = try fixture.server.issueClientCertificate(commonName: fixture.role, name: "web1")
        try assertRefusedOnce(url: localURL(host.url, files), saying: "certificate authentication failed for user \"\(host.role)\"")
    }

    func testAKeyOthersCanReadIsRefusedWithOneClearLine() throws {
        let host = try addCertificateHost("web2")
        try fixture.server.addHBALine(host.hbaLine.replacingOccurrences(of: "ADDRESS", with: "127.0.0.1/32"), first: true)
        let files = try fixture.server.issueClientCertificate(commonName: host.role, name: "web2")
        chmod(files.key, 0o644)
        try assertRefusedOnce(url: localURL(host.url, files), saying: "has group or world access")
    }

    /// libpq skips an sslcert file that is not there, so the server is the one to refuse.
    func testAMissingCertificateIsRefusedWithOneClearLine() throws {
        let host = try addCertificateHost("web2")
        try fixture.server.addHBALine(host.hbaLine.replacingOccurrences(of: "ADDRESS", with: "127.0.0.1/32"), first: true)
        let missing = (certificate: fixture.stateDirectory + "/none.crt", key: fixture.stateDirectory + "/none.key")
        try assertRefusedOnce(url: localURL(host.url, missing), saying: "connection requires a valid client certificate")
    }

    /// Runs the real `lightscope fleet add-host NAME --auth cert`, as docs/fleet.md shows it.
    private func addCertificateHost(_ name: String) throws -> (role: String, url: String, hbaLine: String, output: String) {
        let output = try shell([DaemonProcess.binaryPath, "fleet", "add-host", name, "--auth", "cert", "--host-id", fixture.hostID.description,
                                "--collector", "127.0.0.1:\(fixture.server.port)", "--url", fixture.server.adminURL()]).output
        let lines = output.split(separator: "\n").map(String.init)
        func field(_ name: String) throws -> String {
            try XCTUnwrap(lines.first { $0.hasPrefix(name + ":") }, output).dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return (try field("role"), try field("url"), try XCTUnwrap(lines.first { $0.hasPrefix("hostssl ") }, output), output)
    }

    /// The printed URL with the test CA and the issued files where the host would have /etc/lightscope's.
    private func localURL(_ url: String, _ files: (certificate: String, key: String)) -> String {
        url.replacingOccurrences(of: HostURL.caFile, with: fixture.server.caCertificatePath)
            .replacingOccurrences(of: HostURL.clientCertificate, with: files.certificate)
            .replacingOccurrences(of: HostURL.clientKey, with: files.key)
    }

    private func certificateShipper(url: String) throws -> FleetShipper {
        var settings = fixture.settings()
        settings.url = url
        let configuration = FleetShipper.Configuration(
            settings: settings, parameters: try ConnectionParameters(url: url), password: nil, hostID: fixture.hostID,
            hostName: "web2", databasePath: fixture.databasePath, anonymiser: .disabled, killAfterCommits: nil)
        return FleetShipper(configuration: configuration, lost: LostEvents(), wakeInterval: .milliseconds(250), log: fixture.lines.log)
    }

    private func assertRefusedOnce(url: String, saying words: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try fixture.store(300)
        let shipper = try certificateShipper(url: url)
        shipper.start()
        sleep(4)
        XCTAssertTrue(shipper.stop(timeout: .seconds(10)), file: file, line: line)
        let refusals = fixture.lines.messages(.error).filter { $0.contains(words) }
        XCTAssertEqual(refusals.count, 1, "\(fixture.lines.messages())", file: file, line: line)
        XCTAssertTrue(refusals.first?.contains("fix the client certificate or key in [fleet] url") == true, "\(refusals)", file: file, line: line)
        XCTAssertEqual(fixture.lines.messages(.warning), [], "not taken for an unreachable collector", file: file, line: line)
        XCTAssertTrue(shipper.snapshot.problem?.contains("refused by the collector") == true, file: file, line: line)
        XCTAssertEqual(fixture.collectorCount(), 0, file: file, line: line)
        XCTAssertEqual(try fixture.localIDs().count, 300, "the events stay in the local store", file: file, line: line)
    }
}
