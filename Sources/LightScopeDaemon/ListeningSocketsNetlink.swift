import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel for this network namespace's listening sockets over netlink sock_diag
/// (see `SockDiag` for why not /proc/net). Nil when netlink is not available (an old or
/// restricted kernel): the caller falls back to /proc/net.
enum ListeningSocketsNetlink {
    /// A dump is answered at once; this only bounds a kernel that never finishes one.
    static let receiveTimeoutMicroseconds = 500_000
    static let bufferBytes = 32 << 10

    static func listeningPorts() -> ListeningPorts? {
        let descriptor = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), SockDiag.netlinkProtocol)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 0, tv_usec: receiveTimeoutMicroseconds)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var ports = ListeningPorts()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferBytes, alignment: 8)
        defer { buffer.deallocate() }
        for (index, query) in SockDiag.Query.listening.enumerated() {
            guard let found = dump(query, sequence: UInt32(index + 1), descriptor: descriptor, buffer: buffer) else { return nil }
            if query.isTCP { ports.tcp.formUnion(found) } else { ports.udp.formUnion(found) }
        }
        return ports
    }

    private static func dump(_ query: SockDiag.Query, sequence: UInt32, descriptor: Int32,
                             buffer: UnsafeMutableRawBufferPointer) -> [UInt16]? {
        let request = SockDiag.request(query, sequence: sequence)
        // No address: an unconnected netlink socket sends to the kernel (port id 0).
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { return nil }
        var ports: [UInt16] = []
        while true {
            let received = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if received < 0 && errno == EINTR { continue }
            guard received > 0 else { return nil }
            switch SockDiag.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<received]), query: query) {
            case .ports(let more): ports += more
            case .done(let last): return ports + last
            case .failed: return nil
            }
        }
    }
}
