import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the config file named on the command line, or the default one if it exists.
public enum ConfigLoader {
    public static func load(_ options: RunOptions) throws(ConfigError) -> Settings {
        let path = options.configPath ?? RunOptions.defaultConfigPath
        var settings: Settings
        switch readFile(path) {
        case .success(let text):
            settings = try ConfigFile.parse(text, source: path)
        case .failure(let failure):
            let errorNumber = failure.errorNumber
            if options.configPath == nil, errorNumber == ENOENT {
                settings = Settings()
            } else {
                let reason = String(cString: strerror(errorNumber))
                let fix = errorNumber == ENOENT ? "create it or pass an existing file with --config"
                    : "make it readable by the lightscope user"
                throw ConfigError(source: path, line: nil, problem: "cannot read it (\(reason)); \(fix)")
            }
        }
        if !options.interfaces.isEmpty {
            settings.capture.interfaces = options.interfaces
        }
        if let level = options.logLevel {
            settings.log.level = level
        }
        return settings
    }

    /// The file's text, or nil if it cannot be read.
    public static func readText(_ path: String) -> String? {
        try? readFile(path).get()
    }

    private static func readFile(_ path: String) -> Result<String, SystemError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SystemError(errorNumber: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 { if errno == EINTR { continue }; return .failure(SystemError(errorNumber: errno)) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > 1 << 20 { return .failure(SystemError(errorNumber: EFBIG)) }
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }
}


struct SystemError: Error {
    var errorNumber: Int32
}
