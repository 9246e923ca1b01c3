import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// The metrics endpoint's listening TCP socket, non-blocking: bound at creation, so a reload
/// knows the new address is usable before it lets the old listener go.
struct MetricsListener {
    let fd: Int32

    /// Pending connections the kernel holds for the loop; beyond it, new ones wait in SYN retries.
    static let backlog: Int32 = 128

    struct BindError: Error {
        let endpoint: MetricsEndpoint
        let errorNumber: Int32

        /// The port is held by another socket, which may be this daemon's own listener on another address.
        var isAddressInUse: Bool { errorNumber == EADDRINUSE }

        var daemonError: DaemonError {
            DaemonError("Cannot listen for metrics on \(endpoint) (\(String(cString: strerror(errorNumber)))): choose a free address in [metrics] listen, or leave it empty to turn metrics off",
                        exitCode: .config)
        }
    }

    init(endpoint: MetricsEndpoint) throws(BindError) {
        let family = endpoint.address.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw BindError(endpoint: endpoint, errorNumber: errno) }
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
        guard bound == 0, listen(fd, Self.backlog) == 0 else {
            let errorNumber = errno
            Glibc.close(fd)
            throw BindError(endpoint: endpoint, errorNumber: errorNumber)
        }
        self.fd = fd
    }

    /// A waiting connection, non-blocking; nil when none is waiting.
    func accept() -> Int32? {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { return nil }
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        return client
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
