import Foundation
import LightScopeCore
@testable import LightScopeFleet
import XCTest

/// The shipper's pure parts: back-off, array literals, host ids, URLs, the password file, doctor.
final class FleetPartsTests: XCTestCase {
    func testBackoffDoublesWithJitterUpToTheMaximumAndStartsOverAfterReset() {
        var backoff = FleetBackoff(maximum: .seconds(10))
        var generator = SystemRandomNumberGenerator()
        var ceilings: [UInt64] = []
        for _ in 0..<8 {
            let ceiling = backoff.ceilingNanos
            ceilings.append(ceiling / 1_000_000_000)
            let delay = backoff.nextDelayNanos(using: &generator)
            XCTAssertTrue((ceiling / 2...ceiling).contains(delay), "\(delay) outside the upper half of \(ceiling)")
        }
        XCTAssertEqual(ceilings, [1, 2, 4, 8, 10, 10, 10, 10])
        backoff.reset()
        XCTAssertEqual(backoff.ceilingNanos, 1_000_000_000)
        // Jitter spreads hosts that failed together.
        let spread = Set((0..<50).map { _ in
            var host = FleetBackoff(maximum: .seconds(300)).withFailures(6)
            return host.nextDelayNanos(using: &generator) / 1_000_000
        })
        XCTAssertGreaterThan(spread.count, 40)
    }

