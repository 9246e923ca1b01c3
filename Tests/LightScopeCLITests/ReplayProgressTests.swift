import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `lightscope replay` shows its progress on stderr when stderr is a terminal, and stays
/// silent otherwise.
final class ReplayProgressTests: XCTestCase {
    private func capture(packets: Int, startingAt first: Int = 0) -> Data {
        var writer = PcapWriter()
        for index in first..<(first + packets) {
            writer.add(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                              PacketBuilder.ipv4("203.0.113.\(index % 200)", "192.0.2.1", protocolNumber: 6,
                                                                 PacketBuilder.tcp(40000, UInt16(1 + index % 1000)))),
                       timeNanos: 1_700_000_000_000_000_000 + UInt64(index) * 1_000_000)
        }
        return writer.data
    }

    /// Read from a pipe that the test fills in two parts with a pause between them, under a
    /// pseudo-terminal (`script`), so that the replay is still reading when a progress line is due.
    func testATerminalSeesProgressWhileThePipeIsRead() throws {
        let fifo = NSTemporaryDirectory() + "lightscope-progress-\(UUID().uuidString).pcap"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        defer { unlink(fifo) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qfec", "\(DaemonProcess.binaryPath) replay \(fifo)", "/dev/null"]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let writer = try XCTUnwrap(FileHandle(forWritingAtPath: fifo))
        let whole = capture(packets: 2000)
        let split = 24 + 1000 * (16 + 54)
        try writer.write(contentsOf: whole.prefix(split))
        usleep(1_300_000)
        try writer.write(contentsOf: whole.dropFirst(split))
        try writer.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        // A pipe has no size: what was read so far (libpcap's first reads), and the rate of
        // the packets read by the engine's last timer run (the first 1000 span a second).
        XCTAssertTrue(text.contains("\rreplay: ") && text.contains(" KiB read, "), "no progress line in: \(text.debugDescription)")
        XCTAssertFalse(text.contains(" read, 0 packets/s"), text.debugDescription)
        XCTAssertTrue(text.contains(" packets/s\u{1B}[K"), text.debugDescription)
        XCTAssertTrue(text.contains("\r\u{1B}[KReplayed \(fifo): 2000 packets"), "the line is cleared before the summary: \(text.debugDescription)")
    }

    func testStderrThatIsNoTerminalStaysSilent() throws {
        let file = NSTemporaryDirectory() + "lightscope-progress-\(UUID().uuidString).pcap"
        try capture(packets: 2000).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        let result = try lightscope(["replay", file])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.errors, "")
        XCTAssertTrue(result.output.hasPrefix("Replayed \(file): 2000 packets"), result.output)
    }

    func testTheLine() {
        let gib: UInt64 = 1 << 30
        XCTAssertEqual(ReplayProgressLine.text(bytesRead: gib + gib / 2, totalBytes: 5 * gib, packets: 21_000_000, elapsedNanos: 10_000_000_000),
                       "replay: 1.5 GiB of 5.0 GiB (30%), 2.1M packets/s, 23s left")
        XCTAssertEqual(ReplayProgressLine.text(bytesRead: 512, totalBytes: nil, packets: 950, elapsedNanos: 1_000_000_000),
                       "replay: 512 B read, 950 packets/s")
        XCTAssertEqual(ReplayProgressLine.text(bytesRead: 0, totalBytes: 10 << 20, packets: 0, elapsedNanos: 0),
                       "replay: 0 B of 10.0 MiB (0%), 0 packets/s")
        XCTAssertEqual(ReplayProgressLine.text(bytesRead: 20 << 20, totalBytes: 10 << 20, packets: 85_000, elapsedNanos: 1_000_000_000),
                       "replay: 10.0 MiB of 10.0 MiB (100%), 85.0k packets/s, 0s left", "more read than the file holds (other reads) is capped")
    }
}
