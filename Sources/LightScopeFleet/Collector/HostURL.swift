/// The `[fleet] url` that `add-host` prints for a new role: the collector's address as the
/// admin URL names it (or `--collector`), TLS with the server's name checked, and the CA file
/// where the documentation puts it.
public enum HostURL {
    public static let caFile = "/etc/lightscope/fleet-ca.crt"
    public static let clientCertificate = "/etc/lightscope/fleet-client.crt"
    public static let clientKey = "/etc/lightscope/fleet-client.key"

    static func make(role: String, adminURL: String, collector: String?, authentication: FleetCollector.Authentication) throws(FleetError) -> String {
        let admin = try ConnectionParameters(url: adminURL)
        var host: String
        var port = admin.parsed["port"] ?? "5432"
        if let collector {
            (host, port) = split(collector, defaultPort: port)
        } else {
            host = admin.parsed["host"] ?? ""
            guard !host.isEmpty, !host.hasPrefix("/"), !host.utf8.contains(UInt8(ascii: ",")) else {
                throw FleetError("the admin URL reaches the collector through a local socket (or several hosts), which the hosts cannot use: give the address hosts connect to with --collector HOST[:PORT]")
            }
        }
        let database = admin.parsed["dbname"] ?? role
        if host.utf8.contains(UInt8(ascii: ":")) && !host.hasPrefix("[") { host = "[\(host)]" }
        var url = "postgresql://\(role)@\(host):\(port)/\(database)?sslmode=verify-full&sslrootcert=\(caFile)"
        if authentication == .cert { url += "&sslcert=\(clientCertificate)&sslkey=\(clientKey)" }
        return url
    }

    /// The `pg_hba.conf` line that lets a certificate role in, with ADDRESS for the operator to
    /// fill in. It must come before any line that matches the role by `+lightscope_host`: the
    /// first matching line decides, and a `scram-sha-256` one would ask for a password.
    static func certificateHBALine(role: String, adminURL: String) throws(FleetError) -> String {
        let database = try ConnectionParameters(url: adminURL).parsed["dbname"] ?? role
        return "hostssl \(database) \(role) ADDRESS cert"
    }

    /// `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
    static func split(_ text: String, defaultPort: String) -> (String, String) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? String(rest.dropFirst()) : defaultPort)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
        return (text, defaultPort)
    }
}
