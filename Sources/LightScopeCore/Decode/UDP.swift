/// The UDP header fields the detectors use.
public struct UDPDatagram: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// The header's own length field (header plus data), as sent; not checked against the IP
    /// length, since a lie here harms nobody but the receiver's parser.
    public var length: UInt16

    public init(sourcePort: UInt16, destinationPort: UInt16, length: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
    }
}

/// The UDP header (RFC 768).
enum UDP {
    static func decode(_ cursor: inout ByteCursor) throws(DecodeRejection) -> UDPDatagram {
        // Ports, length, checksum.
        guard let header = cursor.readHeader(8) else { throw .truncatedUDPHeader }
        return UDPDatagram(sourcePort: header.uint16(at: 0), destinationPort: header.uint16(at: 2), length: header.uint16(at: 4))
    }
}
