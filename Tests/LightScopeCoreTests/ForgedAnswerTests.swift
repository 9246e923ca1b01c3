@testable import LightScopeCore
import XCTest

/// Answers the host did not send: a RST, SYN-ACK or ICMP error that came in, claiming a local
/// address, must not speak for the host (issue 17, item 5). Built as decoded packets with the
/// direction a cooked capture gives; the live capture's filter is tested with real packets
/// (`ForgedAnswerLiveTests`).
final class ForgedAnswerTests: XCTestCase {
    let local = IPAddress("192.0.2.1")!
    let remote = IPAddress("198.51.100.7")!
    let second: UInt64 = 1_000_000_000
    var events: [UnwantedEvent] = []

    func makeEngine(_ local: LocalAddresses? = nil) -> DetectionEngine {
        DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: local ?? LocalAddresses(addresses: [self.local]))
    }

    func tcp(_ source: IPAddress, _ sourcePort: UInt16, _ destination: IPAddress, _ destinationPort: UInt16, _ flags: TCPFlags,
             direction: PacketDirection = .unknown, fragment: IPFragment = .unfragmented, extensionHeaders: Bool = false) -> DecodedPacket {
        DecodedPacket(source: source, destination: destination, isIPv6: false, ttl: 64, fragment: fragment,
                      transport: .tcp(TCPSegment(sourcePort: sourcePort, destinationPort: destinationPort, sequence: 1,
                                                 acknowledgement: 0, flags: flags, window: 1024)),
                      direction: direction, hasExtensionHeaders: extensionHeaders)
    }

    func portUnreachable(from source: IPAddress, to destination: IPAddress, quoting quoted: QuotedProbe,
                         direction: PacketDirection = .unknown) -> DecodedPacket {
        DecodedPacket(source: source, destination: destination, isIPv6: false, ttl: 64,
                      transport: .icmpUnreachable(ICMPUnreachable(isIPv6: false, code: 3, quoted: quoted)), direction: direction)
    }

    func feed(_ engine: DetectionEngine, _ packet: DecodedPacket, at time: UInt64) {
        engine.process(packet, timeNanos: time) { events.append($0) } lost: { XCTFail("no probe may be lost here: \($0)") }
    }

    func testAResetThatCameInIsNotTheHostsAnswer() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 23, .syn, direction: .inbound), at: 0)
        feed(engine, tcp(local, 23, remote, 40000, [.rst, .ack], direction: .inbound), at: 1000)
        XCTAssertEqual(events, [], "a forged RST must not close the probe")
        feed(engine, tcp(local, 23, remote, 40000, [.rst, .ack], direction: .outbound), at: 2000)
        XCTAssertEqual(events.map(\.verdict), [.closed], "the host's own RST still does, and the probe was still pending")
    }

    func testASynAckThatCameInDoesNotMarkItsPortAnswered() {
        let engine = makeEngine()
        feed(engine, tcp(local, 8443, remote, 40000, [.syn, .ack], direction: .inbound), at: 0)
        feed(engine, tcp(remote, 40001, local, 8443, .syn, direction: .inbound), at: second)
        engine.advance(toNanos: 20 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.unanswered], "the forged SYN-ACK silenced the port")
    }

    func testAnAnswerMustArriveWholeWithoutExtensionHeaders() {
        // On Ethernet nothing says which way a packet went; the capture filter admits
        // fragments and IPv6 extension chains inbound only, so answers shaped so came in.
        let shapes = [tcp(local, 23, remote, 40000, [.rst, .ack], fragment: .reassembled),
                      tcp(local, 23, remote, 40000, [.rst, .ack], fragment: .first),
                      tcp(local, 23, remote, 40000, [.rst, .ack], extensionHeaders: true)]
        for shape in shapes {
            events = []
            let engine = makeEngine()
            feed(engine, tcp(remote, 40000, local, 23, .syn), at: 0)
            feed(engine, shape, at: 1000)
            feed(engine, tcp(local, 8080, remote, 40001, [.syn, .ack], fragment: shape.fragment,
                             extensionHeaders: shape.hasExtensionHeaders), at: 2000)
            feed(engine, tcp(remote, 40001, IPAddress("192.0.2.1")!, 8080, .syn), at: 3000)
            engine.finish { events.append($0) }
            XCTAssertEqual(events.map(\.verdict), [.unanswered, .unanswered], "\(shape.fragment), \(shape.hasExtensionHeaders)")
        }
    }

    func testAnOutboundSynIsTheHostConnectingNotAProbe() {
        // A cooked capture replayed with learning: the host 192.0.2.1 (not known yet) connects
        // out and the remote refuses; that is no probe of anyone.
        let engine = makeEngine(.learnedFromAnswers())
        feed(engine, tcp(local, 50000, remote, 443, .syn, direction: .outbound), at: 0)
        feed(engine, tcp(remote, 443, local, 50000, [.rst, .ack], direction: .inbound), at: 1000)
        engine.finish { events.append($0) }
        XCTAssertEqual(events, [])
        XCTAssertFalse(engine.localAddresses.contains(remote), "an inbound RST taught the engine that the remote is local")
    }

    func testAPortUnreachableThatCameInIsNoEvent() {
        let engine = makeEngine()
        let quoted = QuotedProbe(source: remote, destination: local, protocolNumber: 17, sourcePort: 5353, destinationPort: 161, ttl: 44)
        feed(engine, portUnreachable(from: local, to: remote, quoting: quoted, direction: .inbound), at: second)
        XCTAssertEqual(events, [])
        feed(engine, portUnreachable(from: local, to: remote, quoting: quoted, direction: .outbound), at: 2 * second)
        XCTAssertEqual(events.map(\.verdict), [.closed])
    }

    func testAPortUnreachableMustQuoteAProbeOfThisHost() {
        let engine = makeEngine()
        let elsewhere = QuotedProbe(source: remote, destination: IPAddress("203.0.113.50")!, protocolNumber: 17, sourcePort: 5353,
                                    destinationPort: 161, ttl: 44)
        feed(engine, portUnreachable(from: local, to: remote, quoting: elsewhere), at: second)
        XCTAssertEqual(events, [], "one forged error quoting a probe of someone else made one event")
    }

    func testWhileLearningAForgedPortUnreachableTeachesNothing() {
        let engine = makeEngine(.learnedFromAnswers())
        let stranger = IPAddress("203.0.113.50")!
        let elsewhere = QuotedProbe(source: remote, destination: IPAddress("203.0.113.51")!, protocolNumber: 17, sourcePort: 5353,
                                    destinationPort: 161, ttl: 44)
        feed(engine, portUnreachable(from: stranger, to: remote, quoting: elsewhere), at: second)
        XCTAssertEqual(events, [])
        XCTAssertFalse(engine.localAddresses.contains(stranger))
        // The host's real error quotes a probe of the address it sends from.
        let probe = QuotedProbe(source: remote, destination: stranger, protocolNumber: 17, sourcePort: 5353, destinationPort: 161, ttl: 44)
        feed(engine, portUnreachable(from: stranger, to: remote, quoting: probe), at: 2 * second)
        XCTAssertEqual(events.map(\.verdict), [.closed])
        XCTAssertTrue(engine.localAddresses.contains(stranger))
    }

    func testAnsweredPortsAreForgottenAfterGraceSoOneForgeryCannotSilenceAPortForGood() {
        let engine = makeEngine()
        let grace = UInt64(Settings.Detection().grace.nanoseconds)
        // In a capture without direction (a plain Ethernet file) a forged SYN-ACK is taken.
        feed(engine, tcp(local, 8443, remote, 40000, [.syn, .ack]), at: 0)
        feed(engine, tcp(remote, 40001, local, 8443, .syn), at: second)
        engine.advance(toNanos: 20 * second) { events.append($0) }
        XCTAssertEqual(events, [], "within grace the port counts as answering (a slow service)")
        let later = 2 * grace + 30 * second
        engine.advance(toNanos: later) { events.append($0) }
        feed(engine, tcp(remote, 40002, local, 8443, .syn), at: later + second)
        engine.advance(toNanos: later + 20 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.unanswered], "the SYN-ACK of long ago still silences the port")
    }

    func testAnsweredPortsAreRememberedForAtLeastGraceAfterTheLastAnswer() {
        var ports = AnsweredPorts(memoryNanos: 100)
        ports.age(toNanos: 1000)
        ports.insert(7)
        ports.age(toNanos: 1099)
        XCTAssertTrue(ports.contains(7))
        ports.age(toNanos: 1100)
        XCTAssertTrue(ports.contains(7), "kept one more generation")
        ports.age(toNanos: 1199)
        XCTAssertTrue(ports.contains(7))
        ports.age(toNanos: 1200)
        XCTAssertFalse(ports.contains(7))
        ports.insert(8)
        ports.age(toNanos: 500) // the clock stepped back: a fresh start, not a freeze
        ports.age(toNanos: 599)
        XCTAssertTrue(ports.contains(8))
        ports.age(toNanos: 600)
        ports.age(toNanos: 700)
        XCTAssertFalse(ports.contains(8))
        ports.insert(9)
        ports.age(toNanos: 10_000)
        XCTAssertFalse(ports.contains(9), "a long quiet spell forgets both generations")
    }
}
