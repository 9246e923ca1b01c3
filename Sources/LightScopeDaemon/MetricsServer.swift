import LightScopeCapture
import LightScopeCore
import LightScopeSystemd
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The opt-in Prometheus endpoint: `GET /metrics` on a local TCP listener, served by one
/// dedicated thread that the watchdog supervises like every other loop. It serves the
/// runner's latest snapshot, so scraping never touches the packet path.
final class MetricsServer: SupervisedLoop, @unchecked Sendable {
    let endpoint: MetricsEndpoint
    let heartbeat = Heartbeat(loopName: "metrics loop")
    private let listenFD: Int32
    private let stopPipe = WakePipe()
    private let snapshot = Mutex<DaemonSnapshot?>(nil)
    private let thread = DedicatedThread()
    private let wakeInterval: Duration

    /// A client gets this long to send its request, so a slow one cannot stall the loop.
    static let clientTimeoutMilliseconds: Int32 = 1000

    init(endpoint: MetricsEndpoint, wakeInterval: Duration) throws(DaemonError) {
        self.endpoint = endpoint
        self.wakeInterval = wakeInterval
        listenFD = try Self.listen(on: endpoint)
    }

    deinit {
        close(listenFD)
    }

    func publish(_ latest: DaemonSnapshot) { snapshot.withLock { $0 = latest } }

    func start() {
        thread.start(name: "ls-metrics") { [self] in serve() }
    }

    func stop(timeout: Duration) -> Bool {
        stopPipe.wake()
        return thread.join(timeout: timeout)
    }

    private func serve() {
        var descriptors = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: stopPipe.readEnd, events: Int16(POLLIN), revents: 0)]
        while true {
            _ = poll(&descriptors, 2, Int32(max(1, wakeInterval.milliseconds)))
            heartbeat.beat()
            if descriptors[1].revents != 0 { return }
            guard descriptors[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            answer(client)
            close(client)
            heartbeat.beat()
        }
    }

    private func answer(_ client: Int32) {
        var descriptor = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 8192, !request.containsHeaderEnd {
            guard poll(&descriptor, 1, Self.clientTimeoutMilliseconds) > 0 else { return }
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            request.append(contentsOf: buffer[0..<count])
        }
        let requestLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let response: String
        if requestLine.hasPrefix("GET /metrics ") || requestLine == "GET /metrics" {
            if let latest = snapshot.withLock({ $0 }) {
                response = Self.http(status: "200 OK", contentType: PrometheusText.contentType, body: PrometheusText.render(latest))
            } else {
                response = Self.http(status: "503 Service Unavailable", contentType: "text/plain", body: "starting\n")
            }
        } else if requestLine.hasPrefix("GET ") {
            response = Self.http(status: "404 Not Found", contentType: "text/plain", body: "LightScope serves /metrics only\n")
        } else {
            response = Self.http(status: "405 Method Not Allowed", contentType: "text/plain", body: "GET /metrics\n")
        }
        let bytes = Array(response.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = send(client, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                guard sent > 0 else { return }
                offset += sent
            }
        }
    }

    private static func http(status: String, contentType: String, body: String) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }

    private static func listen(on endpoint: MetricsEndpoint) throws(DaemonError) -> Int32 {
        let family = endpoint.address.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonError("Cannot create the metrics socket: \(String(cString: strerror(errno)))", exitCode: .failure) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if let value = endpoint.address.ipv4Value {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = endpoint.port.bigEndian
            address.sin_addr.s_addr = value.bigEndian
            bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: endpoint.address.bytes) }
            bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DaemonError("Cannot listen for metrics on \(endpoint) (\(reason)): choose a free address in [metrics] listen, or leave it empty to turn metrics off",
                              exitCode: .config)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }
}

private extension [UInt8] {
    /// The blank line that ends HTTP headers.
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return true
        }
        return false
    }
}
