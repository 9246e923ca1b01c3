@testable import LightScopeCore
import XCTest

/// Backscatter: answers that came to the host for nothing it sent are counted per victim, one
/// event a minute; answers to the host's own SYNs, datagrams and connections never are.
final class BackscatterTests: EngineTestCase {
    let victim = IPAddress("203.0.113.80")!
    let victim6 = IPAddress("2001:db8::80")!
    let minute = UInt64(BackscatterVictims.reportInterval.nanoseconds)

    func udp(_ source: IPAddress, _ sourcePort: UInt16, _ destination: IPAddress, _ destinationPort: UInt16) -> DecodedPacket {
        DecodedPacket(source: source, destination: destination, isIPv6: !source.isIPv4, ttl: 64,
                      transport: .udp(UDPDatagram(sourcePort: sourcePort, destinationPort: destinationPort, length: 8)))
    }

    /// An ICMP error from `router` to the host about a datagram "from" the host to `quotedTo`.
    func icmpError(from router: IPAddress, quoting protocolNumber: UInt8 = 17, _ localPort: UInt16, to quotedTo: IPAddress,
                   _ remotePort: UInt16, timeExceeded: Bool = false, code: UInt8 = 3) -> DecodedPacket {
        let quoted = QuotedProbe(source: local, destination: quotedTo, protocolNumber: protocolNumber, sourcePort: localPort,
                                 destinationPort: remotePort, ttl: 1)
        let transport: Transport = timeExceeded
            ? .icmp(ICMPMessage(isIPv6: false, type: 11, code: 0, quoted: quoted))
            : .icmpUnreachable(ICMPUnreachable(isIPv6: false, code: code, quoted: quoted))
        return DecodedPacket(source: router, destination: local, isIPv6: false, ttl: 61, transport: transport)
    }

    func testSynAcksForNothingSentAreOneEventPerVictimPerMinute() {
        let engine = makeEngine()
        for index in 0..<100 {
            feed(engine, tcp(victim, 80, local, 1024 + UInt16(index), [.syn, .ack], ttl: 52), at: UInt64(index) * second / 10)
        }
        engine.advance(toNanos: 30 * second) { events.append($0) }
        XCTAssertEqual(events, [], "the victim's minute is still open")
        engine.advance(toNanos: minute + 10 * second) { events.append($0) }
        XCTAssertEqual(events.count, 1)
        let event = events[0]
        XCTAssertEqual(event.verdict, .backscatter)
        XCTAssertEqual(event.answer, .synAck)
        XCTAssertEqual(event.source, victim)
        XCTAssertEqual(event.sourcePort, 80)
        XCTAssertEqual(event.destination, local)
        XCTAssertNil(event.destinationPort, "the host's ports varied: no one port stands for them")
        XCTAssertEqual(event.packets, 100)
        XCTAssertEqual(event.ttl, 52)
        XCTAssertEqual(event.timeNanos, 0, "the minute's first answer")
        XCTAssertEqual(engine.counters.eventsByVerdict, [.backscatter: 1])

        // The attack goes on: a second minute, a second line.
        feed(engine, tcp(victim, 80, local, 5000, .rst), at: 2 * minute)
        feed(engine, tcp(victim, 80, local, 5000, .rst), at: 2 * minute + second)
        engine.advance(toNanos: 3 * minute + second) { events.append($0) }
        XCTAssertEqual(events.map(\.packets), [100, 2])
        XCTAssertEqual(events.last?.answer, .rst, "a minute's answer is its first")
        XCTAssertEqual(events.last?.destinationPort, 5000)
    }

