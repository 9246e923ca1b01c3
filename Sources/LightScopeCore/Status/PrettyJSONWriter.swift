/// JSON in exactly the bytes Foundation's `JSONEncoder` writes with `[.sortedKeys, .prettyPrinted]`:
/// two spaces a level, `"key" : value`, `,` then a newline between members, an empty object or
/// array as its brackets around an empty line; in strings `"`, `\` and `/` escaped, `\b \f \n
/// \r \t` as such, other bytes below 0x20 as `\u00xx` (lowercase hex), everything else,
/// DEL and non-ASCII included, as its UTF-8. The caller writes an object's keys already sorted
/// (by their UTF-8 bytes, as `.sortedKeys` does); dictionaries it sorts itself.
///
/// Why it exists: the status file is written every status interval, and `JSONEncoder` spends
/// about a million instructions a write on dynamic casts and key conversion (bench/HISTORY.md).
struct PrettyJSONWriter {
    private(set) var bytes: [UInt8] = []
    private var depth = 0
    /// Whether the open object or array has no member yet (no `,` before the next one).
    private var atFirstMember = true

    init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func beginObject() { open(UInt8(ascii: "{")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    /// The next member's key of the open object; its value follows.
    mutating func key(_ name: StaticString) {
        startMember()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        appendKeySeparator()
    }

    /// The next element of the open array; its value follows.
    mutating func element() {
        startMember()
    }

    mutating func value(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var contiguous = string
        contiguous.withUTF8 { utf8 in
            // Runs that need no escape go in whole.
            var runStart = 0
            for index in utf8.indices where Self.needsEscape(utf8[index]) {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscaped(utf8[index])
                runStart = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func value(_ flag: Bool) {
        bytes.append(contentsOf: flag ? "true".utf8 : "false".utf8)
    }

    mutating func value(_ number: Int32) {
        if number < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        value(UInt64(number.magnitude))
    }

    mutating func value(_ number: UInt64) {
        // UInt64.max has 20 digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var remaining = number
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// A `[String: UInt64]` as `JSONEncoder` writes one: its keys as they are (no snake_case),
    /// sorted by their UTF-8 bytes.
    mutating func value(_ counts: [String: UInt64]) {
        beginObject()
        for (name, count) in counts.sorted(by: { Self.utf8Precedes($0.key, $1.key) }) {
            startMember()
            value(name)
            appendKeySeparator()
            value(count)
        }
        endObject()
    }

    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        bytes.append(UInt8(ascii: "\n"))
        depth += 1
        atFirstMember = true
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(UInt8(ascii: "\n"))
        depth -= 1
        appendIndent()
        bytes.append(bracket)
        // The container just closed was a member of its parent.
        atFirstMember = false
    }

    private mutating func startMember() {
        if !atFirstMember {
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: "\n"))
        }
        atFirstMember = false
        appendIndent()
    }

    private mutating func appendKeySeparator() {
        bytes.append(UInt8(ascii: " "))
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
    }

    private mutating func appendIndent() {
        for _ in 0..<2 * depth {
            bytes.append(UInt8(ascii: " "))
        }
    }

    /// `.sortedKeys`' order: by UTF-8 bytes, not by `String`'s `<` (which compares canonical
    /// equivalents as equal).
    private static func utf8Precedes(_ first: String, _ second: String) -> Bool {
        var first = first
        var second = second
        return first.withUTF8 { firstBytes in
            second.withUTF8 { secondBytes in
                for (firstByte, secondByte) in zip(firstBytes, secondBytes) where firstByte != secondByte {
                    return firstByte < secondByte
                }
                return firstBytes.count < secondBytes.count
            }
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/")
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(byte)
        case 0x08: bytes.append(contentsOf: "\\b".utf8)
        case 0x0C: bytes.append(contentsOf: "\\f".utf8)
        case 0x0A: bytes.append(contentsOf: "\\n".utf8)
        case 0x0D: bytes.append(contentsOf: "\\r".utf8)
        case 0x09: bytes.append(contentsOf: "\\t".utf8)
        case 0x00..<0x20:
            bytes.append(contentsOf: "\\u00".utf8)
            bytes.append(Self.lowercaseHexDigit(byte >> 4))
            bytes.append(Self.lowercaseHexDigit(byte & 0x0F))
        default:
            bytes.append(byte)
        }
    }

    private static func lowercaseHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
