import LightScopeCore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The daemon's live state as `status.json` in the runtime directory, replaced atomically
/// (`ReplacedFile`), so a reader never sees half a file.
struct StatusFile {
    /// Readable by the runtime directory's group, which the package makes adm: admins in it
    /// run `lightscope status` without root.
    static let mode: mode_t = 0o640

    let directory: String
    var path: String { directory + "/" + RuntimeDirectory.statusFileName }
    private var reportedProblem: String?

    init(directory: String) {
        self.directory = directory
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// The bytes are `encoder()`'s, written by hand (`StatusJSON`): the encoder cost about a
    /// million instructions a write, most of an idle daemon's CPU at a 1 s status interval.
    mutating func write(_ snapshot: DaemonSnapshot) {
        // Recreated if someone removed it while the daemon runs; mkdir never follows a link.
        mkdir(directory, 0o750)
        if let problem = ReplacedFile.write(StatusJSON.encode(snapshot), to: path, mode: Self.mode, durable: false) {
            if reportedProblem != problem {
                reportedProblem = problem
                Log.warning("Cannot write \(path) (\(problem)); 'lightscope status' will not see this daemon until it can")
            }
        } else {
            reportedProblem = nil
        }
    }

    func remove() {
        unlink(path)
    }
}
