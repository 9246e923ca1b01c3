import CPcap
import LightScopeCore

/// Where a capture loop reads its packets: a libpcap handle (`PcapHandle`) on a real
/// interface, or a stand-in in the runner's in-process tests, which have no root and no NIC.
/// Owned by exactly one capture loop and used from its thread only.
public protocol PacketSource: AnyObject {
    var linkType: Int32 { get }
    /// Poll this for POLLIN, then drain with `dispatch`.
    var selectableFD: Int32 { get }
    /// How long the source may hold captured packets before they can be read (see `PcapHandle`).
    var readTimeoutMilliseconds: Int32 { get }
    /// The size of the kernel's ring the packets wait in, which paces the loop under a flood
    /// (`FloodPacing`); 0 for a source without one.
    var ringBytes: Int { get }
    /// Hands up to `maximumPackets` of the packets ready now to `callback`, never waiting;
    /// throws when the interface went down or away.
    func dispatch(context: UnsafeMutableRawPointer, callback: pcap_handler, maximumPackets: Int) throws(PcapHandle.OpenError) -> Int
    /// The kernel's cumulative drop count, if it can be read.
    func droppedPackets() -> UInt64?
    /// Joins the interface's fan-out group, so that this source gets its share of the packets.
    func join(_ group: FanoutGroup) throws(PcapHandle.OpenError)
    /// Puts the detection filter on again for the host's addresses as they are now (see
    /// `PcapHandle.refilter`); a warning if it runs with less than it should. Call it only
    /// from the thread that dispatches.
    func refilter(hostAddresses: [IPAddress]) -> String?
    func close()
}

extension PacketSource {
    /// A stand-in has no ring: its loop polls after every drain.
    public var ringBytes: Int { 0 }
    /// A stand-in has no socket: it gets what it is given.
    public func join(_ group: FanoutGroup) throws(PcapHandle.OpenError) {}
    /// A stand-in has no filter.
    public func refilter(hostAddresses: [IPAddress]) -> String? { nil }
}

extension PcapHandle: PacketSource {}
