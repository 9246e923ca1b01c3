/// The netlink sock_diag messages (linux/inet_diag.h) that ask the kernel for this network
/// namespace's listening sockets, built and parsed as bytes so both are tested without a
/// kernel.
///
/// Why not /proc/net/tcp: to print it the kernel walks its whole established-socket hash
/// table, sized from RAM, whatever is in it, so on an idle host a refresh every 30 s was
/// most of LightScope's idle CPU (bench/HISTORY.md has the figures). A dump that asks only
/// for the LISTEN state walks only the listening table.
public enum SockDiag {
    /// NETLINK_SOCK_DIAG, the netlink protocol to open.
    public static let netlinkProtocol: Int32 = 4
    static let messageType: UInt16 = 20 // SOCK_DIAG_BY_FAMILY
    static let done: UInt16 = 3 // NLMSG_DONE
    static let error: UInt16 = 2 // NLMSG_ERROR
    static let flags: UInt16 = 0x0001 | 0x0300 // NLM_F_REQUEST | NLM_F_DUMP
    static let headerLength = 16 // struct nlmsghdr
    static let requestLength = headerLength + 56 // + struct inet_diag_req_v2
    static let tcpListen: UInt8 = 10
    static let udpUnconnected: UInt8 = 7 // TCP_CLOSE: a bound UDP socket with no peer

    /// One dump to ask for: which family and protocol, sockets in which state.
    public struct Query: Equatable, Sendable {
        public var family: UInt8
        public var ipProtocol: UInt8
        public var state: UInt8

        /// TCP sockets in LISTEN, and UDP sockets bound with no peer, for IPv4 and IPv6.
        public static let listening: [Query] = [
            Query(family: 2, ipProtocol: 6, state: tcpListen), Query(family: 10, ipProtocol: 6, state: tcpListen),
            Query(family: 2, ipProtocol: 17, state: udpUnconnected), Query(family: 10, ipProtocol: 17, state: udpUnconnected),
        ]

        public var isTCP: Bool { ipProtocol == 6 }
    }

    /// The request: a netlink header and an inet_diag_req_v2, host byte order as netlink wants.
    public static func request(_ query: Query, sequence: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(requestLength)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
        append(UInt32(requestLength))
        append(messageType)
        append(flags)
        append(sequence)
        append(UInt32(0)) // port id: the kernel
        bytes += [query.family, query.ipProtocol, 0, 0] // family, protocol, extensions, pad
        append(UInt32(1) << UInt32(query.state))
        bytes += [UInt8](repeating: 0, count: 48) // inet_diag_sockid: any socket
        return bytes
    }

    /// What one received buffer said.
    public enum Reply: Equatable, Sendable {
        /// Local ports of the sockets in this buffer; more buffers follow.
        case ports([UInt16])
        /// The dump is complete; these are the last ports.
        case done([UInt16])
        /// The kernel refused the request (its errno), or the buffer made no sense.
        case failed(String)
    }

    /// Parses one buffer of replies to `query`. Every length is checked against the buffer.
    public static func parse(_ buffer: UnsafeRawBufferPointer, query: Query) -> Reply {
        var ports: [UInt16] = []
        var offset = 0
        while buffer.count - offset >= headerLength {
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let type = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            guard length >= headerLength, length <= buffer.count - offset else {
                return .failed("a netlink message of \(length) bytes at offset \(offset) of \(buffer.count)")
            }
            let payload = offset + headerLength
            switch type {
            case done:
                return .done(ports)
            case error:
                guard length >= headerLength + 4 else { return .failed("a short netlink error message") }
                let code = buffer.loadUnaligned(fromByteOffset: payload, as: Int32.self)
                return .failed("the kernel answered errno \(-code)")
            case messageType:
                // struct inet_diag_msg: family, state, timer, retrans, then inet_diag_sockid
                // (source port, destination port, big-endian, first).
                guard length >= headerLength + 8 else { return .failed("a short inet_diag message") }
                let state = buffer[payload + 1]
                let port = UInt16(buffer[payload + 4]) << 8 | UInt16(buffer[payload + 5])
                let peerPort = UInt16(buffer[payload + 6]) << 8 | UInt16(buffer[payload + 7])
                if state == query.state && (query.isTCP || peerPort == 0) { ports.append(port) }
            default:
                break // NLMSG_NOOP and the like
            }
            offset += (length + 3) & ~3 // NLMSG_ALIGN
        }
        return .ports(ports)
    }
}
