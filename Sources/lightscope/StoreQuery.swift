import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeStore
import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// The options every store-reading command shares, and the read-only opening of the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("State directory holding events.sqlite; default: $STATE_DIRECTORY or /var/lib/lightscope.", valueName: "dir"), completion: .directory)
    var stateDir: String?

    var directory: String { StateDirectory.resolve(explicit: stateDir, environment: ProcessEnvironment.current) }

    /// Opens the store read-only; a missing or unreadable store ends the command with a line that says why.
    func open() throws -> EventStore {
        let path = directory + "/" + EventStore.fileName
        // Opened once for reading first, so that "missing" and "not for you" each get their own
        // words instead of SQLite's "unable to open database file".
        let probe = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if probe >= 0 { close(probe) } else {
            let reason = errno
            if reason == ENOENT {
                printError("error: no event store at \(path): the daemon creates it when it first starts (systemctl start lightscope); for another state directory use --state-dir")
            } else {
                let why = ReadAccess.isDenied(reason) ? ReadAccess.permissionDenied : String(cString: strerror(reason))
                printError("error: cannot read the event store \(path): \(why)")
            }
            throw ExitCode.failure
        }
        do {
            return try EventStore(path: path, readOnly: true)
        } catch {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
    }
}

/// A `--since` window: a duration back from now, parsed as the config file's durations are.
struct SinceWindow {
    let text: String
    let duration: Duration

    init?(_ text: String) {
        guard let duration = DurationText.parse(text), duration > .zero else { return nil }
        self.text = text
        self.duration = duration
    }

    static func validate(_ text: String) throws {
        guard SinceWindow(text) != nil else {
            throw ValidationError("'\(text)' is not a duration; use e.g. 30m, 1h, 24h or 7d")
        }
    }

    /// Nanoseconds since the epoch at the start of the window.
    var startNanos: UInt64 {
        let nowNanos = WallClock.nowNanos()
        let back = UInt64(clamping: duration.nanoseconds)
        return nowNanos > back ? nowNanos - back : 0
    }
}
