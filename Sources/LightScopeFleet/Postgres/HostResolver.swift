import LightScopeCore
import LightScopeSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Resolves the collector's host names off the calling loop. libpq resolves a `host` with a
/// blocking getaddrinfo, which would hold the shipper for as long as DNS takes (forever, when
/// the unit's IPAddressDeny= blocks a remote DNS server). Here the lookup runs on a thread of its
/// own and the loop waits for it like for a socket, beating; a lookup that outlives its deadline
/// is abandoned (its thread finishes on its own) and reported.
enum HostResolver {
    /// True for what needs no lookup: an IPv4 or IPv6 literal, or a Unix socket directory.
    static func isLiteral(_ host: String) -> Bool {
        if host.hasPrefix("/") || host.hasPrefix("@") { return true }
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }

    /// The first address of each name, as text, in order; "" for a socket directory (libpq's
    /// "no hostaddr for this host").
    static func resolve(_ names: [String], deadlineNanos: UInt64, waiter: SocketWaiter) throws(PostgresError) -> [String] {
        let done = WakePipe()
        let outcome = Mutex<Result<[String], PostgresError>?>(nil)
        DedicatedThread().start(name: "ls-resolve") {
            let result = Result<[String], PostgresError> { () throws(PostgresError) -> [String] in 
                try names.map { name throws(PostgresError) in name.hasPrefix("/") || name.hasPrefix("@") ? "" : try lookUp(name) }
            }
            outcome.withLock { $0 = result }
            done.wake()
        }
        while true {
            if let result = outcome.withLock({ $0 }) { return try result.get() }
            do {
                _ = try waiter.wait(for: done.readEnd, events: Int16(POLLIN), deadlineNanos: deadlineNanos)
            } catch where error.kind == .timeout {
                throw PostgresError(.connection, "looking up \(names.joined(separator: ", ")) took too long: give the collector's address as hostaddr in [fleet] url, add it to /etc/hosts, or allow the DNS server in the unit (lightscope fleet dropin)")
            }
        }
    }

    /// One blocking getaddrinfo; runs on the lookup thread only.
    static func lookUp(_ name: String) throws(PostgresError) -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        guard status == 0, let first = list, let address = first.pointee.ai_addr else {
            throw PostgresError(.connection, "cannot resolve the collector's host name \(name): \(String(cString: gai_strerror(status)))")
        }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(address, first.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else {
            throw PostgresError(.connection, "cannot print the address of \(name)")
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
