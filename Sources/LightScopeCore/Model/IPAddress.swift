/// An IPv4 or IPv6 address as one 128-bit value, cheap to hash and compare on the hot path.
/// IPv4 is held IPv4-mapped (`::ffff:a.b.c.d`), so one table can key both families. That
/// range is therefore IPv4's alone: an IPv6 address in it (which no stack sends; Linux drops
/// it) is refused where it would enter as IPv6, by the decoder
/// (`DecodeRejection.ipv4MappedAddress`) and by the text parser, so that it can never be
/// taken for the IPv4 address. 16 kernel bytes in that range (a dual-stack socket's IPv4
/// peer) are the IPv4 address, as the kernel means them.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(ipv4 value: UInt32) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == 0x0000_FFFF }
    public var ipv4Value: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// The 16 bytes in network order (IPv4-mapped for IPv4).
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        switch array.count {
        case 4:
            self.init(ipv4: array.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            self.init(high: array[0..<8].reduce(0) { $0 << 8 | UInt64($1) },
                      low: array[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        default:
            return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail).
    /// IPv4-mapped IPv6 text (`::ffff:198.51.100.77`) is refused: see the type's comment.
    public init?(_ text: String) {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for part in parts {
                guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt8(part) else { return nil }
                value = value << 8 | UInt32(octet)
            }
            self.init(ipv4: value)
            return
        }
        var groups: [UInt16] = []
        var gapIndex: Int?
        let halves = Self.splitOnDoubleColon(text)
        guard halves.count <= 2 else { return nil }
        for (halfIndex, half) in halves.enumerated() {
            if halfIndex == 1 { gapIndex = groups.count }
            guard !half.isEmpty else { continue }
            let pieces = half.split(separator: ":", omittingEmptySubsequences: false)
            for (pieceIndex, piece) in pieces.enumerated() {
                if piece.contains("."), halfIndex == halves.count - 1, pieceIndex == pieces.count - 1,
                   let embedded = IPAddress(String(piece)), let value = embedded.ipv4Value {
                    groups.append(UInt16(value >> 16))
                    groups.append(UInt16(value & 0xFFFF))
                } else {
                    guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                    groups.append(group)
                }
            }
        }
        if let gapIndex {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gapIndex)
        }
        guard groups.count == 8 else { return nil }
        self.init(high: groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) },
                  low: groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) })
        if isIPv4 { return nil }
    }

    private static func splitOnDoubleColon(_ text: String) -> [Substring] {
        var halves: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == ":", next < text.endIndex, text[next] == ":" {
                halves.append(text[start..<index])
                index = text.index(after: next)
                start = index
            } else {
                index = next
            }
        }
        halves.append(text[start...])
        return halves
    }

    public var description: String {
        if let value = ipv4Value {
            // Digits written straight into the string's storage: a tenth of an interpolation's
            // instructions, and the store writer spells two addresses per event.
            return String(unsafeUninitializedCapacity: 15) { buffer in
                var count = 0
                for shift in [24, 16, 8, 0] as [UInt32] {
                    let octet = Int(value >> shift & 0xFF)
                    if octet >= 100 { buffer[count] = UInt8(48 + octet / 100); count += 1 }
                    if octet >= 10 { buffer[count] = UInt8(48 + octet / 10 % 10); count += 1 }
                    buffer[count] = UInt8(48 + octet % 10)
                    count += 1
                    if shift > 0 { buffer[count] = UInt8(ascii: "."); count += 1 }
                }
                return count
            }
        }
        let groups = (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
        // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        return hex[0..<bestStart].joined(separator: ":") + "::" + hex[(bestStart + bestLength)...].joined(separator: ":")
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// An address prefix such as `192.0.2.0/24` or `2001:db8::/32`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    /// Length in the address's own family (0-32 for IPv4, 0-128 for IPv6).
    public let length: Int

    /// nil when `length` is beyond the address's family (32 for IPv4, 128 for IPv6).
    public init?(address: IPAddress, length: Int) {
        guard (0...(address.isIPv4 ? 32 : 128)).contains(length) else { return nil }
        self.address = address
        self.length = length
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.isIPv4 ? 32 : 128
        let length: Int
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maximum).contains(parsed) else { return nil }
            length = parsed
        } else {
            length = maximum
        }
        self.address = address
        self.length = length
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.isIPv4 == address.isIPv4 else { return false }
        let bits = address.isIPv4 ? 96 + length : length
        let (highMask, lowMask) = Self.masks(bits: bits)
        return candidate.high & highMask == address.high & highMask && candidate.low & lowMask == address.low & lowMask
    }

    private static func masks(bits: Int) -> (UInt64, UInt64) {
        let high: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - bits))
        let low: UInt64 = bits <= 64 ? 0 : (bits >= 128 ? .max : .max << (128 - bits))
        return (high, low)
    }

    public var description: String {
        "\(address)/\(length)"
    }
}
