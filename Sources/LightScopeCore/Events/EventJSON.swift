/// One event as one line of JSON (JSON Lines), with the stable keys of `EventField`:
///
///     {"time":"2026-11-29T21:56:06.123456Z","interface":"eth0","proto":"tcp","src":"203.0.113.7","sport":51234,"dst":"192.0.2.1","dport":23,"verdict":"closed","packets":1,"ttl":54,"window":64240,"tcp_options":"M1460,S,T,N,W7"}
///
/// Fields without a value (`sport` of a scan, `ttl` when unknown, `ports` outside a portscan)
/// are omitted, never written as null: lines stay short, and `jq` reads a missing key as null
/// anyway. The decoder accepts both. Keys are always in `EventField` order, so lines diff and
/// grep predictably. Hand-written because it runs for every event and needs no Foundation.
public enum EventJSON {
    public static func encode(_ record: EventRecord) -> String {
        var line = "{"
        line.reserveCapacity(256)
        for (index, (field, value)) in record.fieldValues.enumerated() {
            if index > 0 { line += "," }
            line += "\""
            line += field.rawValue
            line += "\":"
            switch value {
            case .text(let text): appendQuoted(text, to: &line)
            case .integer(let number): line += String(number)
            case .time(let nanos): line += "\"" + RFC3339.format(timeNanos: nanos) + "\""
            }
        }
        line += "}"
        return line
    }

    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public var problem: String
        public var description: String { "not a LightScope event line: \(problem)" }
    }

    /// Reads a line written by `encode` (or any flat JSON object with the same keys).
    /// Unknown keys are ignored, so lines from a newer LightScope with more fields still read;
    /// so is a tool this version does not know (read as `unknown`), and a line without one,
    /// and an answer this version does not know (read as none).
    public static func decode(_ line: String) throws(DecodeError) -> EventRecord {
        var parser = FlatObjectParser(bytes: Array(line.utf8))
        let object = try parser.parseObject()
        func text(_ field: EventField) throws(DecodeError) -> String? {
            switch object[field.rawValue] {
            case nil, .null?: return nil
            case .text(let value)?: return value
            case .number?: throw DecodeError(problem: "'\(field.rawValue)' must be a string")
            }
        }
        func number<Number: FixedWidthInteger>(_ field: EventField, as _: Number.Type) throws(DecodeError) -> Number? {
            switch object[field.rawValue] {
            case nil, .null?: return nil
            case .number(let value)?:
                guard let converted = Number(exactly: value) else { throw DecodeError(problem: "'\(field.rawValue)' is out of range") }
                return converted
            case .text?: throw DecodeError(problem: "'\(field.rawValue)' must be a number")
            }
        }
        func required<Value>(_ field: EventField, _ value: Value?) throws(DecodeError) -> Value {
            guard let value else { throw DecodeError(problem: "'\(field.rawValue)' is missing") }
            return value
        }
        let timeText = try required(.time, try text(.time))
        guard let timeNanos = RFC3339.parse(timeText) else { throw DecodeError(problem: "'time' is not an RFC 3339 time: \(timeText)") }
        let protoText = try required(.proto, try text(.proto))
        guard let proto = TransportProtocol(rawValue: protoText) else { throw DecodeError(problem: "unknown proto '\(protoText)'") }
        let verdictText = try required(.verdict, try text(.verdict))
        guard let verdict = Verdict(rawValue: verdictText) else { throw DecodeError(problem: "unknown verdict '\(verdictText)'") }
        return EventRecord(
            timeNanos: timeNanos, interface: try required(.interface, try text(.interface)), proto: proto,
            source: try required(.src, try text(.src)), sourcePort: try number(.sport, as: UInt16.self),
            destination: try text(.dst), destinationPort: try number(.dport, as: UInt16.self),
            verdict: verdict, packets: try required(.packets, try number(.packets, as: UInt32.self)),
            ttl: try number(.ttl, as: UInt8.self), tcpWindow: try number(.window, as: UInt16.self),
            tcpOptions: try text(.tcpOptions), ports: try number(.ports, as: Int.self),
            addresses: try number(.addresses, as: Int.self), tool: ScanTool(storedName: try text(.tool)),
            tcpFlags: try text(.tcpFlags), answer: try text(.answer).flatMap(BackscatterAnswer.init(name:)),
            aggregated: try number(.aggregated, as: Int.self), samples: try text(.samples))
    }

    /// A JSON string literal of `text`, for the other one-line JSON the CLI prints.
    public static func appendQuoted(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}

/// Just enough JSON for one flat object of strings, integers and nulls: the event line.
struct FlatObjectParser {
    enum Value: Equatable { case text(String), number(Int64), null }

    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseObject() throws(EventJSON.DecodeError) -> [String: Value] {
        var object: [String: Value] = [:]
        try expect(UInt8(ascii: "{"))
        skipSpaces()
        if peek() == UInt8(ascii: "}") { index += 1 } else {
            while true {
                skipSpaces()
                let key = try parseString()
                skipSpaces()
                try expect(UInt8(ascii: ":"))
                skipSpaces()
                object[key] = try parseValue()
                skipSpaces()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipSpaces()
        guard index == bytes.count else { throw fail("unexpected text after the object") }
        return object
    }

    private mutating func parseValue() throws(EventJSON.DecodeError) -> Value {
        guard let byte = peek() else { throw fail("missing value") }
        switch byte {
        case UInt8(ascii: "\""):
            return .text(try parseString())
        case UInt8(ascii: "n"):
            guard bytes[index...].starts(with: Array("null".utf8)) else { throw fail("expected null") }
            index += 4
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            index += 1
            while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            guard let number = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw fail("bad number") }
            return .number(number)
        default:
            throw fail("expected a string, a whole number or null")
        }
    }

    private mutating func parseString() throws(EventJSON.DecodeError) -> String {
        try expect(UInt8(ascii: "\""))
        var scalars = String.UnicodeScalarView()
        var plainStart = index
        func flushPlain(upTo end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[plainStart..<end], as: UTF8.self).unicodeScalars)
        }
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\""):
                flushPlain(upTo: index)
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                flushPlain(upTo: index)
                index += 1
                guard let escaped = peek() else { throw fail("unfinished escape") }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "b"): scalars.append("\u{8}")
                case UInt8(ascii: "f"): scalars.append("\u{C}")
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count,
                          let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw fail("bad \\u escape") }
                    scalars.append(scalar)
                    index += 4
                default:
                    throw fail("bad escape")
                }
                plainStart = index
            default:
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(EventJSON.DecodeError) {
        guard peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    private func fail(_ problem: String) -> EventJSON.DecodeError {
        EventJSON.DecodeError(problem: "\(problem) at byte \(index)")
    }
}
