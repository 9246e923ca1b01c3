@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// The reassembler fed real frame bytes through the decoder, as the capture loop and replay
/// feed it: fragmented SYNs as `nmap -f` (8-byte pieces) and `-ff` (16) send them, out of
/// order, overlapping, duplicated, late, and by the thousand.
final class FragmentReassemblerTests: XCTestCase {
    private typealias P = PacketBuilder
    private let scanner = "203.0.113.9"
    private let host = "192.0.2.1"
    private let second: UInt64 = 1_000_000_000
    /// A Linux SYN: a 40-byte header (20 bytes of options).
    private let syn = P.tcp(51000, 22, flags: 0x02, options: P.linuxSYNOptionBytes)

    /// Decodes each frame and hands its piece to the reassembler; the packets it gives back.
    /// Fragments past the largest header are no pieces, and skipped as the capture loop skips them.
    private func feed(_ frames: [[UInt8]], to reassembler: inout FragmentReassembler, at time: UInt64 = 0,
                      file: StaticString = #filePath, line: UInt = #line) throws -> [DecodedPacket] {
        var whole: [DecodedPacket] = []
        for frame in frames {
            let packet = try XCTUnwrap(decoded(frame), file: file, line: line)
            guard case .tcpFragment(let piece) = packet.transport else {
                XCTAssertEqual(packet.transport, .other(protocolNumber: 6), file: file, line: line)
                continue
            }
            let result = try frame.withUnsafeBytes { bytes throws(DecodeRejection) in
                try reassembler.add(piece, of: packet, bytes: bytes, timeNanos: time)
            }
            if let result { whole.append(result) }
        }
        return whole
    }

