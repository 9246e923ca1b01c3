import Foundation

/// Writes classic pcap files (microsecond timestamps), so replay tests and benchmarks run
/// on captures they generate themselves.
public struct PcapWriter {
    public private(set) var data = Data()

    public init(linkType: UInt32 = 1, snaplen: UInt32 = 65535) {
        append32(0xA1B2_C3D4)
        append16(2)
        append16(4)
        append32(0) // thiszone
        append32(0) // sigfigs
        append32(snaplen)
        append32(linkType)
    }

    public mutating func add(_ packet: [UInt8], timeNanos: UInt64, capturedLength: Int? = nil) {
        let captured = capturedLength ?? packet.count
        append32(UInt32(timeNanos / 1_000_000_000))
        append32(UInt32(timeNanos % 1_000_000_000 / 1000))
        append32(UInt32(captured))
        append32(UInt32(packet.count))
        data.append(contentsOf: packet.prefix(captured))
    }

    public func write(to url: URL) throws {
        try data.write(to: url)
    }

    private mutating func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    private mutating func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
}
