import LightScopeCore
@testable import LightScopeReplay
import LightScopeSystem
import XCTest

final class HandoffQueueTests: XCTestCase {
    func testItemsArriveInOrderAcrossThreadsAndThePutterWaitsWhileFull() {
        let queue = HandoffQueue<Int>(capacity: 2)
        let producer = DedicatedThread()
        let count = 10_000
        producer.start(name: "handoff-test") {
            for value in 0..<count { queue.put(value) }
            queue.close()
        }
        var received: [Int] = []
        while let value = queue.take() { received.append(value) }
        producer.join()
        XCTAssertEqual(received, Array(0..<count))
    }

    func testCloseEndsTakersAfterWhatIsLeftAndRefusesPuts() {
        let queue = HandoffQueue<String>(capacity: 4)
        XCTAssertTrue(queue.put("a"))
        XCTAssertTrue(queue.put("b"))
        queue.close()
        XCTAssertFalse(queue.put("c"), "a put after close is refused")
        XCTAssertEqual(queue.take(), "a")
        XCTAssertEqual(queue.take(), "b")
        XCTAssertNil(queue.take())
    }

    func testATakerWaitingOnAnEmptyQueueWakesOnClose() {
        let queue = HandoffQueue<Int>(capacity: 1)
        let taker = DedicatedThread()
        let result = LockedBox()
        taker.start(name: "handoff-taker") { result.set(queue.take()) }
        usleep(50_000) // let it block; correctness does not depend on it having started
        queue.close()
        taker.join()
        XCTAssertTrue(result.isSet)
        XCTAssertNil(result.value)
    }
}

/// Written by the taker thread, read after `join` (pthread_join orders the two).
private final class LockedBox: @unchecked Sendable {
    private(set) var isSet = false
    private(set) var value: Int?
    func set(_ newValue: Int?) {
        value = newValue
        isSet = true
    }
}
