/// The lines of a config file as its bytes give them, shared by both readers of the file
/// (`ConfigFile.parse` and `ConfigFile.alertCommand`), so that they can never disagree on
/// where a line ends or what it says.
///
/// A line ends at LF; a CR before it is dropped, so a file saved with Windows line endings
/// (CRLF) reads the same, and so is a UTF-8 byte-order mark at the start. A line that holds
/// a NUL byte or is not valid UTF-8 keeps its number and its problem, comment or not: such
/// a file was damaged or is not text, and no part of it should be trusted silently.
struct ConfigLines {
    struct Line {
        /// From 1, as an editor counts.
        var number: Int
        /// The line's text; invalid UTF-8 replaced by U+FFFD when `problem` says so.
        var text: String
        /// Why the line's bytes are not usable text, or nil.
        var problem: String?

        /// The line without its comment and surrounding blanks; empty for a comment line.
        var content: String { ConfigLines.stripComment(text).trimmedSpaces }
    }

    let lines: [Line]

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    init(bytes: [UInt8]) {
        var body = bytes[...]
        if body.starts(with: Self.byteOrderMark) { body = body.dropFirst(Self.byteOrderMark.count) }
        var lines: [Line] = []
        for (index, rawLine) in body.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let lineBytes = rawLine.last == 0x0D ? rawLine.dropLast() : rawLine
            lines.append(Self.line(number: index + 1, bytes: lineBytes))
        }
        self.lines = lines
    }

    private static func line(number: Int, bytes: ArraySlice<UInt8>) -> Line {
        if let nul = bytes.firstIndex(of: 0) {
            let column = nul - bytes.startIndex + 1
            return Line(number: number, text: String(decoding: bytes, as: UTF8.self),
                        problem: "a NUL byte at column \(column) ('\(SafeText.escaped(bytes: bytes))'): a config file is text; remove it")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return Line(number: number, text: String(decoding: bytes, as: UTF8.self),
                        problem: "not valid UTF-8 ('\(SafeText.escaped(bytes: bytes))'): save the file as UTF-8 text")
        }
        return Line(number: number, text: text, problem: nil)
    }

    static func stripComment(_ line: String) -> String {
        let trimmed = line.trimmedSpaces
        if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { return "" }
        // An inline comment needs a space before '#', so values never lose a '#' by accident.
        var previous: Character = " "
        for index in line.indices {
            if line[index] == "#", previous == " " || previous == "\t" { return String(line[..<index]) }
            previous = line[index]
        }
        return line
    }
}
