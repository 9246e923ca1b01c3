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
/// (write a temporary file, then rename), so a reader never sees half a file.
struct StatusFile {
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

    mutating func write(_ snapshot: DaemonSnapshot) {
        do {
            let data = try Self.encoder().encode(snapshot)
            mkdir(directory, 0o755)
            let temporary = path + ".tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemError(errorNumber: errno) }
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == data.count else { throw SystemError(errorNumber: errno) }
            guard rename(temporary, path) == 0 else { throw SystemError(errorNumber: errno) }
            reportedProblem = nil
        } catch {
            let problem = (error as? SystemError).map { String(cString: strerror($0.errorNumber)) } ?? "\(error)"
            if reportedProblem != problem {
                reportedProblem = problem
                Log.warning("Cannot write \(path) (\(problem)); 'lightscope status' will not see this daemon until it can")
            }
        }
    }

    func remove() {
        unlink(path)
    }
}
