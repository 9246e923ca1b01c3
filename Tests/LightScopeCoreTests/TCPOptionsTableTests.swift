@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// Pending probes keep their TCP options once per distinct set: what an event shows must be
/// what the SYN carried, sets must be shared, and a table full of sets in use must say so.
final class TCPOptionsTableTests: XCTestCase {
    private func options(_ bytes: [UInt8], cutShort: Bool = false) -> TCPOptions {
        bytes.withUnsafeBytes { TCPOptions(bytes: $0, cutShort: cutShort) }
    }

    private let linuxSYN: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7]

    /// The shown form gives the same fingerprint as the options themselves, on every shape of
    /// options (well formed, ended early, malformed, cut short) and on random bytes.
    func testTheShownFormHasTheFingerprintOfTheOptions() {
        var cases: [TCPOptions] = [
            options(linuxSYN), options([]), options([], cutShort: true), options([3, 3, 2, 0, 2, 4, 5, 0xB4]),
            options([30, 4, 9, 9, 5, 3, 7, 2, 4, 2, 24]), options([2, 3, 5, 1, 3, 4, 7, 7]), options([2, 4, 5, 0xB4], cutShort: true),
            options([8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 9, 9]), options([2]), options([2, 1, 7, 7]), options([8, 12, 1, 2, 3]),
        ]
        var random = SplitMix64(seed: 17)
        for _ in 0..<5000 {
            // Mostly known kinds and plausible lengths, so that walks go deep.
            let count = Int(random.next() % 41)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 3 == 0 ? random.next() : random.next() % 12) }
            cases.append(options(bytes, cutShort: random.next() % 4 == 0))
        }
        for original in cases {
            let shown = TCPOptionsFingerprint.shownForm(of: original)
            XCTAssertEqual(shown.fingerprint, original.fingerprint, "\(original.fingerprint)")
            XCTAssertEqual(TCPOptionsFingerprint.shownForm(of: shown), shown, "the shown form of a shown form is itself")
        }
        // What the fingerprint hides is gone: two SYNs that differ only in their timestamps share a form.
        var other = linuxSYN
        other[10] = 0x99
        XCTAssertNotEqual(options(other), options(linuxSYN))
        XCTAssertEqual(TCPOptionsFingerprint.shownForm(of: options(other)), TCPOptionsFingerprint.shownForm(of: options(linuxSYN)))
    }

    func testProbesShareASetAndAnUnusedSetIsReused() {
        var table = TCPOptionsTable(maximumCapacity: 2, pool: .unlimited())
        var stamped = linuxSYN
        let first = table.retain(options(linuxSYN))
        stamped[11] = 0x3A
        XCTAssertEqual(table.retain(options(stamped)), first, "another timestamp, the same set")
        let mss536 = table.retain(options([2, 4, 2, 24]))
        XCTAssertNotEqual(mss536, first)
        XCTAssertEqual(table.options(first).fingerprint, "M1460,S,T,N,W7")
        XCTAssertEqual(table.options(mss536).fingerprint, "M536")
        // Both entries in use: a third set keeps nothing, and says so.
        let third = table.retain(options([3, 3, 9]))
        XCTAssertEqual(third, TCPOptionsTable.notKept)
        XCTAssertEqual(table.options(third).fingerprint, "?")
        XCTAssertEqual(table.notKeptCount, 1)
        table.release(third)
        // Once no probe refers to the MSS 536 set, its entry is reused for the next new set.
        table.release(mss536)
        let reused = table.retain(options([3, 3, 9]))
        XCTAssertEqual(reused, mss536)
        XCTAssertEqual(table.options(reused).fingerprint, "W9")
        // The Linux set is still referred to twice; released once, it stays.
        table.release(first)
        XCTAssertEqual(table.retain(options([2, 4, 1, 1])), TCPOptionsTable.notKept, "every entry is still in use")
        table.release(first)
        XCTAssertEqual(table.retain(options([2, 4, 1, 1])), first)
        XCTAssertEqual(table.options(first).fingerprint, "M257")
    }

    /// The table starts small and grows while every entry is in use and its pool has room.
    func testTheTableGrowsWithinItsPool() {
        let pool = TableBytePool(limitBytes: TCPOptionsTable.bytes(capacity: 512))
        var table = TCPOptionsTable(maximumCapacity: 4096, pool: pool)
        XCTAssertEqual(table.capacity, TCPOptionsTable.initialCapacity)
        // A thousand sets, each with its own MSS, all pending at once.
        let ids = (0..<1000).map { table.retain(options([2, 4, UInt8($0 >> 8), UInt8($0 & 0xFF)])) }
        XCTAssertEqual(table.capacity, 512, "doubled once, then the pool was spent")
        XCTAssertEqual(ids.filter { $0 != TCPOptionsTable.notKept }.count, 512)
        XCTAssertEqual(table.notKeptCount, 488)
        XCTAssertEqual(table.options(ids[300]).fingerprint, "M300")
        XCTAssertEqual(pool.reservedBytes, table.reservedBytes)
        XCTAssertLessThanOrEqual(pool.reservedBytes, pool.limitBytes)
    }
}
