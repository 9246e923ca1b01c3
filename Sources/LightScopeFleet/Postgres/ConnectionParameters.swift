import CLibPQ
import LightScopeCore

/// The libpq keywords of a fleet connection: the operator's URL as libpq reads it, overridden by
/// the `[fleet]` timeouts, the password from its file, and the addresses resolved off the loop.
public struct ConnectionParameters: Equatable, Sendable {
    /// The URL's keywords that are set (libpq's parse, so URIs and keyword strings both work).
    public let parsed: [String: String]
    public let url: String

    public init(url: String) throws(FleetError) {
        var errorText: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorText) else {
            let reason = errorText.map { String(cString: $0).trimmingWhitespace } ?? "unreadable"
            if let errorText { PQfreemem(errorText) }
            throw FleetError("[fleet] url is not a libpq connection URI or keyword string (\(reason)); e.g. postgresql://role@collector.example:5432/lightscope?sslmode=verify-full")
        }
        defer { PQconninfoFree(options) }
        var parsed: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { parsed[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        self.parsed = parsed
        self.url = url
    }

    /// The host names libpq would look up itself: none when `hostaddr` is given, and never
    /// addresses or socket directories.
    public var namesToResolve: [String] {
        guard parsed["hostaddr"]?.isEmpty ?? true, let hosts = parsed["host"] else { return [] }
        let names = hosts.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace }
        return names.allSatisfy(HostResolver.isLiteral) ? [] : names
    }

    /// The collector's host(s) as written, for messages and the drop-in.
    public var hostDescription: String {
        let host = parsed["host"] ?? parsed["hostaddr"] ?? "the local socket"
        return parsed["port"].map { "\(host):\($0)" } ?? host
    }

    /// Keywords for `PostgresConnection`: the URL first (expanded by libpq), then what overrides it.
    public func keywords(settings: Settings.Fleet, password: String?, resolvedAddresses: [String]?,
                         applicationName: String) -> [(String, String)] {
        let networkSeconds = max(1, Int(settings.networkTimeout.components.seconds))
        var statementOption = "-c statement_timeout=\(settings.statementTimeout.milliseconds)"
        if let options = parsed["options"], !options.isEmpty { statementOption = options + " " + statementOption }
        var keywords: [(String, String)] = [
            ("dbname", url),
            ("connect_timeout", String(max(2, settings.connectTimeout.components.seconds))),
            ("keepalives", "1"),
            ("keepalives_idle", String(max(1, networkSeconds / 3))),
            ("keepalives_interval", String(max(1, networkSeconds / 9))),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", String(settings.networkTimeout.milliseconds)),
            ("application_name", applicationName),
            ("options", statementOption),
        ]
        if let password { keywords.append(("password", password)) }
        if let resolvedAddresses, !resolvedAddresses.isEmpty {
            // Host names with a resolved hostaddr beside them: libpq connects to the address and
            // still checks the server certificate against the name (sslmode=verify-full).
            keywords.append(("hostaddr", resolvedAddresses.joined(separator: ",")))
        }
        return keywords
    }
}
