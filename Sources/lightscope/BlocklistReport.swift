import ArgumentParser
import LightScopeCore
import LightScopeSystem
import LightScopeDaemon
#if canImport(Glibc)
import Glibc
#endif

/// What `lightscope blocklist --output` changes in its file, and the change itself.
enum BlocklistReport {
    /// At most this many addresses are named in one stderr line; the rest are counted.
    static let namedAtMost = 10

    static func list(_ items: [some CustomStringConvertible]) -> String {
        let named = items.prefix(namedAtMost).map(\.description).joined(separator: ", ")
        return items.count > namedAtMost ? "\(named) and \(items.count - namedAtMost) more" : named
    }

    /// Says on stderr which sources the list leaves out, and why.
    static func explainOmissions(_ blocklist: Blocklist) {
        let pseudonyms = blocklist.skipped.filter { $0.hasPrefix("anon4-") || $0.hasPrefix("anon6-") }
        if !pseudonyms.isEmpty {
            printError("skipped \(pseudonyms.count) anonymised sources: pseudonyms cannot be blocked (set [store] anonymise to none or dst to block senders)")
        }
        let unreadable = blocklist.skipped.filter { !pseudonyms.contains($0) }
        if !unreadable.isEmpty {
            printError("skipped \(unreadable.count) sources that are no address a firewall can match: \(list(unreadable))")
        }
        if !blocklist.excluded.isEmpty {
            printError("left out \(blocklist.excluded.count) that must never be blocked: \(list(blocklist.excluded))")
        }
    }

    /// Compares with what `path` lists now; writes the new text unless `dryRun`. A dry run
    /// prints one `add ADDRESS` or `remove ADDRESS` line per change on stdout.
    static func replace(_ path: String, with text: String, blocklist: Blocklist, dryRun: Bool) throws {
        let previous: Set<IPAddress>
        switch FileText.readBytes(path, maximumBytes: 1 << 30) {
        case .success(let bytes): previous = Blocklist.addresses(inOutput: String(decoding: bytes, as: UTF8.self))
        case .failure(let failure) where failure.errorNumber == ENOENT: previous = []
        case .failure(let failure):
            printError("error: cannot read \(path): \(String(cString: strerror(failure.errorNumber)))")
            throw ExitCode.failure
        }
        let current = Set(blocklist.addresses)
        let added = blocklist.addresses.filter { !previous.contains($0) }
        let removed = previous.subtracting(current).sorted { ($0.isIPv4 ? 0 : 1, $0) < ($1.isIPv4 ? 0 : 1, $1) }
        let change = "\(added.count) added, \(removed.count) removed, \(current.count - added.count) kept"
        if dryRun {
            added.forEach { print("add \($0)") }
            removed.forEach { print("remove \($0)") }
            printError("dry run, \(path) not written: \(change)")
            return
        }
        if let problem = writeAtomically(path, text) {
            printError("error: cannot write \(path): \(problem)")
            throw ExitCode.failure
        }
        printError("wrote \(path): \(change)")
    }

    /// A new file beside `path`, synced, then renamed over it: a reader (nft -f from cron)
    /// sees the old list or the new one, never half of one. The file is created afresh with
    /// O_EXCL and O_NOFOLLOW, so a link planted at the temporary name is not followed.
    private static func writeAtomically(_ path: String, _ text: String) -> String? {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        let bytes = Array(text.utf8)
        guard WriteAll.write(bytes, to: fd) else {
            let problem = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            return problem
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let problem = String(cString: strerror(errno))
            unlink(temporary)
            return problem
        }
        return nil
    }
}
