import Glibc
import LightScopeCore
@testable import LightScopeStore
import LightScopeTestSupport
import XCTest

final class AnonymisationTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    let keyA = [UInt8](repeating: 1, count: 32)
    let keyB = [UInt8](repeating: 2, count: 32)

    func testPseudonymsAreStablePerKeyAndDifferAcrossKeys() {
        let address = IPAddress("192.0.2.1")!
        let first = AddressAnonymiser(mode: .destination, key: keyA)
        let again = AddressAnonymiser(mode: .destination, key: keyA)
        let other = AddressAnonymiser(mode: .destination, key: keyB)
        XCTAssertEqual(first.pseudonym(for: address), again.pseudonym(for: address))
        XCTAssertNotEqual(first.pseudonym(for: address), other.pseudonym(for: address))
        XCTAssertNotEqual(first.pseudonym(for: address), first.pseudonym(for: IPAddress("192.0.2.2")!))
    }

    func testPseudonymFormatKeepsTheFamily() throws {
        let anonymiser = AddressAnonymiser(mode: .destination, key: keyA)
        let v4 = anonymiser.pseudonym(for: IPAddress("192.0.2.1")!)
        let v6 = anonymiser.pseudonym(for: IPAddress("2001:db8::1")!)
        XCTAssertTrue(v4.hasPrefix("anon4-"), v4)
        XCTAssertTrue(v6.hasPrefix("anon6-"), v6)
        for pseudonym in [v4, v6] {
            XCTAssertEqual(pseudonym.count, 22)
            XCTAssertTrue(pseudonym.dropFirst(6).allSatisfy { "0123456789abcdef".contains($0) }, pseudonym)
        }
        // HMAC-SHA256(key = 32 x 0x01, message = c0 00 02 01), first 8 bytes; computed independently
        // with Python's hmac module, so the format cannot drift unnoticed.
        XCTAssertEqual(v4, "anon4-" + Self.referenceHMAC)
    }

    // python3 -c 'import hmac,hashlib;print(hmac.new(bytes([1]*32),bytes([192,0,2,1]),hashlib.sha256).hexdigest()[:16])'
    static let referenceHMAC = "6cf5eedfd3530cb1"

    func testModesChooseWhichAddressesArePseudonymised() {
        let event = Sample.event(1)
        let plain = AddressAnonymiser.disabled.record(for: event)
        XCTAssertEqual(plain, EventRecord(event))
        let destinationOnly = AddressAnonymiser(mode: .destination, key: keyA).record(for: event)
        XCTAssertEqual(destinationOnly.source, event.source.description)
        XCTAssertTrue(destinationOnly.destination!.hasPrefix("anon4-"))
        let both = AddressAnonymiser(mode: .sourceAndDestination, key: keyA).record(for: event)
        XCTAssertTrue(both.source.hasPrefix("anon4-"))
        XCTAssertEqual(both.destination, destinationOnly.destination)
    }

    func testKeyIsCreatedOwnerOnlyAndReused() throws {
        let first = try AnonymisationKey.loadOrCreate(directory: directory.path)
        XCTAssertEqual(first.count, 32)
        XCTAssertNotEqual(first, [UInt8](repeating: 0, count: 32))
        var status = stat()
        XCTAssertEqual(stat(directory.file("anonymisation.key"), &status), 0)
        XCTAssertEqual(status.st_mode & 0o777, 0o600)
        XCTAssertEqual(status.st_size, 32)
        XCTAssertEqual(try AnonymisationKey.loadOrCreate(directory: directory.path), first)
        XCTAssertEqual(try directoryEntries(), ["anonymisation.key"], "no temporary file left behind")
    }

    func testNoKeyFileWithoutAnonymisation() throws {
        _ = try AddressAnonymiser.load(mode: .off, stateDirectory: directory.path)
        XCTAssertEqual(try directoryEntries(), [])
        _ = try AddressAnonymiser.load(mode: .destination, stateDirectory: directory.path)
        XCTAssertEqual(try directoryEntries(), ["anonymisation.key"])
    }

    func testKeyReadableByOthersIsRejectedWithTheFix() throws {
        _ = try AnonymisationKey.loadOrCreate(directory: directory.path)
        chmod(directory.file("anonymisation.key"), 0o644)
        XCTAssertThrowsError(try AnonymisationKey.loadOrCreate(directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600 \(self.directory.file("anonymisation.key"))"), "\(error)")
        }
    }

    func testKeyOfWrongSizeIsRejectedNotReplaced() throws {
        let path = directory.file("anonymisation.key")
        let descriptor = open(path, O_WRONLY | O_CREAT, 0o600)
        XCTAssertEqual(write(descriptor, "short", 5), 5)
        close(descriptor)
        XCTAssertThrowsError(try AnonymisationKey.loadOrCreate(directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("is 5 bytes, not 32"), "\(error)")
        }
        var status = stat()
        stat(path, &status)
        XCTAssertEqual(status.st_size, 5, "a bad key must never be overwritten silently")
    }

    func testUnwritableDirectoryNamesTheFix() {
        XCTAssertThrowsError(try AnonymisationKey.loadOrCreate(directory: directory.file("missing"))) { error in
            XCTAssertTrue("\(error)".contains("cannot create it"), "\(error)")
        }
    }

    /// The fleet's key, named by `[store] anonymisation_key`: read, never created or replaced.
    func testAConfiguredKeyIsReadFromItsFileOrCredential() throws {
        let path = directory.file("fleet-anonymisation.key")
        let descriptor = open(path, O_WRONLY | O_CREAT, 0o600)
        XCTAssertEqual(write(descriptor, keyA, keyA.count), keyA.count)
        close(descriptor)
        let fromFile = try AddressAnonymiser.load(mode: .sourceAndDestination, stateDirectory: directory.path, keyFile: path)
        XCTAssertEqual(fromFile, AddressAnonymiser(mode: .sourceAndDestination, key: keyA))
        let fromCredential = try AddressAnonymiser.load(mode: .sourceAndDestination, stateDirectory: directory.path,
                                                        keyFile: "fleet-anonymisation.key",
                                                        environment: ["CREDENTIALS_DIRECTORY": directory.path])
        XCTAssertEqual(fromCredential, fromFile)
        XCTAssertEqual(try directoryEntries(), ["fleet-anonymisation.key"], "no key generated beside it")

        XCTAssertThrowsError(try AddressAnonymiser.load(mode: .sourceAndDestination, stateDirectory: directory.path, keyFile: "anonymisation-key")) { error in
            XCTAssertTrue("\(error)".contains("LoadCredential=anonymisation-key:"), "\(error)")
        }
        XCTAssertThrowsError(try AddressAnonymiser.load(mode: .sourceAndDestination, stateDirectory: directory.path, keyFile: directory.file("gone"))) { error in
            XCTAssertTrue("\(error)".contains("install the fleet's key there with mode 0600"), "\(error)")
        }
        XCTAssertEqual(try directoryEntries(), ["fleet-anonymisation.key"], "a missing fleet key is never generated")
        chmod(path, 0o640)
        XCTAssertThrowsError(try AddressAnonymiser.load(mode: .sourceAndDestination, stateDirectory: directory.path, keyFile: path)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600 \(path)"), "\(error)")
        }
    }

    /// Names the key of the sources' pseudonyms, without being the key or a pseudonym.
    func testTheSourceKeyIdentifierNamesTheKeyWithoutRevealingIt() {
        let a = AddressAnonymiser(mode: .sourceAndDestination, key: keyA)
        XCTAssertEqual(a.sourceKeyIdentifier, AddressAnonymiser(mode: .sourceAndDestination, key: keyA).sourceKeyIdentifier)
        XCTAssertNotEqual(a.sourceKeyIdentifier, AddressAnonymiser(mode: .sourceAndDestination, key: keyB).sourceKeyIdentifier)
        XCTAssertEqual(a.sourceKeyIdentifier.count, 16)
        XCTAssertTrue(a.sourceKeyIdentifier.allSatisfy { "0123456789abcdef".contains($0) })
        XCTAssertFalse(a.pseudonym(for: IPAddress("192.0.2.1")!).hasSuffix(a.sourceKeyIdentifier))
        // python3 -c 'import hmac,hashlib;print(hmac.new(bytes([1]*32),b"LightScope anonymisation key identifier",hashlib.sha256).hexdigest()[:16])'
        XCTAssertEqual(a.sourceKeyIdentifier, Self.referenceKeyIdentifier)
        XCTAssertEqual(AddressAnonymiser(mode: .destination, key: keyA).sourceKeyIdentifier, "", "sources in the clear")
        XCTAssertEqual(AddressAnonymiser.disabled.sourceKeyIdentifier, "")
    }

    static let referenceKeyIdentifier = "365cdbd1fd9e6d3d"

    private func directoryEntries() throws -> [String] {
        guard let handle = opendir(directory.path) else { throw TestFailure("opendir failed") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
