/// Link-layer header types as `pcap_datalink` reports them (DLT_*) or a pcap file stores
/// them (LINKTYPE_*), for the link layers LightScope decodes.
public enum LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    public static let null: Int32 = 0
    public static let ethernet: Int32 = 1
    /// DLT_RAW as most platforms number it, Linux included.
    public static let raw: Int32 = 12
    /// DLT_RAW as OpenBSD numbers it.
    public static let rawOpenBSD: Int32 = 14
    /// LINKTYPE_RAW, the number pcap files use for DLT_RAW.
    public static let rawFile: Int32 = 101
    /// OpenBSD loopback: like `null`, but the family is always big-endian.
    public static let loop: Int32 = 108
    /// Linux cooked capture v1 (`any` device on older libpcap).
    public static let linuxCooked: Int32 = 113
    public static let ipv4: Int32 = 228
    public static let ipv6: Int32 = 229
    /// Linux cooked capture v2 (`any` device on libpcap 1.10+).
    public static let linuxCookedV2: Int32 = 276
}

/// Which network header follows the link layer.
enum NetworkKind {
    case ipv4, ipv6
}

/// What the link layer contributes: the network protocol and any VLAN IDs. The cursor is
/// left at the network header.
struct LinkHeader {
    var network: NetworkKind
    var outerVLAN: UInt16?
    var innerVLAN: UInt16?
    var direction = PacketDirection.unknown
}

/// Link-layer headers: Ethernet with up to two VLAN tags, Linux cooked v1/v2, raw IP and BSD
/// loopback. Each strips its header and says which IP version follows.
enum LinkLayer {
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86DD
    static let etherTypeVLAN: UInt16 = 0x8100
    static let etherTypeQinQ: UInt16 = 0x88A8
    /// The pre-standard QinQ TPID some switches still emit.
    static let etherTypeLegacyQinQ: UInt16 = 0x9100
    /// ARPHRD_NETLINK: cooked captures of netlink carry a netlink family, not an EtherType.
    static let arphrdNetlink: UInt16 = 824

    @inline(__always)
    static func decode(_ cursor: inout ByteCursor, linkType: Int32) throws(DecodeRejection) -> LinkHeader {
        switch linkType {
        case LinkType.ethernet:
            // Destination and source MAC, EtherType.
            guard let header = cursor.readHeader(14) else { throw .truncatedLinkHeader }
            return try afterEtherType(header.uint16(at: 12), &cursor)
        case LinkType.linuxCooked:
            // packet type, ARPHRD type, address length, 8 address bytes, protocol.
            guard let header = cursor.readHeader(16) else { throw .truncatedLinkHeader }
            guard header.uint16(at: 2) != arphrdNetlink else { throw .notIP }
            var link = try afterEtherType(header.uint16(at: 14), &cursor)
            link.direction = direction(packetType: header.uint16(at: 0))
            return link
        case LinkType.linuxCookedV2:
            // protocol, reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes.
            guard let header = cursor.readHeader(20) else { throw .truncatedLinkHeader }
            guard header.uint16(at: 8) != arphrdNetlink else { throw .notIP }
            var link = try afterEtherType(header.uint16(at: 0), &cursor)
            link.direction = direction(packetType: UInt16(header.uint8(at: 10)))
            return link
        case LinkType.raw, LinkType.rawOpenBSD, LinkType.rawFile:
            guard let first = cursor.peekUInt8() else { throw .empty }
            switch first >> 4 {
            case 4: return LinkHeader(network: .ipv4)
            case 6: return LinkHeader(network: .ipv6)
            default: throw .badIPVersion
            }
        case LinkType.ipv4:
            return LinkHeader(network: .ipv4)
        case LinkType.ipv6:
            return LinkHeader(network: .ipv6)
        case LinkType.null, LinkType.loop:
            guard let word = cursor.readUInt32() else { throw .truncatedLinkHeader }
            // DLT_NULL is in the capturing host's byte order; families are small, so a value
            // with its high half set was written little-endian.
            let family = linkType == LinkType.null && word & 0xFFFF_0000 != 0 ? word.byteSwapped : word
            switch family {
            case 2: return LinkHeader(network: .ipv4)
            case 10, 24, 28, 30: return LinkHeader(network: .ipv6) // Linux, NetBSD/OpenBSD, FreeBSD, Darwin
            default: throw .notIP
            }
        default:
            throw .unsupportedLinkType
        }
    }

    /// The kernel's packet type (PACKET_HOST and the rest, `linux/if_packet.h`) as a direction.
    private static func direction(packetType: UInt16) -> PacketDirection {
        switch packetType {
        case 0, 1, 2, 3: .inbound // to us, broadcast, multicast, to another host
        case 4: .outbound // sent by us
        default: .unknown
        }
    }

    /// Peels up to two VLAN tags (802.1Q, or 802.1ad QinQ: outer then inner), then maps the EtherType to an IP version.
    private static func afterEtherType(_ first: UInt16, _ cursor: inout ByteCursor) throws(DecodeRejection) -> LinkHeader {
        var etherType = first
        var outer: UInt16?
        var inner: UInt16?
        while etherType == etherTypeVLAN || etherType == etherTypeQinQ || etherType == etherTypeLegacyQinQ {
            guard inner == nil else { throw .tooManyVLANTags }
            guard let tagControl = cursor.readUInt16(), let next = cursor.readUInt16() else { throw .truncatedLinkHeader }
            if outer == nil { outer = tagControl & 0x0FFF } else { inner = tagControl & 0x0FFF }
            etherType = next
        }
        switch etherType {
        case etherTypeIPv4: return LinkHeader(network: .ipv4, outerVLAN: outer, innerVLAN: inner)
        case etherTypeIPv6: return LinkHeader(network: .ipv6, outerVLAN: outer, innerVLAN: inner)
        default: throw .notIP
        }
    }
}
