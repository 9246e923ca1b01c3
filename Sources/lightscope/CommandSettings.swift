import ArgumentParser
import LightScopeCore
import LightScopeDaemon

/// The settings an operator command reads from `config` (nil: the default file). A file `run`
/// would reject is rejected here for the same reason, printed as `run` prints it, and the
/// command ends with 78 (EX_CONFIG), as `run` does.
func commandSettings(config: String?) throws -> Settings {
    do {
        return try ConfigLoader.load(RunOptions(configPath: config, interfaces: [], logLevel: nil, faultInjectionEnabled: false))
    } catch {
        printError(error.description)
        throw ExitCode(LightScopeCore.ExitCode.config.rawValue)
    }
}
