import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import LightScopeStore
import LightScopeSystemd
import LightScopeTestSupport
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The real runner in this process, on a thread of its own, with fakes at its OS edges only
/// (`EdgeFakes`): no root, no binary, no network. Its state directory, config file and
/// status file are real files in a temporary directory; its store is real SQLite.
final class RunnerHarness: @unchecked Sendable {
    let log = EdgeLog()
    let notifier: RecordingNotifier
    let clock = SteppedClock()
    let signals: PipeSignals
    let interfaces: FakeInterfaces
    let directory: String
    let configPath: String
    private let runner: Runner
    private let exitStatus = Mutex<Int32?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    private let levelBefore = Log.level
    private let loopThreadsBefore = RunnerHarness.threadNames.filter { $0.hasPrefix("ls-") }

    /// The host's address on the fake interfaces (a documentation address, never routed).
    static let localAddress = "192.0.2.1"

    init(config: String, interfaces names: [String] = ["fake0"], commandLineInterfaces: [String] = [],
         watchdogTimeout: Duration? = .seconds(2), environment: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "lightscope-runner-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/lightscope.conf"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        notifier = RecordingNotifier(log: log, watchdogTimeout: watchdogTimeout)
        signals = PipeSignals(log: log)
        interfaces = FakeInterfaces(log: log, names: names, addresses: [Self.localAddress])
        let options = RunOptions(configPath: configPath, interfaces: commandLineInterfaces, logLevel: nil, faultInjectionEnabled: false,
                                 stateDirectory: directory + "/state")
        runner = Runner(options: options, environment: environment,
                        edges: RunnerEdges(notifier: notifier, clock: clock, signals: signals, interfaces: interfaces))
    }

    var stateDirectory: String { directory + "/state" }
    var statusPath: String { stateDirectory + "/run/" + RuntimeDirectory.statusFileName }

    func start() {
        Thread { [self] in
            let status = runner.run()
            exitStatus.withLock { $0 = status }
            finished.signal()
        }.start()
    }

    /// Starts the runner and waits for READY=1; fails the test if it does not come.
    func startAndWaitForReady(file: StaticString = #filePath, line: UInt = #line) {
        start()
        XCTAssertNotNil(log.wait(for: "notify READY=1"), "no READY=1: \(log.all)", file: file, line: line)
    }

    /// The runner's exit status, or nil if it is still running after `timeout` seconds.
    func waitForExit(timeout: Double = 30) -> Int32? {
        guard finished.wait(timeout: .now() + timeout) == .success else { return nil }
        finished.signal()
        return exitStatus.withLock { $0 }
    }

    /// Sends `signalNumber` and waits for the READY=1 that ends a reload (or whatever `until` names).
    @discardableResult
    func reload(until prefix: String = "notify READY=1") -> Int? {
        let from = log.all.count
        signals.send(SIGHUP)
        return log.wait(for: prefix, from: from)
    }

    func rewriteConfig(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var snapshot: DaemonSnapshot? {
        guard let data = FileManager.default.contents(atPath: statusPath) else { return nil }
        return try? StatusFile.decoder().decode(DaemonSnapshot.self, from: data)
    }

    /// Stops the runner if it still runs, and removes everything it wrote.
    func cleanUp() {
        if exitStatus.withLock({ $0 }) == nil {
            signals.send(SIGTERM)
            _ = waitForExit()
        }
        Log.level = levelBefore
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// An unanswered TCP SYN from `source` to the host's `port`, as an Ethernet frame.
    static func syn(from source: String = "198.51.100.7", port: UInt16, sourcePort: UInt16 = 40_000) -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                               PacketBuilder.ipv4(source, localAddress, protocolNumber: 6,
                                                  PacketBuilder.tcp(sourcePort, port, options: PacketBuilder.linuxSYNOptionBytes)))
    }

    /// The runner's loop threads (`ls-*`) still in this process, beyond those there before it started.
    var loopThreadsLeft: [String] {
        var now = Self.threadNames.filter { $0.hasPrefix("ls-") }
        for name in loopThreadsBefore { if let index = now.firstIndex(of: name) { now.remove(at: index) } }
        return now.sorted()
    }

    /// Names of this process's threads (`/proc/self/task/*/comm`).
    static var threadNames: [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

/// A plain HTTP/1.0 GET over a real TCP socket; the whole response, or nil if none came.
func httpGet(port: UInt16, path: String = "/metrics", timeoutSeconds: Int = 3) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
    guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while case let count = recv(fd, &buffer, buffer.count, 0), count > 0 { response += buffer[0..<count] }
    return response.isEmpty ? nil : String(decoding: response, as: UTF8.self)
}

/// A loopback TCP port that was free a moment ago.
func freeLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return UInt16(bigEndian: address.sin_port)
}
