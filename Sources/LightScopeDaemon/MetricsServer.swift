import LightScopeCore
import LightScopeSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The opt-in Prometheus endpoint: `GET /metrics` on a local TCP listener, served by one
/// dedicated thread that the watchdog supervises like every other loop. It serves the
/// runner's latest snapshot, so scraping never touches the packet path.
///
/// Any local user can connect, so no client may hold the loop: sockets are non-blocking, a
/// request has `requestDeadline` from accept to the last byte of its answer, and at most
/// `maximumConnections` are open (a new one pushes out the oldest), so the loop wakes and
/// beats on time however many clients dawdle.
final class MetricsServer: SupervisedLoop, @unchecked Sendable {
    let endpoint: MetricsEndpoint
    let heartbeat = Heartbeat(loopName: "metrics loop")
    let wakeInterval: Duration
    private let listener: MetricsListener
    private let stopPipe = WakePipe()
    private let latest = Mutex<DaemonSnapshot?>(nil)
    private let thread = DedicatedThread()
    /// Whether `listener` still holds the port; touched by the owner's thread only.
    private var listening = true

    /// From accept to the last byte of the answer; a scraper on the same host needs milliseconds.
    static let requestDeadline: Duration = .seconds(2)
    /// Clients served at once; a scrape of this host needs one.
    static let maximumConnections = 32
    /// Connections taken from the kernel per wake-up, so a flood of them cannot keep the loop from beating.
    static let acceptsPerWake = 64

    init(endpoint: MetricsEndpoint, wakeInterval: Duration) throws(MetricsListener.BindError) {
        self.endpoint = endpoint
        self.wakeInterval = wakeInterval
        listener = try MetricsListener(endpoint: endpoint)
    }

    deinit {
        if listening { listener.close() }
    }

    func publish(_ snapshot: DaemonSnapshot) { latest.withLock { $0 = snapshot } }

    /// The figures served now (handed on when a listener replaces this one).
    var published: DaemonSnapshot? { latest.withLock { $0 } }

    func start() {
        thread.start(name: "ls-metrics") { [self] in serve() }
    }

    /// Ends the loop and lets go of the port, so another listener may bind it.
    func stop(timeout: Duration) -> Bool {
        stopPipe.wake()
        let ended = thread.join(timeout: timeout)
        if ended, listening {
            listener.close()
            listening = false
        }
        return ended
    }

    private func serve() {
        var connections: [MetricsConnection] = []
        var page = RenderedPage()
        var descriptors: [pollfd] = []
        let wakeNanos = UInt64(max(1, wakeInterval.milliseconds)) * 1_000_000
        while true {
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: stopPipe.readEnd, events: Int16(POLLIN), revents: 0))
            descriptors.append(pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0))
            for connection in connections { descriptors.append(pollfd(fd: connection.fd, events: connection.events, revents: 0)) }
            let before = MonotonicClock.nowNanos()
            let nearest = connections.map(\.deadlineNanos).min().map { $0 > before ? $0 - before : 0 } ?? wakeNanos
            _ = poll(&descriptors, nfds_t(descriptors.count), Int32(max(1, min(wakeNanos, nearest) / 1_000_000)))
            let now = MonotonicClock.nowNanos()
            heartbeat.beat(now: now)
            if descriptors[0].revents != 0 { break }
            for index in connections.indices where descriptors[index + 2].revents != 0 {
                if connections[index].state == .reading {
                    connections[index].read { page.response(to: $0, latest: latest.withLock { $0 }) }
                } else {
                    connections[index].write()
                }
            }
            if descriptors[1].revents & Int16(POLLIN) != 0 { accept(into: &connections, now: now) }
            connections.removeAll { connection in
                guard connection.state == .done || now >= connection.deadlineNanos else { return false }
                close(connection.fd)
                return true
            }
        }
        for connection in connections { close(connection.fd) }
    }

    private func accept(into connections: inout [MetricsConnection], now: UInt64) {
        for _ in 0..<Self.acceptsPerWake {
            guard let client = listener.accept() else { return }
            if connections.count >= Self.maximumConnections {
                // The oldest has waited longest for nothing: a fresh scrape gets its slot.
                close(connections.removeFirst().fd)
            }
            connections.append(MetricsConnection(fd: client, deadlineNanos: now + UInt64(Self.requestDeadline.nanoseconds)))
        }
    }
}

/// The rendered answer to a scrape, made again only when the runner publishes new figures.
private struct RenderedPage {
    private var renderedAtNanos: UInt64?
    private var body = ""

    mutating func response(to requestLine: String, latest: DaemonSnapshot?) -> String {
        if requestLine.hasPrefix("GET /metrics ") || requestLine == "GET /metrics" {
            guard let latest else {
                return Self.http(status: "503 Service Unavailable", contentType: "text/plain", body: "starting\n")
            }
            if renderedAtNanos != latest.updatedAtNanos {
                body = PrometheusText.render(latest)
                renderedAtNanos = latest.updatedAtNanos
            }
            return Self.http(status: "200 OK", contentType: PrometheusText.contentType, body: body)
        }
        if requestLine.hasPrefix("GET ") {
            return Self.http(status: "404 Not Found", contentType: "text/plain", body: "LightScope serves /metrics only\n")
        }
        return Self.http(status: "405 Method Not Allowed", contentType: "text/plain", body: "GET /metrics\n")
    }

    private static func http(status: String, contentType: String, body: String) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }
}
