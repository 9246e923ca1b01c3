#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole text file with plain read(2) (no Foundation): config files, /proc/net tables.
public enum FileText {
    /// The file's text (invalid UTF-8 replaced), or the errno that stopped the read.
    public static func read(_ path: String, maximumBytes: Int) -> Result<String, SystemError> {
        readBytes(path, maximumBytes: maximumBytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The file's bytes, or the errno that stopped the read (EFBIG past `maximumBytes`).
    public static func readBytes(_ path: String, maximumBytes: Int) -> Result<[UInt8], SystemError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SystemError(errorNumber: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError(errorNumber: errno))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumBytes { return .failure(SystemError(errorNumber: EFBIG)) }
        }
        return .success(bytes)
    }
}

public struct SystemError: Error {
    public var errorNumber: Int32
}
