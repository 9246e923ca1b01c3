import XCTest
@testable import LightScopeCore

final class OffloadedConsumerTests: XCTestCase {
    /// What the consumer thread saw; read only after `finish`.
    private final class Seen: @unchecked Sendable {
        var values: [Int] = []
        var threads = Set<UInt>()
    }

    func testEveryElementIsConsumedInOrderOnAnotherThreadBeforeFinishReturns() {
        let seen = Seen()
        var consumer = OffloadedConsumer<Int>(name: "test-consumer", batchSize: 7, batchesInFlight: 2, consumeBatch: { batch in
            seen.values.append(contentsOf: batch)
            seen.threads.insert(UInt(pthread_self()))
        })
        // Many more elements than batches in flight: the producer waits for emptied batches.
        for value in 0..<10_000 { consumer.send(value) }
        consumer.finish()
        XCTAssertEqual(seen.values, Array(0..<10_000))
        XCTAssertEqual(seen.threads.count, 1)
        XCTAssertFalse(seen.threads.contains(UInt(pthread_self())), "consumed on the consumer's own thread")
    }

    func testFinishWithNothingSentEndsTheThread() {
        let seen = Seen()
        var consumer = OffloadedConsumer<String>(name: "test-consumer", batchSize: 4, batchesInFlight: 3, consumeBatch: { _ in
            seen.values.append(1)
        })
        consumer.finish()
        XCTAssertEqual(seen.values, [])
    }

    /// A partly filled last batch is handed over by `finish`, not lost.
    func testALastPartialBatchIsConsumed() {
        let seen = Seen()
        var consumer = OffloadedConsumer<Int>(name: "test-consumer", batchSize: 100, batchesInFlight: 2, consumeBatch: { batch in
            seen.values.append(contentsOf: batch)
        })
        for value in 0..<150 { consumer.send(value) }
        consumer.finish()
        XCTAssertEqual(seen.values, Array(0..<150))
    }

    func testBatchesArriveWholeInOrderAndNoLargerThanTheBatchSize() {
        let seen = Seen()
        var sizes: [Int] = []
        var consumer = OffloadedConsumer<Int>(name: "test-consumer", batchSize: 64, batchesInFlight: 3, consumeBatch: { batch in
            sizes.append(batch.count)
            seen.values.append(contentsOf: batch)
        })
        for value in 0..<1_000 { consumer.send(value) }
        consumer.finish()
        XCTAssertEqual(seen.values, Array(0..<1_000))
        XCTAssertEqual(sizes, Array(repeating: 64, count: 15) + [40], "full batches, then what finish handed over")
    }
}
