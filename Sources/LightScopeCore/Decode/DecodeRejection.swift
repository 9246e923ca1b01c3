/// Why the decoder turned a packet away. A plain enum with dense raw values, so the daemon
/// can count rejections per reason in a fixed array (`counts[reason.rawValue] += 1`) and
/// tell malformed traffic apart from traffic it simply does not look at.
public enum DecodeRejection: Int, Error, CaseIterable, Sendable {
    /// The capture handed over zero bytes.
    case empty
    /// A link type the decoder has no parser for (see `LinkType`).
    case unsupportedLinkType
    /// The frame ends inside its Ethernet, VLAN, cooked or loopback header.
    case truncatedLinkHeader
    /// More VLAN tags than the two of 802.1ad QinQ.
    case tooManyVLANTags
    /// Not IPv4 or IPv6 (ARP, LLC, LLDP, ...): well-formed, just not ours.
    case notIP
    /// The version nibble disagrees with the link layer's protocol field, or is neither 4 nor 6.
    case badIPVersion
    case truncatedIPv4Header
    /// IHL below 5 words: the header cannot even hold its own fixed fields.
    case badIPv4HeaderLength
    /// A total length shorter than the header it describes.
    case badIPv4TotalLength
    case truncatedIPv6Header
    case truncatedIPv6ExtensionHeader
    /// More extension headers than `IPv6.maximumExtensionHeaders`: real stacks never send
    /// that many, and walking them without a bound is a cost an attacker chooses.
    case ipv6ExtensionChainTooLong
    /// An IPv6 header whose source or destination is IPv4-mapped (::ffff:0:0/96). No stack
    /// sends one (Linux drops them on receipt), and `IPAddress` holds IPv4 in exactly that
    /// range: decoded, `::ffff:198.51.100.77` would be recorded and blocklisted as the IPv4
    /// address 198.51.100.77.
    case ipv4MappedAddress
    case truncatedTCPHeader
    /// A data offset below 5 words.
    case badTCPDataOffset
    case truncatedUDPHeader
    case truncatedICMPHeader

    /// False for the reasons that describe traffic outside the decoder's scope rather than
    /// broken packets, so that "malformed" counters stay meaningful on a busy LAN.
    public var isMalformed: Bool {
        switch self {
        case .unsupportedLinkType, .notIP: false
        default: true
        }
    }

    /// True when the bytes simply ran out: usually a snaplen too small for the headers, which
    /// an operator fixes differently from hostile or broken packets.
    public var isTruncation: Bool {
        switch self {
        case .empty, .truncatedLinkHeader, .truncatedIPv4Header, .truncatedIPv6Header, .truncatedIPv6ExtensionHeader,
             .truncatedTCPHeader, .truncatedUDPHeader, .truncatedICMPHeader:
            true
        default:
            false
        }
    }

    /// A stable snake_case name for metrics and logs.
    public var name: String {
        switch self {
        case .empty: "empty"
        case .unsupportedLinkType: "unsupported_link_type"
        case .truncatedLinkHeader: "truncated_link_header"
        case .tooManyVLANTags: "too_many_vlan_tags"
        case .notIP: "not_ip"
        case .badIPVersion: "bad_ip_version"
        case .truncatedIPv4Header: "truncated_ipv4_header"
        case .badIPv4HeaderLength: "bad_ipv4_header_length"
        case .badIPv4TotalLength: "bad_ipv4_total_length"
        case .truncatedIPv6Header: "truncated_ipv6_header"
        case .truncatedIPv6ExtensionHeader: "truncated_ipv6_extension_header"
        case .ipv6ExtensionChainTooLong: "ipv6_extension_chain_too_long"
        case .ipv4MappedAddress: "ipv4_mapped_address"
        case .truncatedTCPHeader: "truncated_tcp_header"
        case .badTCPDataOffset: "bad_tcp_data_offset"
        case .truncatedUDPHeader: "truncated_udp_header"
        case .truncatedICMPHeader: "truncated_icmp_header"
        }
    }
}
