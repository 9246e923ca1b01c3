import CPcap
import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// One activated, non-blocking libpcap handle with the detection filter applied.
/// Owned by exactly one capture loop; libpcap handles are not thread-safe.
public final class PcapHandle {
    public let interfaceName: String
    public let linkType: Int32
    /// Poll this for POLLIN, then drain with `dispatch`.
    public let selectableFD: Int32
    /// libpcap's read timeout, which is also how long the kernel may hold captured packets in
    /// a ring block that is not full before handing it to user space (TPACKET_V3).
    public let readTimeoutMilliseconds: Int32
    /// The kernel's ring for this handle, as asked of libpcap (`Options.bufferSizeBytes`).
    public let ringBytes: Int
    /// Set when capture runs without the detection filter, or without its direction.
    public let filterWarning: String?
    private let loopback: Bool
    private var handle: OpaquePointer?

    public struct Options: Sendable {
        public var snaplenBytes: Int
        public var bufferSizeBytes: Int
        /// libpcap's own read timeout: must be non-zero (0 means "wait forever" on Linux).
        /// The loop never relies on it; it polls with its own bounded timeout.
        public var readTimeoutMilliseconds: Int32 = 100
        /// The host's own addresses when the capture opens (later ones: `refilter`): the filter
        /// then lets answers from any other source in (backscatter, see `CaptureFilter`).
        /// None: no inbound answers.
        public var hostAddresses: [IPAddress]

        public init(snaplenBytes: Int, bufferSizeBytes: Int, hostAddresses: [IPAddress] = []) {
            self.snaplenBytes = snaplenBytes
            self.bufferSizeBytes = bufferSizeBytes
            self.hostAddresses = hostAddresses
        }
    }

    public enum OpenError: Error, Equatable, Sendable {
        case noSuchInterface(String)
        case permissionDenied(String)
        case interfaceDown(String)
        case failed(String)

        public var message: String {
            switch self {
            case .noSuchInterface(let detail), .permissionDenied(let detail), .interfaceDown(let detail), .failed(let detail):
                detail
            }
        }
    }

    public init(interfaceName: String, options: Options) throws(OpenError) {
        self.interfaceName = interfaceName
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let created = pcap_create(interfaceName, &errorBuffer) else {
            throw .failed("pcap_create(\(interfaceName)): \(String(pcapError: errorBuffer))")
        }
        pcap_set_snaplen(created, Int32(options.snaplenBytes))
        pcap_set_promisc(created, 0)
        pcap_set_timeout(created, options.readTimeoutMilliseconds)
        readTimeoutMilliseconds = options.readTimeoutMilliseconds
        ringBytes = options.bufferSizeBytes
        pcap_set_buffer_size(created, Int32(options.bufferSizeBytes))
        let activation = pcap_activate(created)
        if activation < 0 {
            let detail = String(cString: pcap_geterr(created))
            pcap_close(created)
            switch activation {
            case PCAP_ERROR_NO_SUCH_DEVICE: throw .noSuchInterface(detail)
            case PCAP_ERROR_PERM_DENIED: throw .permissionDenied(detail)
            case PCAP_ERROR_IFACE_NOT_UP: throw .interfaceDown(detail)
            default: throw .failed(detail.isEmpty ? "pcap_activate returned \(activation)" : detail)
            }
        }
        linkType = pcap_datalink(created)
        loopback = NetworkInterfaces.current().contains { $0.name == interfaceName && $0.isLoopback }
        filterWarning = FilterInstaller.install(on: created, linkType: linkType, loopback: loopback,
                                                hostAddresses: options.hostAddresses, replacing: false)
        guard pcap_setnonblock(created, 1, &errorBuffer) == 0 else {
            let detail = String(pcapError: errorBuffer)
            pcap_close(created)
            throw .failed("pcap_setnonblock(\(interfaceName)): \(detail)")
        }
        selectableFD = pcap_get_selectable_fd(created)
        guard selectableFD >= 0 else {
            pcap_close(created)
            throw .failed("\(interfaceName) has no selectable file descriptor")
        }
        handle = created
    }

    deinit { close() }

    public func close() {
        if let open = handle { pcap_close(open) }
        handle = nil
    }

    /// Processes up to `maximumPackets` of the packets already in the ring (never waits).
    /// Returns the number of packets handed to `callback`, or throws libpcap's error (for
    /// example, the interface went down or disappeared).
    ///
    /// The bound matters: asked for "all" (-1), libpcap's TPACKET_V3 reader moves on to the
    /// next ring block for as long as the kernel has one ready, so under a flood faster than
    /// the callback a single call need never return.
    public func dispatch(context: UnsafeMutableRawPointer, callback: pcap_handler, maximumPackets: Int) throws(OpenError) -> Int {
        guard let open = handle else { return 0 }
        let count = pcap_dispatch(open, Int32(clamping: max(1, maximumPackets)), callback, context.assumingMemoryBound(to: UInt8.self))
        if count >= 0 { return Int(count) }
        let detail = String(cString: pcap_geterr(open))
        switch count {
        case PCAP_ERROR_IFACE_NOT_UP: throw .interfaceDown(detail)
        default: throw .failed(detail)
        }
    }

    /// The filter again, for the host's addresses as they are now: the filter lets inbound
    /// answers in only from sources that are not the host's (`CaptureFilter`), so an address
    /// the host gained after the capture opened must join that list, or an answer forged to
    /// claim it would reach detection as the host's own. Not thread-safe, as libpcap is not:
    /// the capture loop calls it between dispatches.
    public func refilter(hostAddresses: [IPAddress]) -> String? {
        guard let open = handle else { return nil }
        return FilterInstaller.install(on: open, linkType: linkType, loopback: loopback,
                                       hostAddresses: hostAddresses, replacing: true)
    }

    /// The socket under the handle, for what libpcap has no call for (`FanoutGroup`).
    var fileDescriptor: Int32? { handle.map { pcap_fileno($0) } }

    /// The kernel's drop counts for this handle since it opened: (ps_drop, ps_ifdrop).
    public func droppedPackets() -> UInt64? {
        guard let open = handle else { return nil }
        var stats = pcap_stat()
        guard pcap_stats(open, &stats) == 0 else { return nil }
        return UInt64(stats.ps_drop) + UInt64(stats.ps_ifdrop)
    }

}

extension String {
    /// libpcap's PCAP_ERRBUF_SIZE message, up to its terminating NUL.
    init(pcapError buffer: [CChar]) {
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
