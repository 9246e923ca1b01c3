#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper program (systemctl, journalctl, the admin's alert command) with
/// posix_spawn: no Foundation, no shell unless asked for.
public enum ChildProcess {
    /// Runs `arguments[0]` with the rest as its arguments, feeds `input` (small: it is written
    /// before the output is read) and returns the exit status and standard output (stderr goes
    /// to /dev/null); nil when the program could not be started.
    public static func run(_ arguments: [String], environment: [String: String]? = nil,
                           input: String? = nil) -> (status: Int32, output: String)? {
        var inputPipe: [Int32] = [-1, -1], outputPipe: [Int32] = [-1, -1]
        guard pipe(&inputPipe) == 0, pipe(&outputPipe) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        for fd in inputPipe + outputPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envStrings = (environment ?? [:]).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envStrings.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = environment == nil
            ? posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
            : posix_spawn(&pid, arguments[0], &actions, nil, argv, envStrings)
        close(inputPipe[0])
        close(outputPipe[1])
        guard spawned == 0 else {
            close(inputPipe[1])
            close(outputPipe[0])
            return nil
        }
        if let input {
            // A command that exits without reading its input (an alert command that ignores
            // it) must not kill this process with SIGPIPE: blocked around the write, and the
            // one the write raised is taken back before the mask is restored.
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            var previousMask = sigset_t()
            pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
            Array(input.utf8).withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(inputPipe[1], buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
            var pending = sigset_t()
            if sigpending(&pending) == 0, sigismember(&pending, SIGPIPE) == 1 {
                var noWait = timespec()
                _ = sigtimedwait(&pipeSignal, nil, &noWait)
            }
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        close(inputPipe[1])
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(outputPipe[0], &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            output.append(contentsOf: buffer[0..<count])
        }
        close(outputPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), String(decoding: output, as: UTF8.self))
    }

    /// The first executable `name` on PATH (or in the usual system directories).
    public static func find(_ name: String) -> String? {
        let path = ProcessEnvironment.current["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}
