import Foundation
import LightScopeCore
import LightScopeStore
import XCTest

final class JournalSinkTests: XCTestCase {
    func testIOVecsCarryEveryFieldExactly() {
        let fields = JournalFields.fields(for: EventRecord(Sample.event(1)))
        let seen: [String] = JournalSink.withIOVecs(fields) { iovecs in
            iovecs.map { vector in
                String(decoding: UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len), as: UTF8.self)
            }
        }
        XCTAssertEqual(seen, fields)
        XCTAssertTrue(seen.contains("MESSAGE_ID=\(JournalFields.messageID)"))
        XCTAssertTrue(seen.contains("LIGHTSCOPE_VERDICT=unanswered"))
        XCTAssertTrue(seen.contains("LIGHTSCOPE_SRC=203.0.113.1"))
    }

    func testWithoutAJournalTheLineGoesToStderr() {
        let sink = JournalSink(destination: .standardError)
        XCTAssertTrue(sink.send(EventRecord(Sample.event(1))))
    }

    /// The live half needs a running journald. In this project's sandbox PID 1 is not systemd and
    /// no journald listens on /run/systemd/journal/socket, so it is skipped there; on a systemd
    /// host it sends a real entry and reads it back with journalctl.
    func testLiveEntryIsFoundByMessageIDAndFields() throws {
        guard JournalSink.detectDestination() == .journal else {
            throw XCTSkip("no journald listening on \(JournalSink.socketPath) (PID 1 is not systemd here); the iovec test covers what would be sent")
        }
        var event = Sample.event(1)
        event.interface = "lst\(getpid() % 100_000)"
        XCTAssertTrue(JournalSink(destination: .journal).send(EventRecord(event)))
        var output = ""
        for _ in 0..<30 where !output.contains("LIGHTSCOPE_INTERFACE") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
            process.arguments = ["--no-pager", "-o", "json", "MESSAGE_ID=\(JournalFields.messageID)", "LIGHTSCOPE_INTERFACE=\(event.interface)"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            if !output.contains("LIGHTSCOPE_INTERFACE") { usleep(100_000) }
        }
        XCTAssertTrue(output.contains("\"LIGHTSCOPE_VERDICT\":\"unanswered\""), output)
        XCTAssertTrue(output.contains("\"PRIORITY\":\"5\""), output)
        XCTAssertTrue(output.contains("\"SYSLOG_IDENTIFIER\":\"lightscope\""), output)
    }
}
