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
        case .success(let bytes):
            settings = try ConfigFile.parse(bytes: bytes, source: path)
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

    /// The file's bytes, or nil if it cannot be read.
    public static func readBytes(_ path: String) -> [UInt8]? {
        try? readFile(path).get()
    }

    /// Config files are small; anything bigger is not one.
    static let maximumConfigBytes = 1 << 20

    private static func readFile(_ path: String) -> Result<[UInt8], SystemError> {
        FileText.readBytes(path, maximumBytes: maximumConfigBytes)
    }
}
