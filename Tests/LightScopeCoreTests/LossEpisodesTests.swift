import LightScopeCore
import XCTest

final class LossEpisodesTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    func testOneLineWhenLossesBeginAndOneWhenTheyHaveStopped() {
        var episodes = LossEpisodes()
        let quiet = UInt64(LossEpisodes.quietPeriod.nanoseconds)
        XCTAssertEqual(episodes.observe(["queue": 0], atNanos: 0), [])
        XCTAssertEqual(episodes.observe(["queue": 10], atNanos: 1 * second), [.began("queue", lost: 10)])
        // Growing on: nothing more to say.
        XCTAssertEqual(episodes.observe(["queue": 500], atNanos: 2 * second), [])
        XCTAssertEqual(episodes.observe(["queue": 900], atNanos: 5 * second), [])
        XCTAssertEqual(episodes.observe(["queue": 900], atNanos: 5 * second + quiet - 1), [])
        XCTAssertEqual(episodes.observe(["queue": 900], atNanos: 5 * second + quiet),
                       [.ended("queue", lost: 900, lastingNanos: 4 * second)])
        // A new episode counts from where the last one ended.
        XCTAssertEqual(episodes.observe(["queue": 950], atNanos: 100 * second), [.began("queue", lost: 50)])
        XCTAssertEqual(episodes.observe(["queue": 950], atNanos: 100 * second + quiet),
                       [.ended("queue", lost: 50, lastingNanos: 0)])
    }

    func testEachCounterHasItsOwnEpisodes() {
        var episodes = LossEpisodes()
        XCTAssertEqual(episodes.observe(["eviction": 3, "queue": 0], atNanos: 0), [.began("eviction", lost: 3)])
        XCTAssertEqual(episodes.observe(["eviction": 4, "queue": 7], atNanos: second), [.began("queue", lost: 7)])
    }
}
