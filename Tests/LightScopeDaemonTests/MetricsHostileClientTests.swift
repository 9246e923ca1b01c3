import Foundation
import LightScopeTestSupport
import XCTest

/// Any local user can connect to the metrics port: none may get the daemon killed by
/// holding the metrics loop (issue 17 item 1). The real binary, the real notify protocol,
/// hostile clients in the daemon's own namespace.
final class MetricsHostileClientTests: XCTestCase {
    /// WatchdogSec 3 s: a ping every 1.5 s, stall limit 3 s.
    private let watchdogMicroseconds = 3_000_000

    /// A client trickling one byte every 0.8 s (reconnecting whenever it is cut off) for three
    /// WatchdogSec, beside 1,000 connections that send nothing; then a normal scrape.
    private static let attack = """
    import socket, sys, threading, time
    port, hold, idle_count = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    idle = []
    for _ in range(idle_count):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(('127.0.0.1', port))
        except BlockingIOError:
            pass
        idle.append(s)
    counts = {'bytes': 0, 'cut_off': 0}
    def trickle():
        stop = time.time() + hold
        while time.time() < stop:
            try:
                c = socket.create_connection(('127.0.0.1', port), timeout=2)
            except OSError:
                time.sleep(0.2)
                continue
            try:
                for byte in b'GET /metrics HTTP/1.1\\r\\nHost: localhost\\r\\nX-Slow: ' + b'a' * 4096:
                    if time.time() >= stop:
                        break
                    c.send(bytes([byte]))
                    counts['bytes'] += 1
                    time.sleep(0.8)
            except OSError:
                counts['cut_off'] += 1
            finally:
                c.close()
    worker = threading.Thread(target=trickle)
    worker.start()
    worker.join()
    started = time.time()
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(b'GET /metrics HTTP/1.0\\r\\n\\r\\n')
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.split(b'\\r\\n')[0].decode(), '%.3f' % (time.time() - started), counts['bytes'], counts['cut_off'],
          b'lightscope_watchdog_pings_total' in data)
    """

    func testTricklingAndIdleClientsNeitherStallTheLoopNorBlockAScrape() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let port = 9870 + Int.random(in: 1...500)
        let harness = try DaemonHarness(lab: lab, watchdogMicroseconds: watchdogMicroseconds,
                                        config: "[watchdog]\nstatus_interval = 200ms\n[metrics]\nlisten = 127.0.0.1:\(port)\n")
        defer { harness.cleanUp() }
        let recorder = NotifyRecorder(harness.listener)
        defer { recorder.stop() }
        XCTAssertNotNil(recorder.wait(timeout: 10) { $0.has("READY", "1") }, harness.daemon.log)

        let hold = 3 * Double(watchdogMicroseconds) / 1e6
        let attackStarted = Date()
        let result = try lab.run(in: lab.host, ["python3", "-c", Self.attack, String(port), String(hold), "1000"], allowFailure: true)
        let fields = result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        XCTAssertEqual(fields.prefix(3).joined(separator: " "), "HTTP/1.1 200 OK", result.output)
        XCTAssertEqual(fields.last, "True", "a full page of metrics: \(result.output)")
        XCTAssertLessThan(Double(fields.dropFirst(3).first ?? "") ?? .infinity, 1.0, "the scrape was answered at once: \(result.output)")
        XCTAssertGreaterThan(Int(fields.dropFirst(5).first ?? "") ?? 0, 0, "the trickler was cut off at its deadline: \(result.output)")

        let messages = recorder.messages
        XCTAssertFalse(messages.contains { $0.has("WATCHDOG", "trigger") }, "\(messages.filter { $0.has("WATCHDOG") })\n\(harness.daemon.log)")
        let pings = messages.filter { $0.has("WATCHDOG", "1") && $0.receivedAt >= attackStarted }.map(\.receivedAt)
        XCTAssertGreaterThanOrEqual(pings.count, Int(hold / 1.5) - 1, "pings kept flowing: \(pings.count)")
        let gaps = zip(pings, pings.dropFirst()).map { $1.timeIntervalSince($0) } + [Date().timeIntervalSince(pings.last ?? attackStarted)]
        XCTAssertLessThan(gaps.max() ?? .infinity, Double(watchdogMicroseconds) / 1e6, "longest gap between pings: \(gaps)")
        XCTAssertFalse(harness.daemon.log.contains("withheld"), harness.daemon.log)
        XCTAssertTrue(harness.daemon.isRunning)
    }

    /// 127.0.0.1:P -> 0.0.0.0:P: the new address covers the old one, so the new listener cannot
    /// bind beside it; the port is handed over, and the reload still applies.
    func testAReloadToTheWildcardOnTheSamePortApplies() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let port = 9870 + Int.random(in: 1...500)
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[metrics]\nlisten = 127.0.0.1:\(port)\n")
        defer { harness.cleanUp() }
        harness.waitForReady()
        try harness.rewriteConfig("[watchdog]\nstatus_interval = 200ms\n[metrics]\nlisten = 0.0.0.0:\(port)\n")
        harness.daemon.signal(SIGHUP)
        XCTAssertNotNil(harness.listener.wait(timeout: 5) { $0.has("READY", "1") }.match)
        XCTAssertTrue(harness.daemon.waitForLog("Configuration reloaded", timeout: 2), harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("Serving Prometheus metrics on http://0.0.0.0:\(port)/metrics"), harness.daemon.log)
        let scrape = try lab.run(in: lab.host, ["python3", "-c",
            "import urllib.request,sys; sys.stdout.write(str(urllib.request.urlopen('http://\(lab.hostIPv4):\(port)/metrics', timeout=5).status))"])
        XCTAssertEqual(scrape.output, "200")
    }
}
