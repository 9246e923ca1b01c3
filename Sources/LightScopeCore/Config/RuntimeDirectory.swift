/// Where the running daemon publishes its live state (`status.json`), for `lightscope status`.
///
/// systemd's RuntimeDirectory= (`RUNTIME_DIRECTORY`) when set; otherwise `/run/lightscope` for
/// the default state directory, or `<state-dir>/run` for any other, so a second instance
/// (or a test) started with `--state-dir` is found by `lightscope status --state-dir` beside
/// the system one.
public enum RuntimeDirectory {
    public static let defaultPath = "/run/lightscope"
    public static let environmentVariable = "RUNTIME_DIRECTORY"
    public static let statusFileName = "status.json"

    public static func resolve(stateDirectory: String, environment: [String: String]) -> String {
        if let fromSystemd = environment[environmentVariable]?.split(separator: ":").first, !fromSystemd.isEmpty {
            return String(fromSystemd)
        }
        return stateDirectory == StateDirectory.defaultPath ? defaultPath : stateDirectory + "/run"
    }
}
