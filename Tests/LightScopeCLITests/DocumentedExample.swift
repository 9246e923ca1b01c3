import Foundation
import LightScopeTestSupport
import XCTest

/// The repository's root, where the documents and Tests/examples/examples.py are.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Runs Tests/examples/examples.py with `arguments`; the binary under test is the first
/// `lightscope` on PATH, so a documented `lightscope ...` runs it.
func examplesTool(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CLIResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [repositoryRoot + "/Tests/examples/examples.py"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["STATE_DIRECTORY"] = nil
    let binaryDirectory = URL(fileURLWithPath: DaemonProcess.binaryPath).deletingLastPathComponent().path
    environment["PATH"] = binaryDirectory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment.merge(extra) { $1 }
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLIResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self), errors: "")
}

/// Runs the documents' example `id` exactly as written (in `directory`), and fails the test
/// when a command of it fails or prints other than the document shows.
@discardableResult
func runDocumentedExample(_ id: String, in directory: String, environment: [String: String] = [:],
                          file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
    let result = try examplesTool(["run", id, "--cd", directory], environment: environment)
    XCTAssertEqual(result.status, 0, "example \(id):\n\(result.output)", file: file, line: line)
    return result
}