    /// The same segment sent whole, as nmap sends it without `-f`: without the don't-fragment
    /// bit, which a fragmented datagram cannot have had either.
    private func unfragmented(_ segment: [UInt8], ipv6: Bool = false) -> DecodedPacket? {
        ipv6 ? decoded(P.ethernet(P.etherTypeIPv6, P.ipv6("2001:db8::9", "2001:db8::1", hopLimit: 50, nextHeader: 6, segment)))
             : decoded(P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, ttl: 50, protocolNumber: 6, flagsAndOffset: 0, segment)))
    }

    func testNmapTinyFragmentsGiveTheSYNTheUnfragmentedPacketWouldGive() throws {
        for (pieceBytes, ipv6) in [(8, false), (16, false), (8, true), (16, true)] {
            var reassembler = FragmentReassembler(capacity: 16)
            let (source, destination) = ipv6 ? ("2001:db8::9", "2001:db8::1") : (scanner, host)
            let frames = P.fragmented(syn, pieceBytes: pieceBytes, ipv6: ipv6, source: source, destination: destination, ttl: 50)
            let packets = try feed(frames, to: &reassembler)
            let context = "\(pieceBytes)-byte pieces, \(ipv6 ? "IPv6" : "IPv4")"
            XCTAssertEqual(packets.count, 1, context)
            var expected = try XCTUnwrap(unfragmented(syn, ipv6: ipv6))
            expected.fragment = .reassembled
            expected.hasExtensionHeaders = ipv6
            XCTAssertEqual(packets.first, expected, context)
            XCTAssertEqual(packets.first?.tcp?.options.fingerprint, "M1460,S,T,N,W7", context)
            XCTAssertEqual(reassembler.counters.reassembled, 1, context)
            XCTAssertEqual(reassembler.count, 0, "a finished datagram is forgotten: \(context)")
        }
    }

    func testPiecesInAnyOrderGiveTheSameHeaderOnceTheLastArrives() throws {
        let frames = P.fragmented(syn, pieceBytes: 8, source: scanner, destination: host, ttl: 50)
        var random = SplitMix64(seed: 17)
        var expected = try XCTUnwrap(unfragmented(syn))
        expected.fragment = .reassembled
        for round in 0..<50 {
            var order = Array(frames.indices)
            for index in order.indices.reversed() { order.swapAt(index, random.next(below: index + 1)) }
            var reassembler = FragmentReassembler(capacity: 16)
            var packets: [DecodedPacket] = []
            for (step, index) in order.enumerated() {
                packets += try feed([frames[index]], to: &reassembler)
                XCTAssertEqual(packets.count, step == order.count - 1 ? 1 : 0, "round \(round), order \(order)")
            }
            XCTAssertEqual(packets.first, expected, "round \(round), order \(order)")
        }
    }

    func testABareTwentyByteHeaderAndTheDataAfterIt() throws {
        // No options: the header ends at byte 20, inside the third piece; the data after it
        // (whose pieces start past the largest header) is never looked at.
        let segment = P.tcp(40000, 443, flags: 0x02, payload: [UInt8](repeating: 0xAB, count: 200))
        var reassembler = FragmentReassembler(capacity: 16)
        let packets = try feed(P.fragmented(segment, pieceBytes: 8, source: scanner, destination: host), to: &reassembler)
        XCTAssertEqual(packets.map { $0.tcp?.destinationPort }, [443])
        XCTAssertEqual(packets.first?.tcp?.flags, .syn)
        // Pieces at offsets 24 to 56 came after the header was done: they begin a datagram of
        // their own, which never completes and is dropped in time.
        XCTAssertEqual(reassembler.count, 1)
        reassembler.expire(toNanos: 31 * second)
        XCTAssertEqual(reassembler.count, 0)
        XCTAssertEqual(reassembler.counters.expired, 1)
    }

    func testAHeaderThatDoesNotDecodeIsRejectedAsTheDecoderWould() throws {
        var reassembler = FragmentReassembler(capacity: 16)
        let cut = Array(syn.prefix(16)) // the datagram ends before the 20 bytes every header has
        XCTAssertThrowsError(try feed(P.fragmented(cut, pieceBytes: 8, source: scanner, destination: host), to: &reassembler)) {
            XCTAssertEqual($0 as? DecodeRejection, .truncatedTCPHeader)
        }
        let badOffset = P.tcp(1, 2, flags: 0x02, dataOffsetWords: 3)
        XCTAssertThrowsError(try feed(P.fragmented(badOffset, pieceBytes: 8, source: scanner, destination: host), to: &reassembler)) {
            XCTAssertEqual($0 as? DecodeRejection, .badTCPDataOffset)
        }
        XCTAssertEqual(reassembler.count, 0)
        XCTAssertEqual(reassembler.counters.reassembled, 0)
    }

    func testOverlappingPiecesDropTheDatagramAsTheKernelDoes() throws {
        // The evasion overlap is for: the flags byte sent twice, ACK first, then SYN. Which
        // one counts is the host's kernel's choice; it drops the datagram, and so does this.
        let ack = P.tcp(51000, 22, flags: 0x10, options: P.linuxSYNOptionBytes)
        let ackPieces = P.fragmented(ack, pieceBytes: 8, source: scanner, destination: host)
        let synPieces16 = P.fragmented(syn, pieceBytes: 16, source: scanner, destination: host)
        var reassembler = FragmentReassembler(capacity: 16)
        // Bytes [0, 8) and [8, 16) with ACK, then [8, 24) with SYN: partly new, partly not.
        XCTAssertEqual(try feed([ackPieces[0], ackPieces[1]], to: &reassembler), [])
        let overlap = P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0x2001, Array(syn[8..<24])))
        XCTAssertEqual(try feed([overlap], to: &reassembler), [])
        XCTAssertEqual(reassembler.counters.overlapping, 1)
        XCTAssertEqual(reassembler.count, 0)
        // The rest of the ACK datagram now begins afresh and never completes.
        XCTAssertEqual(try feed(Array(ackPieces[2...]), to: &reassembler), [])
        XCTAssertEqual(reassembler.count, 1)

        // A piece whose bytes have all arrived is a duplicate: ignored, the first copy kept.
        var second = FragmentReassembler(capacity: 16)
        XCTAssertEqual(try feed([synPieces16[0]], to: &second), [])
        XCTAssertEqual(try feed([ackPieces[1]], to: &second), [], "bytes 8..<16 again, with ACK")
        let packets = try feed(Array(synPieces16[1...]), to: &second)
        XCTAssertEqual(packets.first?.tcp?.flags, .syn)
        XCTAssertEqual(second.counters.overlapping, 0)
    }

    func testLastFragmentsThatDisagreeOnTheEndDropTheDatagram() throws {
        let pieces = P.fragmented(syn, pieceBytes: 16, source: scanner, destination: host)
        var reassembler = FragmentReassembler(capacity: 16)
        let earlyEnd = P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0x0002, Array(syn[16..<24])))
        XCTAssertEqual(try feed([pieces[1], earlyEnd], to: &reassembler), [], "a piece reached 32, then the end is at 24")
        XCTAssertEqual(reassembler.counters.overlapping, 1)
        var again = FragmentReassembler(capacity: 16)
        XCTAssertEqual(try feed([pieces[2], earlyEnd], to: &again), [], "ends at 40, then at 24")
        XCTAssertEqual(again.counters.overlapping, 1)
    }

    func testDatagramsAreToldApartBySourceDestinationIdentificationAndFamily() throws {
        var reassembler = FragmentReassembler(capacity: 16)
        let a = P.fragmented(syn, pieceBytes: 8, source: scanner, destination: host, identification: 1)
        let b = P.fragmented(P.tcp(51001, 23, flags: 0x02, options: P.linuxSYNOptionBytes), pieceBytes: 8, source: scanner,
                             destination: host, identification: 2)
        let c = P.fragmented(P.tcp(51002, 24, flags: 0x02, options: P.linuxSYNOptionBytes), pieceBytes: 8, source: "203.0.113.10",
                             destination: host, identification: 1)
        var interleaved: [[UInt8]] = []
        for index in a.indices { interleaved += [a[index], b[index], c[index]] }
        let ports = try feed(interleaved, to: &reassembler).compactMap { $0.tcp?.destinationPort }
        XCTAssertEqual(ports, [22, 23, 24])
    }

    func testAnUnfinishedDatagramIsDroppedAfterTheTimeout() throws {
        let pieces = P.fragmented(syn, pieceBytes: 8, source: scanner, destination: host)
        let timeout = UInt64(FragmentReassembler.timeout.nanoseconds)
        var reassembler = FragmentReassembler(capacity: 16)
        XCTAssertEqual(try feed(Array(pieces.dropLast()), to: &reassembler, at: 100 * second), [])
        XCTAssertEqual(try feed([pieces.last!], to: &reassembler, at: 100 * second + timeout), [], "too late")
        XCTAssertEqual(reassembler.counters.expired, 1)
        XCTAssertEqual(try feed(Array(pieces.dropLast()), to: &reassembler, at: 200 * second), [])
        XCTAssertEqual(try feed([pieces.last!], to: &reassembler, at: 200 * second + timeout - 1).count, 1, "just in time")
        // A clock that stepped back does not make old datagrams immortal beyond the capacity.
        XCTAssertEqual(try feed([pieces[0]], to: &reassembler, at: 500 * second), [])
        reassembler.expire(toNanos: 10 * second)
        XCTAssertEqual(reassembler.count, 1)
    }

    func testAFloodOfFirstPiecesStaysWithinCapacityAndCountsWhatItPushesOut() throws {
        var reassembler = FragmentReassembler(capacity: 64)
        for identification in 0..<10_000 {
            let first = P.fragmented(syn, pieceBytes: 8, source: scanner, destination: host, identification: UInt32(identification))[0]
            XCTAssertEqual(try feed([first], to: &reassembler), [])
            XCTAssertLessThanOrEqual(reassembler.count, 64)
        }
        XCTAssertEqual(reassembler.counters.evicted, 10_000 - 64)
        // A real fragmented SYN arriving amid the flood is still put together.
        let packets = try feed(P.fragmented(syn, pieceBytes: 8, source: scanner, destination: host, identification: 77_777), to: &reassembler)
        XCTAssertEqual(packets.count, 1)
    }

    func testRandomPiecesNeverCrashAndNeverOutgrowTheTable() throws {
        var random = SplitMix64(seed: 99)
        var reassembler = FragmentReassembler(capacity: 8)
        var time: UInt64 = 0
        for _ in 0..<20_000 {
            let offset = UInt16(random.next(below: 8))
            var piece = [UInt8](repeating: 0, count: random.next(below: 70))
            for index in piece.indices { piece[index] = UInt8(truncatingIfNeeded: random.next()) }
            let frame = P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6,
                                                            flagsAndOffset: (random.next(below: 2) == 0 ? 0x2000 : 0) | offset,
                                                            identification: UInt16(random.next(below: 12)), piece))
            time += UInt64(random.next(below: 3)) * second
            guard case .success(let packet) = decode(frame), case .tcpFragment(let fragment) = packet.transport else { continue }
            _ = try? frame.withUnsafeBytes { bytes throws(DecodeRejection) in
                try reassembler.add(fragment, of: packet, bytes: bytes, timeNanos: time)
            }
            XCTAssertLessThanOrEqual(reassembler.count, 8)
        }
        let counters = reassembler.counters
        XCTAssertGreaterThan(counters.reassembled, 0, "\(counters)")
        XCTAssertGreaterThan(counters.overlapping, 0, "\(counters)")
        XCTAssertGreaterThan(counters.evicted + counters.expired, 0, "\(counters)")
    }

    func testTheTableFitsItsShareOfTheMemoryBudget() {
        var settings = Settings.Detection()
        let share = DetectionCapacities.shareBytes(of: .fragments, settings: settings)
        XCTAssertEqual(share, 2 * 1_048_576, "2 MiB of the default budget")
        let reassembler = FragmentReassembler(budget: DetectionBudget(settings: settings))
        XCTAssertLessThanOrEqual(FragmentReassembler.bytes(capacity: reassembler.capacity), share)
        XCTAssertGreaterThan(FragmentReassembler.bytes(capacity: reassembler.capacity + 1), share)
        XCTAssertGreaterThan(reassembler.capacity, 5000)
        settings.memoryBudgetMiB = 4
        XCTAssertLessThanOrEqual(FragmentReassembler.bytes(capacity: FragmentReassembler(budget: DetectionBudget(settings: settings)).capacity),
                                 4 * 1_048_576 / 32)
    }

    /// Every loop's reassembler draws on the one fragments share: under a flood of unfinished
    /// datagrams one grows to what the share holds, the other keeps its first ring, and the
    /// share's bytes go back when the flood has passed.
    func testReassemblersShareTheBudgetsFragmentsShare() throws {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 4
        let budget = DetectionBudget(settings: settings)
        let pool = budget.pool(.fragments)
        var flooded = FragmentReassembler(budget: budget)
        let quiet = FragmentReassembler(budget: budget)
        let quietBytes = FragmentReassembler.bytes(capacity: quiet.ringCapacity)
        var time: UInt64 = 0
        for identification in 0..<UInt16(3 * flooded.capacity) {
            let frame = P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0x2000,
                                                            identification: identification, [UInt8](repeating: 0, count: 8)))
            guard case .success(let packet) = decode(frame), case .tcpFragment(let fragment) = packet.transport else {
                return XCTFail("not a fragment")
            }
            time += 1000
            _ = try frame.withUnsafeBytes { bytes throws(DecodeRejection) in
                try flooded.add(fragment, of: packet, bytes: bytes, timeNanos: time)
            }
        }
        XCTAssertEqual(quiet.ringCapacity, FragmentReassembler.initialRingCapacity)
        XCTAssertEqual(flooded.ringCapacity, FragmentReassembler.capacity(fittingIn: pool.limitBytes - quietBytes),
                       "the flooded one took what the quiet one left of the share")
        XCTAssertLessThanOrEqual(pool.reservedBytes, pool.limitBytes)
        XCTAssertEqual(flooded.counters.evicted, UInt64(3 * flooded.capacity - flooded.count))
        flooded.expire(toNanos: time + UInt64(FragmentReassembler.timeout.nanoseconds) + 1)
        XCTAssertEqual(flooded.count, 0)
        XCTAssertLessThan(flooded.ringCapacity, flooded.capacity, "the ring shrank once the datagrams expired")
    }
}
