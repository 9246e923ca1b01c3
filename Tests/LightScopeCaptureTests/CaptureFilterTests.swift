import CPcap
import LightScopeCapture
import LightScopeCore
import XCTest

final class CaptureFilterTests: XCTestCase {
    /// The filter must compile for every link type LightScope captures on; a filter that
    /// silently fails to apply is exactly the original's bug. `inbound` and `outbound`
    /// compile for a live handle (a dead one stands in for it; a savefile would refuse them).
    func testFilterCompilesForEveryLinkType() {
        for linkType in [DLT_EN10MB, DLT_LINUX_SLL, 276, DLT_RAW] {
            for loopback in [false, true] {
                let candidates = CaptureFilter.candidates(linkType: linkType, loopback: loopback)
                XCTAssertEqual(candidates.count, linkType == DLT_EN10MB ? 2 : 1)
                for expression in candidates.flatMap({ [$0.kernel, $0.undirected] }) {
                    guard let dead = pcap_open_dead(linkType, 256) else { return XCTFail("pcap_open_dead(\(linkType))") }
                    defer { pcap_close(dead) }
                    var program = bpf_program()
                    let result = pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN)
                    XCTAssertEqual(result, 0, "link type \(linkType): \(String(cString: pcap_geterr(dead)))")
                    if result == 0 { pcap_freecode(&program) }
                }
            }
        }
        XCTAssertTrue(CaptureFilter.untagged.contains("inbound and"))
        XCTAssertTrue(CaptureFilter.untagged.contains("outbound and"))
        XCTAssertFalse(CaptureFilter.undirected.contains("bound"))
        XCTAssertEqual(CaptureFilter.candidates(linkType: DLT_EN10MB, loopback: true).map(\.kernel),
                       [CaptureFilter.undirectedWithVLAN, CaptureFilter.undirected], "loopback has no direction")
    }

    /// With the host's addresses, inbound answers (backscatter) come in from every other
    /// source: the expression names each address, and compiles for every link type.
    func testInboundAnswersComeFromAnySourceButTheHostsOwn() {
        let addresses = [IPAddress("192.0.2.1")!, IPAddress("2001:db8::1")!]
        XCTAssertFalse(CaptureFilter.untagged.contains("src host"), "without addresses, no inbound answers")
        for linkType in [DLT_EN10MB, DLT_LINUX_SLL, 276, DLT_RAW] {
            for candidate in CaptureFilter.candidates(linkType: linkType, loopback: false, hostAddresses: addresses) {
                XCTAssertTrue(candidate.kernel.contains("not (src host 192.0.2.1 or src host 2001:db8::1)"), candidate.kernel)
                guard let dead = pcap_open_dead(linkType, 256) else { return XCTFail("pcap_open_dead(\(linkType))") }
                defer { pcap_close(dead) }
                var program = bpf_program()
                XCTAssertEqual(pcap_compile(dead, &program, candidate.kernel, 1, PCAP_NETMASK_UNKNOWN), 0,
                               "link type \(linkType): \(String(cString: pcap_geterr(dead)))")
                pcap_freecode(&program)
            }
        }
    }

    /// What the clauses keep, judged by libpcap's own interpreter. The direction itself is
    /// the kernel's packet type, which only the in-kernel filter can read: the live tests
    /// (`ForgedAnswerLiveTests`, `FragmentedScanLiveTests`) hold the filter to it with real
    /// packets; here the same clauses are tried without it.
    func testFilterKeepsProbesAnswersAndFragmentsAndDropsTheRest() throws {
        guard let dead = pcap_open_dead(DLT_EN10MB, 256) else { return XCTFail("pcap_open_dead") }
        defer { pcap_close(dead) }
        var program = bpf_program()
        XCTAssertEqual(pcap_compile(dead, &program, CaptureFilter.undirectedWithVLAN, 1, PCAP_NETMASK_UNKNOWN), 0)
        defer { pcap_freecode(&program) }
        func matches(_ frame: [UInt8]) -> Bool {
            var header = pcap_pkthdr()
            header.caplen = UInt32(frame.count)
            header.len = UInt32(frame.count)
            return frame.withUnsafeBufferPointer { pcap_offline_filter(&program, &header, $0.baseAddress!) } != 0
        }
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x02)), "SYN")
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x12)), "SYN-ACK")
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x04)), "RST")
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x14)), "RST-ACK")
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x01)), "FIN probe (nmap -sF)")
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x00)), "NULL probe (nmap -sN)")
        XCTAssertTrue(matches(Frames.ipv4TCP(flags: 0x29)), "Xmas probe (nmap -sX)")
        XCTAssertTrue(matches(Frames.ipv6TCP(flags: 0x29)), "IPv6 Xmas probe")
        XCTAssertFalse(matches(Frames.ipv4TCP(flags: 0x11)), "FIN-ACK: a connection's close")
        XCTAssertFalse(matches(Frames.ipv6TCP(flags: 0x11)), "IPv6 FIN-ACK")
        XCTAssertFalse(matches(Frames.ipv4TCP(flags: 0x10)), "plain ACK")
        XCTAssertFalse(matches(Frames.ipv4TCP(flags: 0x18)), "data")
        XCTAssertTrue(matches(Frames.vlan(Frames.ipv4TCP(flags: 0x02))), "tagged SYN")
        XCTAssertFalse(matches(Frames.vlan(Frames.ipv4TCP(flags: 0x10))), "tagged ACK")
        XCTAssertTrue(matches(Frames.ipv4ICMP(type: 3)), "ICMP unreachable")
        XCTAssertFalse(matches(Frames.ipv4ICMP(type: 8)), "ICMP echo")
        XCTAssertTrue(matches(Frames.ipv4ICMP(type: 11)), "ICMP time exceeded")
        XCTAssertTrue(matches(Frames.ipv6TCP(flags: 0x02)), "IPv6 SYN")
        XCTAssertTrue(matches(Frames.ipv6TCP(flags: 0x14)), "IPv6 RST")
        XCTAssertFalse(matches(Frames.ipv6TCP(flags: 0x10)), "IPv6 ACK")
        // `nmap -f`: 8 bytes of TCP in the first fragment, where the TCP clause's load of the
        // flags would end the whole program; the flags in the second.
        let syn = Frames.tcp(flags: 0x02)
        XCTAssertTrue(matches(Frames.ipv4(protocolNumber: 6, fragment: 0x2000, payload: Array(syn[0..<8]))), "first fragment")
        XCTAssertTrue(matches(Frames.ipv4(protocolNumber: 6, fragment: 0x0001, payload: Array(syn[8..<20]))), "second fragment")
        XCTAssertTrue(matches(Frames.vlan(Frames.ipv4(protocolNumber: 6, fragment: 0x2000, payload: Array(syn[0..<8])))),
                      "tagged first fragment")
        XCTAssertFalse(matches(Frames.ipv4(protocolNumber: 17, fragment: 0x2000, payload: [UInt8](repeating: 0, count: 16))),
                       "UDP fragments: the host's ICMP answer quotes the reassembled probe")
    }
}

