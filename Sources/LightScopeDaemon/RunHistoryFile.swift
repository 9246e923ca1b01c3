import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `runs.json` in the state directory: the run history, replaced atomically and fsynced,
/// because it is written exactly when things go wrong.
public struct RunHistoryFile: Sendable {
    public let path: String

    public init(stateDirectory: String) {
        path = stateDirectory + "/" + RunHistory.fileName
    }

    /// The history, or an empty one when the file is missing or unreadable (it only explains
    /// restarts; losing it must never stop the daemon).
    public func load() -> RunHistory {
        guard let data = FileManager.default.contents(atPath: path),
              let history = try? StatusFile.decoder().decode(RunHistory.self, from: data) else { return RunHistory() }
        return history
    }

    /// Returns a description of the problem, or nil when written.
    @discardableResult
    public func save(_ history: RunHistory) -> String? {
        guard let data = try? StatusFile.encoder().encode(history) else { return "cannot encode the run history" }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot write \(temporary): \(String(cString: strerror(errno)))" }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == data.count, rename(temporary, path) == 0 else {
            return "cannot write \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
