/// A set of ports as a 65,536-bit map (8 KiB): membership is a shift and a mask, not a hash,
/// for the port checks every probe and answer makes.
struct PortSet {
    private var words = [UInt64](repeating: 0, count: 1024)

    init() {}

    init(_ ports: Set<UInt16>) {
        for port in ports { insert(port) }
    }

    @inline(__always)
    func contains(_ port: UInt16) -> Bool {
        // 1,024 words: every port's word is in bounds, no check needed.
        words.withUnsafeBufferPointer { $0[Int(port &>> 6)] } & (1 &<< UInt64(port & 63)) != 0
    }

    mutating func insert(_ port: UInt16) {
        words[Int(port >> 6)] |= 1 << UInt64(port & 63)
    }
}
