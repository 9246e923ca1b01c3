import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `runs.json` in the state directory: the run history, replaced atomically and fsynced
/// (`ReplacedFile`), because it is written exactly when things go wrong.
public struct RunHistoryFile: Sendable {
    /// Readable by the state directory's group (adm in the package), for `lightscope status`.
    static let mode: mode_t = 0o640
    /// Far more than 50 runs take; a bigger file is not ours.
    static let maximumBytes = 1 << 20

    public let path: String

    public init(stateDirectory: String) {
        path = stateDirectory + "/" + RunHistory.fileName
    }

    /// The history, or an empty one when the file is missing or unreadable (it only explains
    /// restarts; losing it must never stop the daemon).
    public func load() -> RunHistory {
        guard let bytes = ReplacedFile.read(path, maximumBytes: Self.maximumBytes),
              let history = try? StatusFile.decoder().decode(RunHistory.self, from: Data(bytes)) else { return RunHistory() }
        return history
    }

    /// Returns a description of the problem, or nil when written.
    @discardableResult
    public func save(_ history: RunHistory) -> String? {
        guard let data = try? StatusFile.encoder().encode(history) else { return "cannot encode the run history" }
        return ReplacedFile.write(Array(data), to: path, mode: Self.mode, durable: true).map { "cannot write the run history (\($0))" }
    }
}
