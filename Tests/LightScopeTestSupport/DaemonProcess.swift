import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The real `lightscope` binary, started as a child process (optionally inside a network
/// namespace), with its stderr in a file the test can read while it runs.
public final class DaemonProcess {
    public let process = Process()
    public let logFile: URL
    private var exited = false

    /// The built executable: beside the test bundle, or LIGHTSCOPE_BINARY.
    public static var binaryPath: String {
        if let explicit = ProcessInfo.processInfo.environment["LIGHTSCOPE_BINARY"] { return explicit }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if directory.lastPathComponent.hasSuffix(".xctest") || directory.path.contains(".xctest") {
            while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
        }
        return directory.appendingPathComponent("lightscope").path
    }

    public init(arguments: [String], namespace: String? = nil, environment: [String: String] = [:],
                asUser: String? = nil) throws {
        let binary = Self.binaryPath
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestFailure("lightscope binary not found at \(binary): build it with 'swift build' first")
        }
        logFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lightscope-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        var command = [binary] + arguments
        if let asUser { command = ["setpriv", "--reuid=\(asUser)", "--regid=\(asUser)", "--clear-groups", "--inh-caps=-all"] + command }
        if let namespace { command = ["ip", "netns", "exec", namespace] + command }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "LIGHTSCOPE_FAULT_INJECTION"] {
            env[key] = nil
        }
        env.merge(environment) { $1 }
        process.environment = env
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: logFile)
    }

    public var pid: Int32 { process.processIdentifier }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits until the log contains `text`; false on timeout.
    public func waitForLog(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return log.contains(text)
    }

    /// The exit status, or nil if it is still running after `timeout` seconds.
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { return nil }
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }
}
