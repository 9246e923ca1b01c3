/// Where LightScope keeps what must survive restarts: the event store and the anonymisation key.
public enum StateDirectory {
    /// Debian's place for a daemon's state; the unit's `StateDirectory=lightscope` creates it.
    public static let defaultPath = "/var/lib/lightscope"
    /// Set by systemd from the unit's `StateDirectory=` (colon-separated when it names several).
    public static let environmentVariable = "STATE_DIRECTORY"

    /// `--state-dir` wins, then systemd's `STATE_DIRECTORY` (its first entry), then the default,
    /// so a unit that moves the directory is followed without a second setting to keep in step.
    public static func resolve(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromSystemd = environment[environmentVariable]?.split(separator: ":").first, !fromSystemd.isEmpty {
            return String(fromSystemd)
        }
        return defaultPath
    }
}
