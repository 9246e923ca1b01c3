import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server for one test class, started from Debian's binaries: `initdb` and
/// `pg_ctl` as the `postgres` user (the server refuses root) in a fresh directory under /tmp,
/// with its own test CA and a server certificate for `listenAddress` and `localhost`, SCRAM
/// passwords, and TCP allowed over TLS only. Optionally inside a network namespace. `destroy()`
/// (also from deinit) stops it and removes everything, on failure too.
public final class PostgresServer {
    public static let binDirectory = "/usr/lib/postgresql/15/bin"
    public let directory: String
    public let port: Int
    public let listenAddress: String
    public let namespace: String?
    public let superuserPassword = "pg-test-\(UInt64.random(in: 0...UInt64.max))"
    /// The test CA, readable by everyone: the `sslrootcert` of the clients.
    public var caCertificatePath: String { directory + "/ca.crt" }
    private var destroyed = false

    /// - Parameters:
    ///   - durable: PostgreSQL's defaults (fsync, synchronous commit) for benchmarks; tests do without.
    public init(listenAddress: String = "127.0.0.1", namespace: String? = nil, durable: Bool = false) throws {
        try requireRoot()
        guard FileManager.default.isExecutableFile(atPath: Self.binDirectory + "/initdb") else {
            throw TestFailure("PostgreSQL 15 is not installed (\(Self.binDirectory)/initdb): run scripts/install-deps.sh")
        }
        var template = Array("/tmp/lightscope-pg-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: errno \(errno)") }
        directory = String(cString: created)
        self.listenAddress = listenAddress
        self.namespace = namespace
        port = namespace == nil ? try Self.freePort(on: listenAddress) : Int.random(in: 20000...40000)
        do {
            try makeCertificates()
            try initialise(durable: durable)
            try start()
            try psql(adminURL(database: "postgres"), "CREATE DATABASE lightscope")
        } catch {
            destroy()
            throw error
        }
    }

    deinit { destroy() }

    /// The superuser over the Unix socket in `directory` (reachable from any network namespace).
    public func adminURL(database: String = "lightscope") -> String {
        "host=\(directory) port=\(port) user=postgres password=\(superuserPassword) dbname=\(database)"
    }

    /// A role's URL over TCP and TLS with the server's name checked, as a host's `[fleet] url`.
    public func tlsURL(role: String, host: String? = nil, database: String = "lightscope") -> String {
        let name = host ?? listenAddress
        let bracketed = name.contains(":") ? "[\(name)]" : name
        return "postgresql://\(role)@\(bracketed):\(port)/\(database)?sslmode=verify-full&sslrootcert=\(caCertificatePath)"
    }

    public func start() throws {
        try asPostgres(["\(Self.binDirectory)/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "30", "start"])
    }

    public func stop() throws {
        try asPostgres(["\(Self.binDirectory)/pg_ctl", "-D", directory + "/data", "-w", "-t", "30", "-m", "fast", "stop"])
    }

    /// Runs SQL with psql; returns its unaligned, tuples-only output.
    @discardableResult
    public func psql(_ url: String, _ sql: String, allowFailure: Bool = false) throws -> (status: Int32, output: String) {
        try shell(["psql", url, "-AtX", "-v", "ON_ERROR_STOP=1", "-c", sql], allowFailure: allowFailure)
    }

    /// `psql` as the superuser on the `lightscope` database, trimmed.
    @discardableResult
    public func query(_ sql: String, database: String = "lightscope") throws -> String {
        try psql(adminURL(database: database), sql).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A client certificate from the test CA with `commonName` as its CN, and its key (root,
    /// mode 0600), for `cert` authentication; `name` keeps several apart.
    public func issueClientCertificate(commonName: String, name: String) throws -> (certificate: String, key: String) {
        let base = directory + "/client-" + name
        try shell(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(commonName)",
                   "-keyout", base + ".key", "-out", base + ".csr"])
        try shell(["openssl", "x509", "-req", "-in", base + ".csr", "-CA", caCertificatePath, "-CAkey", directory + "/ca.key",
                   "-CAcreateserial", "-days", "2", "-out", base + ".crt"])
        chmod(base + ".key", 0o600)
        return (base + ".crt", base + ".key")
    }

    /// Trusts the test CA for client certificates (`ssl_ca_file`) and puts `line` into
    /// pg_hba.conf, first (the first matching line decides) or last; then reloads the server.
    public func addHBALine(_ line: String, first: Bool) throws {
        try append("ssl_ca_file = '\(caCertificatePath)'\n", to: directory + "/data/postgresql.conf")
        let path = directory + "/data/pg_hba.conf"
        let lines = try String(contentsOfFile: path, encoding: .utf8)
        try (first ? line + "\n" + lines : lines + line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try shell(["chown", "postgres:postgres", path])
        let reloads = log.components(separatedBy: "reloading configuration files").count
        try asPostgres(["\(Self.binDirectory)/pg_ctl", "-D", directory + "/data", "reload"])
        let deadline = Date().addingTimeInterval(10)
        while log.components(separatedBy: "reloading configuration files").count == reloads, Date() < deadline { usleep(50_000) }
        usleep(200_000)
    }

    public var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }

    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        if FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid") { try? stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Set-up

    private func makeCertificates() throws {
        let altNames = "IP:\(listenAddress),DNS:localhost"
        try shell(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=LightScope test CA",
                   "-keyout", directory + "/ca.key", "-out", caCertificatePath])
        try shell(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(listenAddress)",
                   "-keyout", directory + "/server.key", "-out", directory + "/server.csr"])
        try "subjectAltName=\(altNames)\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        try shell(["openssl", "x509", "-req", "-in", directory + "/server.csr", "-CA", caCertificatePath, "-CAkey", directory + "/ca.key",
                   "-CAcreateserial", "-days", "2", "-extfile", directory + "/san.ext", "-out", directory + "/server.crt"])
    }

    private func initialise(durable: Bool) throws {
        try (superuserPassword + "\n").write(toFile: directory + "/pwfile", atomically: true, encoding: .utf8)
        try shell(["chown", "-R", "postgres:postgres", directory])
        chmod(directory, 0o711)
        chmod(caCertificatePath, 0o644)
        chmod(directory + "/server.key", 0o600)
        try asPostgres(["\(Self.binDirectory)/initdb", "-D", directory + "/data", "-U", "postgres", "-A", "scram-sha-256",
                        "--pwfile=\(directory)/pwfile", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        let settings = """
            listen_addresses = '\(listenAddress)'
            port = \(port)
            unix_socket_directories = '\(directory)'
            ssl = on
            ssl_cert_file = '\(directory)/server.crt'
            ssl_key_file = '\(directory)/server.key'
            password_encryption = 'scram-sha-256'
            max_connections = 50
            log_connections = on
            \(durable ? "" : "fsync = off\nsynchronous_commit = off\nfull_page_writes = off")
            """
        try append(settings + "\n", to: directory + "/data/postgresql.conf")
        // TCP only over TLS: no plain `host` lines at all.
        try """
            local all all scram-sha-256
            hostssl all all 0.0.0.0/0 scram-sha-256
            hostssl all all ::/0 scram-sha-256

            """.write(toFile: directory + "/data/pg_hba.conf", atomically: true, encoding: .utf8)
        try shell(["chown", "postgres:postgres", directory + "/data/pg_hba.conf"])
    }

    /// Runs a server tool as `postgres`. Its output goes to a file, never to a pipe: the server
    /// that `pg_ctl start` leaves running would hold the pipe open, and reading it would never end.
    /// Through system(3), which waits for its own child: Foundation's Process missed the exit of
    /// runuser here and waited forever.
    private func asPostgres(_ command: [String]) throws {
        var full = ["runuser", "-u", "postgres", "--"] + command
        if let namespace { full = ["ip", "netns", "exec", namespace] + full }
        let outputPath = directory + "/tool.log"
        let quoted = full.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let status = system("exec \(quoted) < /dev/null > \(outputPath) 2>&1")
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TestFailure("\(full.joined(separator: " ")) exited with status \(status): \(text)\n\(log)")
        }
    }

    private func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
    }

    private static func freePort(on address: String) throws -> Int {
        for _ in 0..<50 {
            let candidate = Int.random(in: 20000...40000)
            let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(probe) }
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(UInt16(candidate).bigEndian)
            inet_pton(AF_INET, address, &socketAddress.sin_addr)
            let bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return candidate }
        }
        throw TestFailure("no free TCP port on \(address)")
    }
}
