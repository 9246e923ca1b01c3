import LightScopeSystemd
import LightScopeTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The notifier against a real AF_UNIX datagram socket, path and abstract.
final class SystemdNotifierTests: XCTestCase {
    override func tearDown() {
        unsetenv("NOTIFY_SOCKET")
        unsetenv("WATCHDOG_USEC")
        unsetenv("WATCHDOG_PID")
    }

    func testMessagesReachAPathSocket() throws {
        try assertProtocol(over: NotifyListener(kind: .path))
    }

    func testMessagesReachAnAbstractSocket() throws {
        try assertProtocol(over: NotifyListener(kind: .abstract))
    }

    /// The tests' stand-in for systemd cleans up after itself: once released, its socket file
    /// is gone (every test that started a daemon left one in /tmp while its reader thread kept
    /// the listener alive).
    func testAReleasedListenerLeavesNoSocketFile() throws {
        var listener: NotifyListener? = try NotifyListener(kind: .path)
        let path = try XCTUnwrap(listener?.address)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        listener = nil
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) outlived its listener")
    }

    private func assertProtocol(over listener: NotifyListener) throws {
        setenv("NOTIFY_SOCKET", listener.address, 1)
        let notifier = SystemdNotifier()
        XCTAssertTrue(notifier.isEnabled)
        // A newline (CRLF too) would start a new assignment: escaped, as every control character is.
        XCTAssertTrue(notifier.ready(status: "capturing\non eth0\r\n\u{1B}[2J"))
        XCTAssertEqual(listener.receive(timeout: 2), "READY=1\nSTATUS=capturing\\non eth0\\r\\n\\e[2J")
        XCTAssertTrue(notifier.watchdogPing())
        XCTAssertEqual(listener.receive(timeout: 2), "WATCHDOG=1")
        XCTAssertTrue(notifier.extendTimeout(by: .seconds(30)))
        XCTAssertEqual(listener.receive(timeout: 2), "EXTEND_TIMEOUT_USEC=30000000")
        XCTAssertTrue(notifier.watchdogTrigger(status: "stalled"))
        XCTAssertEqual(listener.receive(timeout: 2), "WATCHDOG=trigger\nSTATUS=stalled")
        XCTAssertTrue(notifier.stopping(status: "bye"))
        XCTAssertEqual(listener.receive(timeout: 2), "STOPPING=1\nSTATUS=bye")
        // The environment is kept: later pings must still find the socket.
        XCTAssertNotNil(getenv("NOTIFY_SOCKET"))
    }

    func testWithoutNotifySocketEverythingIsANoOp() {
        unsetenv("NOTIFY_SOCKET")
        let notifier = SystemdNotifier()
        XCTAssertFalse(notifier.isEnabled)
        XCTAssertTrue(notifier.ready(status: "x"))
        XCTAssertTrue(notifier.watchdogPing())
    }

    func testWatchdogTimeoutHonoursWatchdogPid() {
        setenv("WATCHDOG_USEC", "4000000", 1)
        unsetenv("WATCHDOG_PID")
        XCTAssertEqual(SystemdNotifier.watchdogTimeout(), .seconds(4))
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        XCTAssertEqual(SystemdNotifier.watchdogTimeout(), .seconds(4))
        setenv("WATCHDOG_PID", "\(getpid() + 1)", 1)
        XCTAssertNil(SystemdNotifier.watchdogTimeout(), "a watchdog meant for another process is not ours")
        unsetenv("WATCHDOG_USEC")
        unsetenv("WATCHDOG_PID")
        XCTAssertNil(SystemdNotifier.watchdogTimeout())
    }
}
