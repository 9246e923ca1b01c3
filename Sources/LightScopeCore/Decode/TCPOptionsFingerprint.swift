/// The compact text form of a SYN's TCP options, kept in every event so an analyst can tell
/// scanners (nmap, masscan, zmap) and operating systems apart by the options they send.
///
/// One token per option, in packet order, comma-separated:
/// `M<mss>` maximum segment size, `W<shift>` window scale, `S` SACK permitted, `T` timestamp,
/// `N` no-operation, `E` end of list (the walk stops there), `K<kind>` any other kind or a
/// known kind with the wrong length, and a final `?` when parsing stopped early (malformed
/// length or truncated capture).
enum TCPOptionsFingerprint {
    static func text(of options: TCPOptions) -> String {
        var tokens: [String] = []
        _ = options.withRawBytes { bytes in
            TCPOptionWalker.walk(bytes) { kind, value in
                tokens.append(token(kind: kind, value: &value))
            }
        }
        if options.isIncomplete { tokens.append("?") }
        return tokens.joined(separator: ",")
    }

    private static func token(kind: UInt8, value: inout ByteCursor) -> String {
        switch kind {
        case TCPOptionKind.endOfList:
            return "E"
        case TCPOptionKind.noOperation:
            return "N"
        case TCPOptionKind.maximumSegmentSize where value.remaining == 2:
            return "M\(value.readUInt16() ?? 0)"
        case TCPOptionKind.windowScale where value.remaining == 1:
            return "W\(value.readUInt8() ?? 0)"
        case TCPOptionKind.sackPermitted where value.remaining == 0:
            return "S"
        case TCPOptionKind.timestamp where value.remaining == 8:
            return "T"
        default:
            return "K\(kind)"
        }
    }
}
