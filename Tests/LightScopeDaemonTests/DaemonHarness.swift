import Foundation
import LightScopeTestSupport
import XCTest

/// Starts the real daemon the way systemd would: NOTIFY_SOCKET pointing at a real socket,
/// WATCHDOG_USEC set, a config file, inside a test namespace.
struct DaemonHarness {
    let daemon: DaemonProcess
    let listener: NotifyListener
    let configFile: URL
    /// A state directory of this test's own, never the system's /var/lib/lightscope.
    let stateDirectory: String
    /// Whether `cleanUp` removes the state directory (not when the test brought its own).
    private let ownsStateDirectory: Bool

    init(lab: NamespaceLab?, listenerKind: NotifyListener.Kind = .path, watchdogMicroseconds: Int? = 2_000_000,
         config: String = "[watchdog]\nstatus_interval = 200ms\n", arguments: [String]? = nil,
         faultInjection: Bool = false, asUser: String? = nil, stateDirectory explicitStateDirectory: String? = nil,
         environment extraEnvironment: [String: String] = [:]) throws {
        listener = try NotifyListener(kind: listenerKind)
        configFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lightscope-\(UUID().uuidString).conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        chmod(configFile.path, 0o644)
        ownsStateDirectory = explicitStateDirectory == nil
        stateDirectory = explicitStateDirectory ?? NSTemporaryDirectory() + "lightscope-state-\(UUID().uuidString)"
        if ownsStateDirectory {
            // The daemon refuses a directory that others could write: it belongs to whoever runs it.
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            chmod(stateDirectory, 0o700)
            if let asUser, let entry = UInt32(asUser).flatMap(getpwuid) ?? getpwnam(asUser) {
                chown(stateDirectory, entry.pointee.pw_uid, entry.pointee.pw_gid)
            }
        }
        var environment = ["NOTIFY_SOCKET": listener.address]
        if let watchdogMicroseconds { environment["WATCHDOG_USEC"] = String(watchdogMicroseconds) }
        if faultInjection { environment["LIGHTSCOPE_FAULT_INJECTION"] = "1" }
        environment.merge(extraEnvironment) { _, extra in extra }
        let interfaceArguments = lab.map { ["--interface", $0.hostInterface] } ?? []
        daemon = try DaemonProcess(arguments: ["run", "--config", configFile.path, "--log-level", "debug", "--state-dir", stateDirectory] + (arguments ?? interfaceArguments),
                                   namespace: lab?.host, environment: environment, asUser: asUser)
    }

    /// Reads notifications until READY=1; fails the test if none comes.
    @discardableResult
    func waitForReady(file: StaticString = #filePath, line: UInt = #line) -> [NotifyMessage] {
        let (messages, ready) = listener.wait(timeout: 10) { $0.has("READY", "1") }
        XCTAssertNotNil(ready, "no READY=1; got \(messages); log:\n\(daemon.log)", file: file, line: line)
        return messages
    }

    func rewriteConfig(_ text: String) throws {
        try text.write(to: configFile, atomically: true, encoding: .utf8)
        chmod(configFile.path, 0o644)
    }

    func cleanUp() {
        if daemon.isRunning {
            daemon.signal(SIGKILL)
            _ = daemon.waitForExit(timeout: 5)
        }
        try? FileManager.default.removeItem(at: configFile)
        if ownsStateDirectory { try? FileManager.default.removeItem(atPath: stateDirectory) }
    }
}
