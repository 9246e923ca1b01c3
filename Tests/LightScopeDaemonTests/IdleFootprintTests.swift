import Foundation
import LightScopeTestSupport
import XCTest

/// What an idle daemon keeps in memory (README "Benchmarks": under 30 MB with one packet loop).
final class IdleFootprintTests: XCTestCase {
    /// The files mapped into a running process, from /proc/PID/maps.
    private func mappedFiles(_ pid: Int32) throws -> Set<String> {
        // Through cat: Foundation reads a /proc file of size 0 with one read(2), a page of it.
        let maps = try shell(["cat", "/proc/\(pid)/maps"]).output
        // A file's line ends in its path, the only field with a slash.
        return Set(maps.split(separator: "\n").compactMap { line in line.firstIndex(of: "/").map { String(line[$0...]) } })
    }

    /// libpq and the ~20 libraries it pulls in (OpenSSL, GnuTLS, Kerberos, LDAP...) cost ~5 MiB
    /// of resident memory: only the fleet shipper needs them, so a daemon that ships nothing
    /// never maps them.
    func testADaemonWithoutAFleetNeverMapsLibpq() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        let files = try mappedFiles(harness.daemon.pid)
        XCTAssertFalse(files.isEmpty, "no mapped files read")
        let unneeded = files.filter { path in
            ["libpq.so", "libssl.so", "libgssapi_krb5.so", "libldap", "libgnutls.so"].contains { path.contains($0) }
        }
        XCTAssertEqual(unneeded, [], "an idle daemon without [fleet] maps \(unneeded.sorted())")
    }
}

/// The binary links FoundationEssentials, never the whole of Foundation: one call into it (a
/// `String.contains` that resolved to Foundation's) brought swift-corelibs-foundation,
/// CoreFoundation and ICU's 34 MiB of data into the static build, ~3 MiB of idle RSS.
final class FoundationLinkTests: XCTestCase {
    func testTheBinaryCallsNothingOfFoundationItself() throws {
        // The test build links dynamically, so each symbol it takes from a library is undefined
        // in the binary; Foundation's own are mangled with its module name, "10Foundation".
        let undefined = try shell(["nm", "-u", DaemonProcess.binaryPath]).output
        XCTAssertFalse(undefined.isEmpty, "nm listed nothing")
        let fromFoundation = undefined.split(separator: "\n").filter { $0.contains("10Foundation") }
        XCTAssertEqual(fromFoundation, [], "lightscope uses Foundation (not FoundationEssentials) for \(fromFoundation)")
    }
}
