import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The real `lightscope` binary run with arguments, and what it printed.
struct CLIResult {
    var status: Int32
    var output: String
    var errors: String
    var lines: [String] { output.split(separator: "\n").map(String.init) }
}

/// `asUser`: run as that uid (and its gid) without supplementary groups or capabilities, as
/// an admin who is not root would.
func lightscope(_ arguments: [String], asUser: String? = nil) throws -> CLIResult {
    let process = Process()
    if let asUser {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(asUser)", "--regid=\(asUser)", "--clear-groups", "--inh-caps=-all", DaemonProcess.binaryPath] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: DaemonProcess.binaryPath)
        process.arguments = arguments
    }
    var environment = ProcessInfo.processInfo.environment
    environment["STATE_DIRECTORY"] = nil
    process.environment = environment
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Read both pipes at once, so a full stderr pipe never blocks the child.
    // The semaphore orders the reader thread's write before the read below (polling
    // Thread.isFinished is no synchronisation, and ThreadSanitizer rightly reported it).
    let errorBox = ErrorDataBox(), readerDone = DispatchSemaphore(value: 0)
    let reader = Thread {
        errorBox.data = errors.fileHandleForReading.readDataToEndOfFile()
        readerDone.signal()
    }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    readerDone.wait()
    return CLIResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                     errors: String(decoding: errorBox.data, as: UTF8.self))
}

private final class ErrorDataBox: @unchecked Sendable {
    var data = Data()
}

/// A temporary state directory with an event store the test fills through `EventStore`.
final class FilledStateDirectory {
    let path: String
    /// Whole microseconds, the precision of the JSON lines.
    let nowNanos = UInt64(Date().timeIntervalSince1970 * 1e6) * 1000

    init() throws {
        var template = Array("/tmp/lightscope-cli-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: errno \(errno)") }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func insert(_ records: [EventRecord]) throws {
        try EventStore(directory: path).insert(records)
    }

    /// An event `secondsAgo` before now from `source` to port `port`.
    func event(_ source: String, secondsAgo: UInt64, port: UInt16? = 23, verdict: Verdict = .closed,
               proto: TransportProtocol = .tcp, packets: UInt32 = 1) -> EventRecord {
        EventRecord(timeNanos: nowNanos - secondsAgo * 1_000_000_000, interface: "eth0", proto: proto, source: source,
                    sourcePort: verdict == .portscan ? nil : 40000, destination: "192.0.2.1",
                    destinationPort: verdict == .portscan ? nil : port, verdict: verdict, packets: packets, ttl: 54,
                    ports: verdict == .portscan ? 40 : nil)
    }
}
