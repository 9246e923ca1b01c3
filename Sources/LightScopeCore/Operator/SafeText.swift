/// Text from outside LightScope (a config file, the event store, a kernel interface name) made
/// safe to show a person: in a terminal, a journal entry or `STATUS=`.
///
/// A raw ESC would let such text drive the terminal that reads it, a newline would split one
/// journal entry into several (and end a `STATUS=` field), and a bidirectional override would
/// make a line read differently from its bytes. Each is written as an escape instead: `\e`,
/// `\n`, `\r`, `\t`, `\x00`-style for the other C0 controls and DEL, `\u{9b}` for C1 controls
/// (0x9b is CSI to some terminals) and for the bidi and line-separator characters, and
/// `\xff` for each byte of invalid UTF-8.
///
/// A backslash itself is left as it is, so that text escaped once passes through another
/// layer (the log line, `STATUS=`) unchanged, and every layer can escape without asking
/// whether an earlier one did. The price: a literal `\e` in the input reads like an escaped ESC.
public enum SafeText {
    public static func escaped(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
        var result = ""
        for scalar in text.unicodeScalars { append(scalar, to: &result) }
        return result
    }

    /// Bytes that should be UTF-8 but may not be: each byte that does not belong to a valid
    /// sequence becomes `\xNN`, and decoding resumes at the next byte.
    public static func escaped(bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var result = ""
        var index = 0
        while index < bytes.count {
            if let (scalar, length) = scalar(in: bytes, at: index) {
                append(scalar, to: &result)
                index += length
            } else {
                result += hex(bytes[index])
                index += 1
            }
        }
        return result
    }

    /// The scalar whose UTF-8 sequence starts at `index`, and its length; nil when the bytes
    /// there are no valid sequence (a stray continuation byte, an overlong form, a surrogate,
    /// beyond U+10FFFF, or cut short).
    private static func scalar(in bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length: Int, initial: UInt32, minimum: UInt32
        switch lead {
        case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: (length, initial, minimum) = (2, UInt32(lead & 0x1F), 0x80)
        case 0xE0...0xEF: (length, initial, minimum) = (3, UInt32(lead & 0x0F), 0x800)
        case 0xF0...0xF4: (length, initial, minimum) = (4, UInt32(lead & 0x07), 0x10000)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        var value = initial
        for byte in bytes[(index + 1)..<(index + length)] {
            guard byte & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func append(_ scalar: Unicode.Scalar, to result: inout String) {
        guard needsEscape(scalar) else {
            result.unicodeScalars.append(scalar)
            return
        }
        switch scalar.value {
        case 0x1B: result += "\\e"
        case 0x0A: result += "\\n"
        case 0x0D: result += "\\r"
        case 0x09: result += "\\t"
        case 0x00...0x1F, 0x7F: result += hex(UInt8(scalar.value))
        default: result += "\\u{\(String(scalar.value, radix: 16))}"
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xF)])"
    }
}
