@testable import LightScopeCore
import XCTest

/// Probes past their timeout when the sink has no room: they wait in the table, overdue, and
/// are reported as room comes, oldest first, with the verdicts they would have had.
final class ReportAllowanceTests: EngineTestCase {
    func testATimerRunReportsNoMoreThanItsAllowanceAndKeepsTheRestPending() {
        let engine = makeEngine()
        for index in 0..<30 {
            feed(engine, tcp(remote, UInt16(1024 + index), local, 23, .syn), at: second + UInt64(index))
        }
        engine.allowReports(10)
        engine.advance(toNanos: 20 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.sourcePort), (1024..<1034).map { UInt16($0) }, "the ten oldest")
        XCTAssertEqual(engine.state.pendingProbes, 20)
        engine.advance(toNanos: 21 * second) { events.append($0) }
        XCTAssertEqual(events.count, 10, "the allowance is spent until the caller renews it")
        engine.allowReports(100)
        engine.advance(toNanos: 22 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.sourcePort), (1024..<1054).map { UInt16($0) })
        XCTAssertTrue(events.allSatisfy { $0.verdict == .unanswered && $0.timeNanos < 2 * second })
        XCTAssertEqual(engine.state.pendingProbes, 0)
    }

    /// An answer to an overdue probe is too late: its verdict stays `unanswered`, as if it had
    /// been reported on time. A probe still within its time is closed by its RST as ever.
    func testAnAnswerToAnOverdueProbeDoesNotChangeItsVerdict() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 23, .syn), at: second)
        feed(engine, tcp(remote, 40001, local, 8443, .syn), at: second)
        engine.allowReports(0)
        engine.advance(toNanos: 12 * second) { events.append($0) }
        XCTAssertEqual(events, [])
        feed(engine, tcp(remote, 40002, local, 25, .syn), at: 12 * second)
        feed(engine, tcp(local, 23, remote, 40000, [.rst, .ack]), at: 12 * second + 1)
        feed(engine, tcp(local, 8443, remote, 40001, [.syn, .ack]), at: 12 * second + 2)
        feed(engine, tcp(local, 25, remote, 40002, [.rst, .ack]), at: 12 * second + 3)
        XCTAssertEqual(events.map(\.verdict), [.unanswered, .unanswered, .closed])
        XCTAssertEqual(events.map(\.destinationPort), [23, 8443, 25])
        XCTAssertEqual(engine.state.pendingProbes, 0)
    }

    /// With no limit set, nothing changes: every probe due is reported by the timer run.
    func testWithoutAnAllowanceEveryDueProbeIsReported() {
        let engine = makeEngine()
        let probes = 2 * DetectionCore.expiryChunk + 5
        for index in 0..<probes {
            feed(engine, tcp(IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), 40000, local, 23, .syn), at: second)
        }
        engine.advance(toNanos: 12 * second) { events.append($0) }
        XCTAssertEqual(events.filter { $0.verdict == .unanswered }.count, probes)
        XCTAssertEqual(engine.state.pendingProbes, 0)
    }
}
