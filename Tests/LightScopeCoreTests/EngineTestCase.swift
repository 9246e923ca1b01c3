@testable import LightScopeCore
import XCTest

/// What the engine's tests share: local and remote addresses, decoded packets built in code,
/// and an engine fed them, its events and lost probes collected.
class EngineTestCase: XCTestCase {
    let local = IPAddress("192.0.2.1")!
    let local2 = IPAddress("192.0.2.9")!
    let remote = IPAddress("198.51.100.7")!
    let second: UInt64 = 1_000_000_000
    var events: [UnwantedEvent] = []
    var lost: [LostProbe] = []

    func makeEngine(_ configure: (inout Settings.Detection) -> Void = { _ in }) -> DetectionEngine {
        var settings = Settings.Detection()
        configure(&settings)
        return DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: [local, local2]))
    }

    func tcp(_ source: IPAddress, _ sourcePort: UInt16, _ destination: IPAddress, _ destinationPort: UInt16,
             _ flags: TCPFlags, ttl: UInt8 = 50, window: UInt16 = 1024) -> DecodedPacket {
        var options = TCPOptions(bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        if flags == .syn {
            options = [UInt8]([2, 4, 0x05, 0xB4, 1, 3, 3, 7]).withUnsafeBytes { TCPOptions(bytes: $0) }
        }
        return DecodedPacket(source: source, destination: destination, isIPv6: !source.isIPv4, ttl: ttl,
                             transport: .tcp(TCPSegment(sourcePort: sourcePort, destinationPort: destinationPort, sequence: 1,
                                                        acknowledgement: 0, headerLength: 20, flags: flags, window: window,
                                                        options: options)))
    }

    func feed(_ engine: DetectionEngine, _ packet: DecodedPacket, at time: UInt64) {
        engine.process(packet, timeNanos: time) { events.append($0) } lost: { lost.append($0) }
    }
}
