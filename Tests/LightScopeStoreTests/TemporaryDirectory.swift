import Foundation
import Glibc
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// A fresh directory under /tmp for one test, removed with everything in it afterwards.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/lightscope-store-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: errno \(errno)") }
        path = String(cString: created)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

enum Sample {
    static let baseNanos: UInt64 = 1_795_989_366_123_456_000

    /// Event `index`: a distinct source and time, cycling through the verdicts, and for TCP
    /// through probe flags (a SYN, FIN, NULL and Xmas probe).
    static func event(_ index: Int, timeNanos: UInt64? = nil) -> UnwantedEvent {
        let verdict = [Verdict.closed, .unanswered, .portscan, .addrscan][index % 4]
        let flags: [TCPFlags] = [.syn, .fin, [], [.fin, .psh, .urg]]
        return UnwantedEvent(
            timeNanos: timeNanos ?? baseNanos + UInt64(index) * 1_000_000, interface: "eth0", proto: index % 5 == 0 ? .udp : .tcp,
            source: IPAddress(ipv4: 0xCB00_7100 | UInt32(index % 200)), sourcePort: verdict == .portscan ? nil : 40000 + UInt16(index % 1000),
            destination: verdict == .addrscan ? nil : IPAddress("192.0.2.1")!, destinationPort: verdict == .portscan ? nil : 22 + UInt16(index % 3),
            verdict: verdict, packets: UInt32(1 + index % 7), ttl: 54, tcpWindow: 64240, options: PacketBuilder.linuxSYNOptions,
            ports: verdict == .portscan ? 40 : nil, addresses: verdict == .addrscan ? 12 : nil,
            tcpFlags: index % 5 == 0 ? nil : flags[(index / 4) % 4])
    }
}
