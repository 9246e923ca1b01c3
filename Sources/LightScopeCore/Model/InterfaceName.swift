/// A network interface's name, held inline so that an `UnwantedEvent` is plain data: copying
/// one (detection hands every event to the sinks' threads) is a memory copy, with no
/// reference count to touch. Linux names are at most 15 bytes (IFNAMSIZ less its NUL), and
/// that is what fits (`isValid`, which the config checks); a longer string keeps its first 15
/// bytes, cut at a character boundary.
public struct InterfaceName: Hashable, Sendable, CustomStringConvertible {
    static let capacity = 15

    /// A name Linux would accept: 1 to 15 bytes, no '/', no whitespace, not "." or "..".
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= capacity && name != "." && name != ".."
            && !name.contains(where: { $0 == "/" || $0 == " " || $0 == "\t" || $0 == ":" })
    }
    /// The name's UTF-8 bytes, zero-filled, and its length in the last byte.
    private var storage: (UInt64, UInt64) = (0, 0)

    public init(_ name: String) {
        // Whole scalars only: never end in the middle of a multi-byte character.
        var utf8: [UInt8] = []
        for scalar in name.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            guard utf8.count + encoded.count <= Self.capacity else { break }
            utf8 += encoded
        }
        withUnsafeMutableBytes(of: &storage) { bytes in
            for (index, byte) in utf8.enumerated() { bytes[index] = byte }
            bytes[Self.capacity] = UInt8(utf8.count)
        }
    }

    public var description: String {
        withUnsafeBytes(of: storage) { bytes in
            String(decoding: bytes.prefix(Int(bytes[Self.capacity])), as: UTF8.self)
        }
    }

    public static func == (lhs: InterfaceName, rhs: InterfaceName) -> Bool {
        lhs.storage == rhs.storage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
    }
}
