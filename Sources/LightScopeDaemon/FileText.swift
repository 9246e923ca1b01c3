import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole text file (no Foundation): config files, /proc/net tables.
public enum FileText {
    /// The file's text (invalid UTF-8 replaced), or the errno that stopped the read.
    public static func read(_ path: String, maximumBytes: Int) -> Result<String, SystemError> {
        readBytes(path, maximumBytes: maximumBytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The file's bytes, or the errno that stopped the read (EFBIG past `maximumBytes`).
    public static func readBytes(_ path: String, maximumBytes: Int) -> Result<[UInt8], SystemError> {
        ReadAll.read(path, maximumBytes: maximumBytes).mapError { SystemError(errorNumber: $0.rawValue) }
    }
}

public struct SystemError: Error {
    public var errorNumber: Int32
}