/// Minimal frames for the filter test (the decoder's tests build richer ones).
enum Frames {
    static let ethernetIPv4: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]
    static let ethernetIPv6: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xDD]

    static func ipv4(protocolNumber: UInt8, fragment: UInt16 = 0, payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        return ethernetIPv4 + [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, UInt8(fragment >> 8), UInt8(fragment & 0xFF),
                               64, protocolNumber, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1] + payload
    }

    static func tcp(flags: UInt8) -> [UInt8] {
        [0xC0, 0x00, 0x00, 0x17, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
    }

    static func ipv4TCP(flags: UInt8) -> [UInt8] { ipv4(protocolNumber: 6, payload: tcp(flags: flags)) }

    static func ipv4ICMP(type: UInt8) -> [UInt8] { ipv4(protocolNumber: 1, payload: [type, 3, 0, 0, 0, 0, 0, 0]) }

    static func ipv6TCP(flags: UInt8) -> [UInt8] {
        let segment = tcp(flags: flags)
        return ethernetIPv6 + [0x60, 0, 0, 0, 0, UInt8(segment.count), 6, 64]
            + [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2]
            + [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1] + segment
    }

    static func vlan(_ frame: [UInt8]) -> [UInt8] {
        Array(frame[0..<12]) + [0x81, 0x00, 0x00, 0x2A] + Array(frame[12...])
    }
}
