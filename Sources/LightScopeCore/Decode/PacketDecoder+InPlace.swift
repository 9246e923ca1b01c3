extension PacketDecoder {
    /// `decode`, written straight to `destination` (uninitialized memory: a batch's next slot),
    /// which holds the packet only if this returns without throwing. A throwing function's
    /// result goes to a temporary first (nothing may reach the caller's memory before it is
    /// known not to throw), and from there it was copied, 112 bytes a packet; here the
    /// commonest frame's fields go to `destination` as they are read.
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: Int32,
                              into destination: UnsafeMutablePointer<DecodedPacket>) throws(DecodeRejection) {
        if linkType == LinkType.ethernet, let packet = CommonTCPDecoder.decode(bytes) {
            destination.initialize(to: packet)
            return
        }
        destination.initialize(to: try decodeLayers(bytes, linkType: linkType))
    }
}
