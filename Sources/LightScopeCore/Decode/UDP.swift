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
        guard let sourcePort = cursor.readUInt16(),
              let destinationPort = cursor.readUInt16(),
              let length = cursor.readUInt16(),
              cursor.skip(2) // checksum
        else { throw .truncatedUDPHeader }
        return UDPDatagram(sourcePort: sourcePort, destinationPort: destinationPort, length: length)
    }
}
