/// The compact text form of a SYN's TCP options, kept in every event so an analyst can tell
/// scanners (nmap, masscan, zmap) and operating systems apart by the options they send.
///
/// One token per option, in packet order, comma-separated:
/// `M<mss>` maximum segment size, `W<shift>` window scale, `S` SACK permitted, `T` timestamp,
/// `N` no-operation, `E` end of list (the walk stops there), `K<kind>` any other kind or a
/// known kind with the wrong length, and a final `?` when parsing stopped early (malformed
/// length or truncated capture).
enum TCPOptionsFingerprint {
    /// Written byte by byte into a stack buffer and turned into one `String` at the end: a
    /// typical fingerprint fits a small string, so an event costs no allocation for it.
    /// The longest possible text (40 one-byte options, or 20 two-byte `K<kind>` tokens, plus
    /// `,?`) stays well inside the buffer.
    static func text(of options: TCPOptions) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 160) { buffer in
            var writer = Writer(buffer: buffer)
            _ = options.withRawBytes { bytes in
                TCPOptionWalker.walk(bytes) { kind, value in
                    writer.separate()
                    token(kind: kind, value: &value, into: &writer)
                }
            }
            if options.isIncomplete {
                writer.separate()
                writer.append(UInt8(ascii: "?"))
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<writer.count]), as: UTF8.self)
        }
    }

    /// `options` with every byte zeroed that its text does not show: option values other than
    /// an MSS's or a window scale's (a timestamp's, which differ in every SYN), what follows
    /// an end of list or a malformed length. Options with the same text mostly have the same
    /// shown form, which pending probes keep once for all (`TCPOptionsTable`).
    static func shownForm(of options: TCPOptions) -> TCPOptions {
        options.withRawBytes { raw in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: TCPOptions.capacity) { buffer in
                let count = raw.count
                _ = buffer.initialize(from: raw)
                func zero(_ range: Range<Int>) {
                    for index in range where index < count { buffer[index] = 0 }
                }
                var index = 0
                // The walk of `TCPOptionWalker`, which stops where it would.
                while index < count {
                    let kind = buffer[index]
                    if kind == TCPOptionKind.endOfList {
                        zero(index + 1..<count)
                        break
                    }
                    if kind == TCPOptionKind.noOperation {
                        index += 1
                        continue
                    }
                    guard index + 1 < count else { break }
                    let length = Int(buffer[index + 1])
                    guard length >= 2, index + length <= count else {
                        zero(index + 2..<count)
                        break
                    }
                    let shown = (kind == TCPOptionKind.maximumSegmentSize && length == 4)
                        || (kind == TCPOptionKind.windowScale && length == 3)
                    if !shown { zero(index + 2..<index + length) }
                    index += length
                }
                return TCPOptions(bytes: UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[0..<count]),
                                  cutShort: options.isCutShort)
            }
        }
    }

    private static func token(kind: UInt8, value: inout ByteCursor, into writer: inout Writer) {
        switch kind {
        case TCPOptionKind.endOfList:
            writer.append(UInt8(ascii: "E"))
        case TCPOptionKind.noOperation:
            writer.append(UInt8(ascii: "N"))
        case TCPOptionKind.maximumSegmentSize where value.remaining == 2:
            writer.append(UInt8(ascii: "M"))
            writer.appendDecimal(UInt(value.readUInt16() ?? 0))
        case TCPOptionKind.windowScale where value.remaining == 1:
            writer.append(UInt8(ascii: "W"))
            writer.appendDecimal(UInt(value.readUInt8() ?? 0))
        case TCPOptionKind.sackPermitted where value.remaining == 0:
            writer.append(UInt8(ascii: "S"))
        case TCPOptionKind.timestamp where value.remaining == 8:
            writer.append(UInt8(ascii: "T"))
        default:
            writer.append(UInt8(ascii: "K"))
            writer.appendDecimal(UInt(kind))
        }
    }

    private struct Writer {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var count = 0

        mutating func append(_ byte: UInt8) {
            buffer[count] = byte
            count += 1
        }

        /// A comma before every token but the first.
        mutating func separate() {
            if count > 0 { append(UInt8(ascii: ",")) }
        }

        mutating func appendDecimal(_ value: UInt) {
            if value >= 10 { appendDecimal(value / 10) }
            append(UInt8(ascii: "0") + UInt8(value % 10))
        }
    }
}
