import CPcap
import LightScopeCapture
import XCTest

final class CaptureFilterTests: XCTestCase {
    /// The filter must compile for every link type LightScope captures on; a filter that
    /// silently fails to apply is exactly the original's bug.
    func testFilterCompilesForEveryLinkType() {
        let linkTypes: [(Int32, String)] = [(DLT_EN10MB, CaptureFilter.withVLAN), (DLT_EN10MB, CaptureFilter.untagged),
                                             (DLT_LINUX_SLL, CaptureFilter.untagged), (276, CaptureFilter.untagged),
                                             (DLT_RAW, CaptureFilter.untagged)]
        for (linkType, expression) in linkTypes {
            guard let dead = pcap_open_dead(linkType, 256) else { return XCTFail("pcap_open_dead(\(linkType))") }
            defer { pcap_close(dead) }
            var program = bpf_program()
            let result = pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN)
            XCTAssertEqual(result, 0, "link type \(linkType): \(String(cString: pcap_geterr(dead)))")
            if result == 0 { pcap_freecode(&program) }
        }
    }

    func testFilterKeepsProbesAndAnswersAndDropsTheRest() throws {
        guard let dead = pcap_open_dead(DLT_EN10MB, 256) else { return XCTFail("pcap_open_dead") }
        defer { pcap_close(dead) }
        var program = bpf_program()
        XCTAssertEqual(pcap_compile(dead, &program, CaptureFilter.withVLAN, 1, PCAP_NETMASK_UNKNOWN), 0)
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
        XCTAssertFalse(matches(Frames.ipv4TCP(flags: 0x10)), "plain ACK")
        XCTAssertFalse(matches(Frames.ipv4TCP(flags: 0x18)), "data")
        XCTAssertTrue(matches(Frames.vlan(Frames.ipv4TCP(flags: 0x02))), "tagged SYN")
        XCTAssertFalse(matches(Frames.vlan(Frames.ipv4TCP(flags: 0x10))), "tagged ACK")
        XCTAssertTrue(matches(Frames.ipv4ICMP(type: 3)), "ICMP unreachable")
        XCTAssertFalse(matches(Frames.ipv4ICMP(type: 8)), "ICMP echo")
        XCTAssertTrue(matches(Frames.ipv6TCP(flags: 0x02)), "IPv6 SYN")
        XCTAssertFalse(matches(Frames.ipv6TCP(flags: 0x10)), "IPv6 ACK")
    }
}

/// Minimal frames for the filter test (the decoder's tests build richer ones).
enum Frames {
    static let ethernetIPv4: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]
    static let ethernetIPv6: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xDD]

    static func ipv4(protocolNumber: UInt8, payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        return ethernetIPv4 + [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, 64, protocolNumber, 0, 0,
                               192, 0, 2, 2, 192, 0, 2, 1] + payload
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
