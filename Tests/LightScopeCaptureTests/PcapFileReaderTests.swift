import Foundation
@testable import LightScopeCapture
import LightScopeTestSupport
import XCTest

/// The capture-file reader, on pcap files the test writes: reading ahead on a thread of its
/// own must hand over exactly what reading in place does, in order, across batch boundaries.
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

    private func read(_ path: String, ahead: Bool) throws -> (packets: [Seen], damage: String?) {
        let reader = try PcapFileReader(path: path)
        var packets: [Seen] = []
        let visit: PcapFileReader.PacketVisitor = { bytes, wireLength, timestamp in
            packets.append(Seen(bytes: Array(bytes), wireLength: wireLength, timestampNanos: timestamp))
        }
        let damage = ahead ? reader.forEachPacketReadingAhead(visit) : reader.forEachPacket(visit)
        return (packets, damage)
    }

    /// Sizes from empty to near the 1 MiB batch, so batches fill by packet count and by bytes.
    private func writeCapture(packets: Int, size: (Int) -> Int, truncateTo: Int? = nil) throws -> String {
        var writer = PcapWriter(snaplen: 262_144)
        for index in 0..<packets {
            let bytes = (0..<size(index)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            writer.add(bytes, timeNanos: 1_700_000_000_000_000_000 + UInt64(index) * 1000, capturedLength: bytes.count)
        }
        var data = writer.data
        if let truncateTo { data = data.prefix(truncateTo) }
        let url = directory.appendingPathComponent("capture-\(packets).pcap")
        try data.write(to: url)
        return url.path
    }

    func testReadingAheadHandsOverTheSamePacketsInOrderAcrossManyBatches() throws {
        // More packets than one batch holds (8,192), with some large enough to fill one by bytes.
        let path = try writeCapture(packets: 20_000) { index in index % 5000 == 0 ? 200_000 : index % 97 }
        let inPlace = try read(path, ahead: false)
        let ahead = try read(path, ahead: true)
        XCTAssertEqual(inPlace.packets.count, 20_000)
        XCTAssertNil(inPlace.damage)
        XCTAssertNil(ahead.damage)
        XCTAssertEqual(ahead.packets.count, inPlace.packets.count)
        XCTAssertTrue(ahead.packets == inPlace.packets, "the read-ahead copy changed bytes, lengths, times or order")
    }

    func testReadingAheadReportsDamageAfterEveryReadablePacket() throws {
        let whole = try writeCapture(packets: 100, size: { _ in 60 })
        let wholeSize = try FileManager.default.attributesOfItem(atPath: whole)[.size] as! Int
        // Cut the last record in half: 99 packets are readable, then the file is damaged.
        let path = try writeCapture(packets: 100, size: { _ in 60 }, truncateTo: wholeSize - 30)
        let inPlace = try read(path, ahead: false)
        let ahead = try read(path, ahead: true)
        XCTAssertEqual(inPlace.packets.count, 99)
        XCTAssertNotNil(inPlace.damage, "libpcap reports a truncated record")
        XCTAssertEqual(ahead.packets, inPlace.packets)
        XCTAssertEqual(ahead.damage, inPlace.damage)
    }

    func testEmptyCaptureEndsCleanly() throws {
        let path = try writeCapture(packets: 0, size: { _ in 0 })
        let ahead = try read(path, ahead: true)
        XCTAssertEqual(ahead.packets.count, 0)
        XCTAssertNil(ahead.damage)
    }
}