    func testEachVictimHasItsOwnMinuteAndFinishReportsOpenOnes() {
        let engine = makeEngine()
        feed(engine, tcp(victim, 443, local, 3000, [.rst, .ack]), at: 0)
        feed(engine, tcp(victim6, 443, IPAddress("2001:db8::1")!, 3000, [.syn, .ack]), at: second)
        feed(engine, icmpError(from: IPAddress("198.51.100.254")!, 33434, to: victim, 53, timeExceeded: true), at: 2 * second)
        XCTAssertEqual(events, [])
        engine.finish { events.append($0) }
        XCTAssertEqual(events.count, 1, "the IPv6 address is not the host's: only the IPv4 victim counts")
        XCTAssertEqual(events.first?.packets, 2)
        XCTAssertEqual(events.first?.answer, .rst)
        XCTAssertNil(events.first?.sourcePort.flatMap { $0 == 443 ? nil : $0 }, "443 first")

        let engine6 = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                      localAddresses: LocalAddresses(addresses: [IPAddress("2001:db8::1")!]))
        events = []
        feed(engine6, tcp(victim6, 443, IPAddress("2001:db8::1")!, 3000, [.syn, .ack]), at: 0)
        engine6.finish { events.append($0) }
        XCTAssertEqual(events.map(\.source), [victim6])
        XCTAssertEqual(events.map(\.answer), [.synAck])
    }

    func testICMPErrorsAboutDatagramsTheHostNeverSentAreBackscatter() {
        let engine = makeEngine()
        let router = IPAddress("198.51.100.254")!
        feed(engine, icmpError(from: router, 40000, to: victim, 53), at: 0)
        feed(engine, icmpError(from: router, 40001, to: victim, 53, timeExceeded: true), at: second)
        engine.finish { events.append($0) }
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events.first?.source, victim, "the victim is whom the quoted packet went to, not the router")
        XCTAssertEqual(events.first?.sourcePort, 53)
        XCTAssertEqual(events.first?.proto, .udp)
        XCTAssertEqual(events.first?.answer, .icmpUnreachable)
        XCTAssertEqual(events.first?.packets, 2)
    }

    func testAnswersToTheHostsOwnTrafficAreNeverBackscatter() {
        let engine = makeEngine()
        let server = IPAddress("203.0.113.5")!
        // The host's connection attempts: answered open, answered closed, and late (retransmitted SYN-ACK).
        feed(engine, tcp(local, 41000, server, 443, .syn), at: 0)
        feed(engine, tcp(server, 443, local, 41000, [.syn, .ack]), at: second)
        feed(engine, tcp(server, 443, local, 41000, [.syn, .ack]), at: 30 * second)
        feed(engine, tcp(local, 41001, server, 81, .syn), at: 0)
        feed(engine, tcp(server, 81, local, 41001, [.rst, .ack]), at: second)
        // A RST ending the connection minutes later.
        feed(engine, tcp(server, 443, local, 41000, .rst), at: 5 * 60 * second)
        // The host's datagrams, and the errors they earned: unreachable, time exceeded (traceroute).
        feed(engine, udp(local, 50000, server, 53), at: 0)
        feed(engine, icmpError(from: server, 50000, to: server, 53), at: second)
        feed(engine, udp(local, 50001, server, 33434), at: 0)
        feed(engine, icmpError(from: IPAddress("198.51.100.254")!, 50001, to: server, 33434, timeExceeded: true), at: second)
        // A TCP SYN of the host that a router could not deliver.
        feed(engine, tcp(local, 41002, server, 8080, .syn), at: 0)
        feed(engine, icmpError(from: server, quoting: 6, 41002, to: server, 8080, code: 1), at: second)
        // Path MTU discovery about the host's established traffic, which no table remembers.
        feed(engine, icmpError(from: server, quoting: 6, 41000, to: server, 443, code: 4), at: 2 * second)
        // A probe the host refused, and an ICMP error about the host's RST (its route to the
        // prober is gone): the host sent that RST.
        feed(engine, tcp(IPAddress("203.0.113.66")!, 40000, local, 23, .syn), at: 0)
        feed(engine, tcp(local, 23, IPAddress("203.0.113.66")!, 40000, [.rst, .ack]), at: 1000)
        feed(engine, icmpError(from: IPAddress("198.51.100.254")!, quoting: 6, 23, to: IPAddress("203.0.113.66")!, 40000, code: 1),
             at: second)
        // A remote connected to the host (its SYN-ACK), then reset: nmap -sS does this.
        feed(engine, tcp(remote, 50123, local, 22, .syn), at: 0)
        feed(engine, tcp(local, 22, remote, 50123, [.syn, .ack]), at: 1000)
        feed(engine, tcp(remote, 50123, local, 22, .rst), at: 2000)
        engine.advance(toNanos: 10 * 60 * second) { events.append($0) }
        engine.finish { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.closed], events.map { EventLine.text(EventRecord($0)) }.joined(separator: "\n"))
    }

    /// More flows of the host's own than the table holds: the oldest are forgotten early, and
    /// counted, so that a late answer taken for backscatter can be told from an attack.
    func testFlowsPushedOutOfAFullTableAreCounted() {
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]),
                                     capacities: DetectionCapacities(pendingProbes: 64, recentConnections: 64, scanSources: 16))
        for index in 0..<200 {
            feed(engine, udp(local, 30000 + UInt16(index), IPAddress("203.0.113.5")!, 53), at: UInt64(index) * 1000)
        }
        XCTAssertGreaterThan(engine.state.outboundFlowEvictions, 0)
        XCTAssertEqual(engine.state.evictions, 0, "the host's own flows churn without a budget being short")
        XCTAssertEqual(events, [])
    }

    func testAnAnswerComesTooLateOnceTheHostsFlowIsForgotten() {
        let engine = makeEngine { $0.grace = .seconds(60) }
        let server = IPAddress("203.0.113.5")!
        feed(engine, tcp(local, 41000, server, 443, .syn), at: 0)
        engine.advance(toNanos: 2 * minute) { events.append($0) }
        feed(engine, tcp(server, 443, local, 41000, [.syn, .ack]), at: 2 * minute)
        engine.finish { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.backscatter], "the host's flow is remembered for `grace`, no longer")
    }

    /// A flood of spoofed victims beyond the table: each victim pushed out is reported at once
    /// with what it counted, so every answer is in some event.
    func testVictimsPushedOutOfAFullTableAreReportedNotDropped() {
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]),
                                     capacities: DetectionCapacities(pendingProbes: 64, recentConnections: 64, scanSources: 16))
        var answers = 0
        for round in 0..<3 {
            for index in 0..<100 {
                feed(engine, tcp(IPAddress(ipv4: 0xCB00_7100 + UInt32(index)), 80, local, 2000, [.syn, .ack]),
                     at: UInt64(round * 100 + index) * 1000)
                answers += 1
            }
        }
        XCTAssertGreaterThan(events.count, 0, "victims were pushed out, and reported")
        engine.finish { events.append($0) }
        XCTAssertEqual(events.map { Int($0.packets) }.reduce(0, +), answers)
        XCTAssertTrue(events.allSatisfy { $0.verdict == .backscatter })
        XCTAssertGreaterThan(engine.state.backscatterVictimEvictions, 0, "the early reports are counted")
        XCTAssertEqual(engine.state.evictions, engine.state.backscatterVictimEvictions)
    }
}
