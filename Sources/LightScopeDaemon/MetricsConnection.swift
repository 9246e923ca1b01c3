import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// One client of the metrics endpoint, served without ever blocking: the request is read and
/// the response written as far as the socket allows on each wake-up, all before a deadline
/// fixed at accept. A client that dawdles (one byte a second, or none) costs one slot until
/// its deadline, never the loop's time.
struct MetricsConnection {
    let fd: Int32
    let deadlineNanos: UInt64
    private var request: [UInt8] = []
    private var response: [UInt8] = []
    private var sent = 0
    private(set) var state = State.reading

    enum State: Equatable {
        case reading
        case writing
        case done
    }

    /// A request line and headers larger than this are not a scrape.
    static let maximumRequestBytes = 8192

    init(fd: Int32, deadlineNanos: UInt64) {
        self.fd = fd
        self.deadlineNanos = deadlineNanos
    }

    /// The events to poll for.
    var events: Int16 { Int16(state == .writing ? POLLOUT : POLLIN) }

    /// Reads what has arrived; once the request is complete, `respond` gives the response.
    mutating func read(respond: (String) -> String) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while state == .reading {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            guard count > 0 else {
                // The client closed its side: answer what it sent, if anything.
                if request.isEmpty { state = .done } else { startResponse(respond) }
                return
            }
            let searchFrom = Swift.max(0, request.count - 3)
            request += buffer[0..<count]
            if request.count > Self.maximumRequestBytes {
                state = .done
            } else if request.containsHeaderEnd(from: searchFrom) {
                startResponse(respond)
            }
        }
        write()
    }

    private mutating func startResponse(_ respond: (String) -> String) {
        let requestLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        response = Array(respond(requestLine).utf8)
        state = .writing
        write()
    }

    /// Sends as much of the response as the socket takes now.
    mutating func write() {
        guard state == .writing else { return }
        while sent < response.count {
            let count = response.withUnsafeBytes { send(fd, $0.baseAddress! + sent, response.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            guard count > 0 else {
                state = .done
                return
            }
            sent += count
        }
        state = .done
    }
}

private extension [UInt8] {
    /// The blank line that ends HTTP headers, at or after `start` (where the last read began).
    func containsHeaderEnd(from start: Int) -> Bool {
        guard count >= 4, start <= count - 4 else { return false }
        for index in start...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return true
        }
        return false
    }
}
