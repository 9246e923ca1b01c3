import Foundation
@testable import LightScopeCapture
import LightScopeTestSupport
import XCTest

/// The capture-file reader, on pcap files the test writes: reading classic pcap records in
/// chunks must hand over exactly what libpcap's own reading does, on good files and bad.
final class PcapFileReaderTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lightscope-pcapfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private struct Seen: Equatable {
        var bytes: [UInt8]
        var wireLength: Int
        var timestampNanos: UInt64
    }

    private enum Reading { case lightScope, libpcapAlone }

    private func read(_ path: String, _ reading: Reading) throws -> (packets: [Seen], damage: String?) {
        let reader = try PcapFileReader(path: path)
        var packets: [Seen] = []
        let visit: PcapFileReader.PacketVisitor = { bytes, wireLength, timestamp in
            packets.append(Seen(bytes: Array(bytes), wireLength: wireLength, timestampNanos: timestamp))
        }
        let damage = reading == .lightScope ? reader.forEachPacket(visit) : reader.forEachPacketThroughLibpcap(visit)
        return (packets, damage)
    }

    /// The same file through `forEachPacket` (chunked records, libpcap for what they leave)
    /// and through libpcap alone: packets, lengths, times and the damage report must agree.
    @discardableResult
    private func assertSameAsLibpcap(_ path: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Seen] {
        let ours = try read(path, .lightScope)
        let libpcap = try read(path, .libpcapAlone)
        XCTAssertEqual(ours.packets.count, libpcap.packets.count, "packet count, \(context)", file: file, line: line)
        if let index = ours.packets.indices.first(where: { $0 < libpcap.packets.count && ours.packets[$0] != libpcap.packets[$0] }) {
            XCTFail("packet \(index) differs, \(context): ours \(ours.packets[index]), libpcap's \(libpcap.packets[index])",
                    file: file, line: line)
        }
        XCTAssertEqual(ours.damage, libpcap.damage, "damage report, \(context)", file: file, line: line)
        return ours.packets
    }

    /// A classic pcap file, byte by byte: either byte order, micro- or nanosecond times.
    private struct RawCapture {
        var bigEndian = false
        var nanosecond = false
        var snaplen: UInt32 = 262_144
        var bytes: [UInt8] = []

        init(bigEndian: Bool = false, nanosecond: Bool = false, snaplen: UInt32 = 262_144) {
            self.bigEndian = bigEndian
            self.nanosecond = nanosecond
            self.snaplen = snaplen
            put32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4)
            put16(2)
            put16(4)
            put32(0)
            put32(0)
            put32(snaplen)
            put32(1) // Ethernet
        }

        mutating func put32(_ value: UInt32) {
            let stored = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: stored) { bytes.append(contentsOf: $0) }
        }

        mutating func put16(_ value: UInt16) {
            let stored = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: stored) { bytes.append(contentsOf: $0) }
        }

        mutating func record(seconds: UInt32, fraction: UInt32, captured: [UInt8], capturedLength: UInt32? = nil, wireLength: UInt32? = nil) {
            put32(seconds)
            put32(fraction)
            put32(capturedLength ?? UInt32(captured.count))
            put32(wireLength ?? UInt32(captured.count))
            bytes.append(contentsOf: captured)
        }
    }

    private func write(_ bytes: [UInt8], name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Sizes from empty to near the 1 MiB chunk, so records straddle chunk boundaries.
    private func writeCapture(packets: Int, size: (Int) -> Int, truncateTo: Int? = nil) throws -> String {
        var writer = PcapWriter(snaplen: 262_144)
        for index in 0..<packets {
            let bytes = (0..<size(index)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            writer.add(bytes, timeNanos: 1_700_000_000_000_000_000 + UInt64(index) * 1000, capturedLength: bytes.count)
        }
        var data = writer.data
        if let truncateTo { data = data.prefix(truncateTo) }
        let url = directory.appendingPathComponent("capture-\(packets)-\(truncateTo ?? -1).pcap")
        try data.write(to: url)
        return url.path
    }

    func testChunkedReadingHandsOverWhatLibpcapDoesAcrossChunkBoundaries() throws {
        // Records of every small size, and some of 200,000 bytes that fill most of a chunk.
        let path = try writeCapture(packets: 20_000) { index in index % 5000 == 0 ? 200_000 : index % 97 }
        let packets = try assertSameAsLibpcap(path, "20,000 packets")
        XCTAssertEqual(packets.count, 20_000)
    }

    func testATruncatedFileIsReportedInLibpcapsWordsAfterEveryReadablePacket() throws {
        let whole = try writeCapture(packets: 100, size: { _ in 60 })
        let wholeSize = try FileManager.default.attributesOfItem(atPath: whole)[.size] as! Int
        // Cut inside the last packet, inside its record header, and exactly after a record.
        for cut in [wholeSize - 30, wholeSize - 76 + 8, wholeSize - 76, 24 + 3, 24] {
            let path = try writeCapture(packets: 100, size: { _ in 60 }, truncateTo: cut)
            try assertSameAsLibpcap(path, "cut at \(cut)")
        }
        let path = try writeCapture(packets: 100, size: { _ in 60 }, truncateTo: wholeSize - 30)
        let cut = try read(path, .lightScope)
        XCTAssertEqual(cut.packets.count, 99)
        XCTAssertNotNil(cut.damage, "a truncated record is damage")
    }

    func testOtherByteOrderNanosecondAndNegativeTimesReadAsLibpcapReadsThem() throws {
        for (bigEndian, nanosecond) in [(true, false), (false, true), (true, true), (false, false)] {
            var capture = RawCapture(bigEndian: bigEndian, nanosecond: nanosecond)
            capture.record(seconds: 1_700_000_000, fraction: 999_999_999, captured: [1, 2, 3])
            capture.record(seconds: 1_700_000_001, fraction: 1_234, captured: [4, 5], wireLength: 1500)
            capture.record(seconds: 0xFFFF_FFF0, fraction: 0xFFFF_FF00, captured: [6]) // negative as libpcap reads them
            capture.record(seconds: 5, fraction: 0, captured: [])
            let path = try write(capture.bytes, name: "order-\(bigEndian)-\(nanosecond).pcap")
            let packets = try assertSameAsLibpcap(path, "bigEndian \(bigEndian), nanosecond \(nanosecond)")
            XCTAssertEqual(packets.count, 4)
            // libpcap's default precision: a nanosecond fraction is cut to whole microseconds.
            XCTAssertEqual(packets.first?.timestampNanos,
                           nanosecond ? 1_700_000_000_999_999_000 : 1_700_000_000_000_000_000 + 999_999_999_000)
        }
    }

    func testRecordsLongerThanTheSnapshotLengthAreLeftToLibpcap() throws {
        var capture = RawCapture(snaplen: 100)
        capture.record(seconds: 1, fraction: 0, captured: Array(repeating: 7, count: 80))
        capture.record(seconds: 2, fraction: 0, captured: Array(repeating: 8, count: 150)) // above the snapshot length
        capture.record(seconds: 3, fraction: 0, captured: Array(repeating: 9, count: 40))
        try assertSameAsLibpcap(try write(capture.bytes, name: "long.pcap"), "a record above the snapshot length")
        var huge = RawCapture()
        huge.record(seconds: 1, fraction: 0, captured: [1, 2, 3])
        huge.record(seconds: 2, fraction: 0, captured: [], capturedLength: 0x7FFF_0000) // far above any limit
        try assertSameAsLibpcap(try write(huge.bytes, name: "huge.pcap"), "an impossible captured length")
    }

    /// Random records, then random damage to their headers and a random cut: whatever the
    /// bytes, the two readings agree. Each round has its own seed, named when it fails.
    func testRandomlyDamagedFilesReadAsLibpcapReadsThem() throws {
        for round in 0..<150 {
            var random = SplitMix64(seed: UInt64(round))
            var capture = RawCapture(bigEndian: round % 3 == 0, nanosecond: round % 4 == 0, snaplen: round % 2 == 0 ? 262_144 : 96)
            var recordStarts: [Int] = []
            for _ in 0..<Int.random(in: 0...40, using: &random) {
                recordStarts.append(capture.bytes.count)
                let size = Int.random(in: 0...120, using: &random)
                capture.record(seconds: UInt32.random(in: 0...UInt32.max, using: &random), fraction: UInt32.random(in: 0...2_000_000_000, using: &random),
                               captured: (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) },
                               wireLength: UInt32(size) + UInt32.random(in: 0...3, using: &random))
            }
            var bytes = capture.bytes
            for _ in 0..<Int.random(in: 0...3, using: &random) where !recordStarts.isEmpty {
                // Damage a record header: its lengths or times.
                let at = recordStarts.randomElement(using: &random)! + Int.random(in: 0..<16, using: &random)
                bytes[at] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes = Array(bytes.prefix(Int.random(in: 24...bytes.count, using: &random))) }
            try assertSameAsLibpcap(try write(bytes, name: "random-\(round).pcap"), "round \(round)")
        }
    }

    func testEmptyCaptureEndsCleanly() throws {
        let path = try writeCapture(packets: 0, size: { _ in 0 })
        let empty = try read(path, .lightScope)
        XCTAssertEqual(empty.packets.count, 0)
        XCTAssertNil(empty.damage)
    }
}
