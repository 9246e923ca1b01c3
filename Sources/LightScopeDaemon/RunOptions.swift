import LightScopeCore

/// What `lightscope run` was asked to do on its command line.
public struct RunOptions: Sendable {
    public static let defaultConfigPath = "/etc/lightscope/lightscope.conf"

    /// nil: the default path, which may be absent (then every option has its default).
    public var configPath: String?
    /// Overrides `[capture] interfaces` when not empty.
    public var interfaces: [String]
    /// Overrides `[log] level`.
    public var logLevel: LogLevel?
    /// Read from the environment at start-up; see `FaultInjection`.
    public var faultInjectionEnabled: Bool
    /// `--state-dir`; see `StateDirectory.resolve`.
    public var stateDirectory: String?

    public init(configPath: String?, interfaces: [String], logLevel: LogLevel?, faultInjectionEnabled: Bool,
                stateDirectory: String? = nil) {
        self.configPath = configPath
        self.interfaces = interfaces
        self.logLevel = logLevel
        self.faultInjectionEnabled = faultInjectionEnabled
        self.stateDirectory = stateDirectory
    }
}
