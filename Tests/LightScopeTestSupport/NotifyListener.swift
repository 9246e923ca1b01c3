import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real AF_UNIX datagram socket standing in for systemd's notify socket: it receives
/// exactly what the daemon sends, so tests assert the protocol, not a mock's idea of it.
///
/// Like systemd, it reads continuously (on a thread of its own): sd_notify blocks when the
/// socket's queue is full (net.unix.max_dgram_qlen, 10 datagrams), and a test that pauses
/// reading must not freeze the daemon it is watching.
public final class NotifyListener: @unchecked Sendable {
    /// The value for NOTIFY_SOCKET: a path, or `@name` for the abstract namespace.
    public let address: String
    private let path: String?
    /// What the reader thread shares with the listener. The thread holds this, not the
    /// listener: a thread running a method of the listener itself kept it alive for good, so
    /// its deinit never ran and every test left its socket file in /tmp and a thread polling.
    private let inbox: Inbox

    public enum Kind { case path, abstract }

    public init(kind: Kind) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        let name = "lightscope-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let pathBytes: [UInt8]
        switch kind {
        case .path:
            let file = NSTemporaryDirectory() + name + ".sock"
            unlink(file)
            path = file
            address = file
            pathBytes = Array(file.utf8)
        case .abstract:
            path = nil
            address = "@" + name
            pathBytes = [0] + Array(name.utf8)
        }
        let length = withUnsafeMutableBytes(of: &socketAddress.sun_path) { buffer -> Int in
            buffer.copyBytes(from: pathBytes)
            return pathBytes.count
        }
        let addressLength = socklen_t(MemoryLayout<sa_family_t>.size + length + (kind == .path ? 1 : 0))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, addressLength) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw TestFailure("bind \(address): errno \(error)")
        }
        if let path { chmod(path, 0o777) }
        inbox = Inbox(fd: fd)
        Thread { [inbox] in inbox.readUntilClosed() }.start()
    }

    deinit {
        inbox.stop()
        if let path { unlink(path) }
    }

    /// The socket and the datagrams read from it: the reader thread's side.
    private final class Inbox: @unchecked Sendable {
        let fd: Int32
        let received = NSCondition()
        // Guarded by `received`.
        var queue: [NotifyMessage] = []
        private var closing = false
        /// Signalled when the reader thread returns (a happens-before edge, unlike Thread.isFinished).
        private let readerDone = DispatchSemaphore(value: 0)

        init(fd: Int32) { self.fd = fd }

        /// Ends the reader thread, then closes the socket.
        func stop() {
            received.lock()
            closing = true
            received.unlock()
            readerDone.wait()
            close(fd)
        }

        func readUntilClosed() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while true {
                received.lock()
                let stop = closing
                received.unlock()
                if stop {
                    readerDone.signal()
                    return
                }
                guard poll(&descriptor, 1, 50) > 0 else { continue }
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { continue }
                received.lock()
                queue.append(NotifyMessage(text: String(decoding: buffer[0..<count], as: UTF8.self), receivedAt: Date()))
                received.signal()
                received.unlock()
            }
        }
    }

    /// One datagram, or nil if none arrives within `timeout` seconds.
    public func receive(timeout: Double) -> String? {
        receiveMessage(timeout: timeout)?.text
    }

    /// One datagram with the time it arrived, or nil if none arrives within `timeout` seconds.
    public func receiveMessage(timeout: Double) -> NotifyMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        inbox.received.lock()
        defer { inbox.received.unlock() }
        while inbox.queue.isEmpty {
            guard inbox.received.wait(until: deadline) else { return nil }
        }
        return inbox.queue.removeFirst()
    }

    /// Every datagram received until `seconds` have passed.
    public func collect(for seconds: Double) -> [NotifyMessage] {
        let deadline = Date().addingTimeInterval(seconds)
        var messages: [NotifyMessage] = []
        while case let remaining = deadline.timeIntervalSinceNow, remaining > 0 {
            if let message = receiveMessage(timeout: remaining) { messages.append(message) }
        }
        return messages
    }

    /// Reads datagrams until one satisfies `match`; returns everything read, the match last.
    public func wait(timeout: Double, for match: (NotifyMessage) -> Bool) -> (all: [NotifyMessage], match: NotifyMessage?) {
        let deadline = Date().addingTimeInterval(timeout)
        var messages: [NotifyMessage] = []
        while case let remaining = deadline.timeIntervalSinceNow, remaining > 0 {
            guard let message = receiveMessage(timeout: remaining) else { break }
            messages.append(message)
            if match(message) { return (messages, message) }
        }
        return (messages, nil)
    }
}

/// One sd_notify datagram, split into its assignments.
public struct NotifyMessage: CustomStringConvertible {
    public let text: String
    public let receivedAt: Date

    public var assignments: [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            result[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return result
    }

    public func has(_ key: String, _ value: String? = nil) -> Bool {
        guard let actual = assignments[key] else { return false }
        return value == nil || actual == value
    }

    public var description: String { text.replacingOccurrences(of: "\n", with: " | ") }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