    func testArrayLiteralsQuoteTextAndSpellNull() {
        var text = ArrayLiteral(capacity: 0)
        text.append(text: "plain")
        text.append(text: nil)
        text.append(text: "a \"quoted\" \\ back,slash {}")
        XCTAssertEqual(text.text, #"{"plain",NULL,"a \"quoted\" \\ back,slash {}"}"#)
        var numbers = ArrayLiteral(capacity: 0)
        numbers.append(integer: -5)
        numbers.append(integer: nil)
        XCTAssertEqual(numbers.text, "{-5,NULL}")
        XCTAssertEqual(ArrayLiteral(capacity: 0).text, "{}")
    }

    func testHostIdReadsBothFormsAndPrintsTheUUIDForm() throws {
        let id = try XCTUnwrap(HostID("6C1F3A529E444B0D8A572CD17E903B64"))
        XCTAssertEqual(id.description, "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64")
        XCTAssertEqual(HostID(id.description), id)
        XCTAssertNil(HostID("6c1f3a52"))
        XCTAssertNil(HostID("00000000-0000-0000-0000-000000000000"))
        XCTAssertThrowsError(try HostID.current(environment: [HostID.overrideVariable: "nope"]))
        XCTAssertEqual(try HostID.current(environment: [HostID.overrideVariable: id.description]), id)
    }

    func testDerivedHostIdIsStableAndNotTheMachineId() throws {
        guard FileManager.default.fileExists(atPath: "/etc/machine-id") else { throw XCTSkip("no /etc/machine-id on this machine") }
        let first = try HostID.current(environment: [:])
        XCTAssertEqual(try HostID.current(environment: [:]), first)
        let machine = try String(contentsOfFile: "/etc/machine-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(first.bytes.map { String(format: "%02x", $0) }.joined(), machine)
    }

    func testOnlyHostNamesAreLookedUpOffTheLoop() throws {
        XCTAssertEqual(try ConnectionParameters(url: "postgresql://r@collector.example:5432/db").namesToResolve, ["collector.example"])
        XCTAssertEqual(try ConnectionParameters(url: "postgresql://r@192.0.2.7/db").namesToResolve, [])
        XCTAssertEqual(try ConnectionParameters(url: "postgresql://r@[2001:db8::7]/db").namesToResolve, [])
        XCTAssertEqual(try ConnectionParameters(url: "host=collector.example hostaddr=192.0.2.7 dbname=db").namesToResolve, [])
        XCTAssertEqual(try ConnectionParameters(url: "host=/var/run/postgresql dbname=db").namesToResolve, [])
        XCTAssertThrowsError(try ConnectionParameters(url: "postgresql://r@h/db?nonsense=1")) { error in
            XCTAssertTrue("\(error)".contains("[fleet] url is not a libpq connection URI"), "\(error)")
        }
        let keywords = try ConnectionParameters(url: "postgresql://r@collector.example/db?options=-c%20work_mem%3D8MB")
            .keywords(settings: Settings.Fleet(), password: "p", resolvedAddresses: ["192.0.2.7"], applicationName: "t")
        let values = Dictionary(keywords, uniquingKeysWith: { $1 })
        XCTAssertEqual(values["hostaddr"], "192.0.2.7")
        XCTAssertEqual(values["options"], "-c work_mem=8MB -c statement_timeout=30000")
        XCTAssertEqual(values["tcp_user_timeout"], "30000")
        XCTAssertEqual(values["password"], "p")
    }

    func testPasswordFileMustBePrivateAndCredentialsAreFoundByName() throws {
        let directory = NSTemporaryDirectory() + "lightscope-pw-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/fleet-password"
        try "s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        XCTAssertThrowsError(try FleetPassword.load(path, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("readable by others (mode 644): chmod 600"), "\(error)")
        }
        chmod(path, 0o600)
        XCTAssertEqual(try FleetPassword.load(path, environment: [:]), "s3cret")
        XCTAssertEqual(try FleetPassword.load(nil, environment: ["CREDENTIALS_DIRECTORY": directory]), "s3cret")
        XCTAssertEqual(try FleetPassword.load("fleet-password", environment: ["CREDENTIALS_DIRECTORY": directory]), "s3cret")
        XCTAssertNil(try FleetPassword.load(nil, environment: [:]))
        XCTAssertThrowsError(try FleetPassword.load("fleet-password", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("LoadCredential=fleet-password"), "\(error)")
        }
    }

    func testDoctorFailsWhenTheSandboxBlocksTheCollectorAndPassesWithTheDropIn() {
        var unit = SystemdUnitProperties(parsing: "LoadState=loaded\nIPAddressAllow=127.0.0.0/8 ::1/128\nIPAddressDeny=0.0.0.0/0 ::/0\n")
        let collector = [IPAddress("203.0.113.10")!]
        let blocked = Doctor.fleetSandbox(collector: "203.0.113.10:5432", addresses: .success(collector), unit: unit)
        XCTAssertFalse(blocked.passed)
        XCTAssertTrue(blocked.line.contains("-> fix: lightscope fleet dropin > /etc/systemd/system/lightscope.service.d/fleet.conf"), blocked.line)
        unit.values["IPAddressAllow"] = "127.0.0.0/8 ::1/128 203.0.113.10/32"
        XCTAssertTrue(Doctor.fleetSandbox(collector: "c", addresses: .success(collector), unit: unit).passed)
        XCTAssertTrue(Doctor.fleetSandbox(collector: "c", addresses: .success([IPAddress("127.0.0.1")!]),
                                          unit: SystemdUnitProperties(parsing: "LoadState=loaded\nIPAddressAllow=127.0.0.0/8\nIPAddressDeny=0.0.0.0/0\n")).passed)
        XCTAssertFalse(Doctor.fleetSandbox(collector: "c", addresses: .failure(.init(reason: "no such host")), unit: unit).passed)
    }

    /// The fleet's anonymisation key reaches the service as a credential, beside the password.
    func testTheDropInPassesTheAnonymisationKeyAsACredential() {
        let text = FleetDropIn.text(addresses: ["198.51.100.10"], collector: "c:5432", credential: "/etc/lightscope/fleet-password",
                                    anonymisationKey: "/etc/lightscope/fleet-anonymisation.key")
        XCTAssertTrue(text.contains("\nLoadCredential=fleet-password:/etc/lightscope/fleet-password\n"), text)
        XCTAssertTrue(text.contains("\nLoadCredential=anonymisation-key:/etc/lightscope/fleet-anonymisation.key\n"), text)
        XCTAssertFalse(FleetDropIn.text(addresses: [], collector: "c", credential: nil).contains("anonymisation"))
    }

    func testFleetConfigKeysParseAndRejectBadValues() throws {
        let settings = try ConfigFile.parse("[fleet]\nurl = postgresql://r@c/db\nbatch_events = 200\ninterval = 2s\npassword_file = fleet-password\n", source: "t")
        XCTAssertEqual(settings.fleet.url, "postgresql://r@c/db")
        XCTAssertEqual(settings.fleet.batchEvents, 200)
        XCTAssertEqual(settings.fleet.interval, .seconds(2))
        XCTAssertEqual(settings.fleet.passwordFile, "fleet-password")
        XCTAssertFalse(try ConfigFile.parse("", source: "t").fleet.isEnabled)
        XCTAssertThrowsError(try ConfigFile.parse("[fleet]\nbatch_events = 0\n", source: "t")) { error in
            XCTAssertTrue("\(error)".contains("line 2: batch_events"), "\(error)")
        }
        XCTAssertEqual(try ConfigFile.parse("[fleet]\nconnections = 1\n", source: "t").fleet.connections, 1)
        XCTAssertThrowsError(try ConfigFile.parse("[fleet]\nconnections = 9\n", source: "t")) { error in
            XCTAssertTrue("\(error)".contains("connections: '9' must be a whole number from 1 to 8"), "\(error)")
        }
    }
}

extension FleetBackoff {
    func withFailures(_ count: Int) -> FleetBackoff {
        var copy = self
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<count { _ = copy.nextDelayNanos(using: &generator) }
        return copy
    }
}
