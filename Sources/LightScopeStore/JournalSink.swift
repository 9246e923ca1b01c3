import CSystemd
import LightScopeCore
import LightScopeLogging
#if canImport(Glibc)
import Glibc
#endif

/// Writes each event to the systemd journal as one entry: the greppable line as MESSAGE plus
/// structured `LIGHTSCOPE_*` fields (see `JournalFields`), or, when no journal is reachable
/// (not under systemd, in a container), the same line to stderr through `Log.notice`.
///
/// Uses `sd_journal_sendv`, whose iovecs Swift can build; the variadic `sd_journal_send`
/// cannot be called from Swift.
public final class JournalSink: Sendable {
    public enum Destination: Sendable, Equatable {
        case journal
        case standardError
    }

    public let destination: Destination

    public init(destination: Destination = JournalSink.detectDestination()) {
        self.destination = destination
    }

    /// journald's native socket; `sd_journal_sendv` writes there.
    public static let socketPath = "/run/systemd/journal/socket"

    /// `.journal` only when journald really listens: a socket file left behind by a stopped
    /// journald refuses the connection, and then events go to stderr instead of nowhere.
    public static func detectDestination() -> Destination {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .standardError }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in socketPath.utf8.enumerated() { path[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return connected == 0 ? .journal : .standardError
    }

    /// Returns false when the journal refused the entry; the line then went to stderr instead.
    @discardableResult
    public func send(_ record: EventRecord) -> Bool {
        let fields = JournalFields.fields(for: record)
        if destination == .journal {
            let result = Self.withIOVecs(fields) { iovecs in
                sd_journal_sendv(iovecs.baseAddress, Int32(iovecs.count))
            }
            if result >= 0 { return true }
        }
        Log.notice(EventLine.text(record))
        return destination == .standardError
    }

    /// Sends one journal entry made of `fields` (`KEY=value`, MESSAGE may span lines);
    /// false when no journald took it.
    @discardableResult
    public static func send(fields: [String]) -> Bool {
        guard detectDestination() == .journal else { return false }
        return withIOVecs(fields) { sd_journal_sendv($0.baseAddress, Int32($0.count)) } >= 0
    }

    /// Lays `fields` out in one buffer and hands `body` one iovec per field, valid only inside
    /// `body`. Pure apart from the memory, so tests can check exactly what journald would get.
    public static func withIOVecs<Result>(_ fields: [String], _ body: (UnsafeBufferPointer<iovec>) -> Result) -> Result {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            ranges.append(start..<bytes.count)
        }
        return bytes.withUnsafeMutableBytes { buffer in
            let iovecs = ranges.map { range in
                iovec(iov_base: buffer.baseAddress.map { $0 + range.lowerBound }, iov_len: range.count)
            }
            return iovecs.withUnsafeBufferPointer(body)
        }
    }
}
