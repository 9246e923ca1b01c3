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
    // The live half (a real journald reading MESSAGE_ID and the fields back) runs in the
    // real-systemd system tests (Tests/system), where journald exists; PID 1 here is not systemd.
}
