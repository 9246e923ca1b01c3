import Foundation

/// Runs a command and returns its exit status and output; for test set-up (ip, python3).
@discardableResult
public func shell(_ arguments: [String], allowFailure: Bool = false) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    if process.terminationStatus != 0 && !allowFailure {
        throw TestFailure("\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(output)")
    }
    return (process.terminationStatus, output)
}

public func requireRoot() throws {
    guard getuid() == 0 else {
        throw TestFailure("this test creates network namespaces and needs root: run the tests with sudo (scripts/test.sh)")
    }
}
