#if canImport(Glibc)
import Glibc
#endif

/// Writes the benchmark's capture files: the same bytes for the same arguments, every time.
///
///     lightscope-pcapgen mixed  --packets N [--seed S] FILE
///     lightscope-pcapgen flood  --packets N --sources M --target A.B.C.D [--dst-mac HEX] [--seed S] FILE
///
/// `mixed` is the offline workload: SYN scans from many sources (answered by RST, or not at
/// all), port and address scanners, and connections (SYN, SYN-ACK, then established packets),
/// from remotes in 100.64.0.0/10 to 32 local hosts in 198.51.100.0/27.
/// `flood` is the live and footprint workload: SYNs to one target from `sources` distinct
/// addresses in 10.0.0.0/8 (each used once per round, in a shuffled order), to random ports.
/// Only Ethernet/IPv4/TCP, checksums zero (nothing here is ever routed).

/// SplitMix64: tiny, fast, and the same sequence everywhere for a given seed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
    mutating func chance(_ percent: UInt64) -> Bool { below(100) < percent }
}

/// A buffered classic-pcap writer (microsecond timestamps, Ethernet).
struct PcapFile {
    private let file: UnsafeMutablePointer<FILE>
    private var frame = [UInt8](repeating: 0, count: 256)
    private(set) var packets = 0

    init(path: String) {
        guard let opened = fopen(path, "wb") else {
            fail("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        file = opened
        setvbuf(file, nil, _IOFBF, 1 << 20)
        var header: [UInt32] = [0xA1B2_C3D4, 0x0004_0002, 0, 0, 65535, 1]
        fwrite(&header, 4, header.count, file)
    }

    var destinationMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
    var sourceMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x02]

    /// One TCP segment. SYNs (without ACK) carry Linux's usual options, SYN-ACKs a shorter set.
    mutating func tcp(timeMicros: UInt64, source: UInt32, destination: UInt32, sourcePort: UInt16, destinationPort: UInt16,
                      flags: UInt8, sequence: UInt32, acknowledgement: UInt32 = 0, payloadBytes: Int = 0, ttl: UInt8 = 64) {
        let options: [UInt8]
        if flags & 0x02 != 0 && flags & 0x10 == 0 {
            options = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
        } else if flags & 0x02 != 0 {
            options = [2, 4, 0x05, 0xB4, 1, 1, 4, 2]
        } else {
            options = []
        }
        let tcpLength = 20 + options.count
        let ipLength = 20 + tcpLength + payloadBytes
        let frameLength = 14 + ipLength
        if frame.count < frameLength { frame = [UInt8](repeating: 0, count: frameLength) }
        frame.withUnsafeMutableBufferPointer { out in
            var at = 0
            func put8(_ value: UInt8) { out[at] = value; at += 1 }
            func put16(_ value: UInt16) { put8(UInt8(value >> 8)); put8(UInt8(value & 0xFF)) }
            func put32(_ value: UInt32) { put16(UInt16(value >> 16)); put16(UInt16(value & 0xFFFF)) }
            for byte in destinationMAC { put8(byte) }
            for byte in sourceMAC { put8(byte) }
            put16(0x0800)
            put8(0x45); put8(0); put16(UInt16(ipLength)); put16(UInt16(truncatingIfNeeded: packets)); put16(0x4000)
            put8(ttl); put8(6); put16(0); put32(source); put32(destination)
            put16(sourcePort); put16(destinationPort); put32(sequence); put32(acknowledgement)
            put8(UInt8(tcpLength / 4) << 4); put8(flags); put16(64240); put16(0); put16(0)
            for byte in options { put8(byte) }
            for _ in 0..<payloadBytes { put8(0x61) }
        }
        var record: [UInt32] = [UInt32(timeMicros / 1_000_000), UInt32(timeMicros % 1_000_000), UInt32(frameLength), UInt32(frameLength)]
        fwrite(&record, 4, 4, file)
        frame.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, frameLength, file) }
        packets += 1
    }

    func close() {
        guard fclose(file) == 0 else {
            fail("write failed: \(String(cString: strerror(errno)))")
        }
    }
}

let syn: UInt8 = 0x02, rst: UInt8 = 0x04, ack: UInt8 = 0x10, psh: UInt8 = 0x08

/// The offline workload, in steps of 20 us of capture time per packet.
func writeMixed(_ out: inout PcapFile, packets: Int, random: inout SplitMix64) {
    let localBase: UInt32 = 0xC633_6400 // 198.51.100.0/27
    let remoteBase: UInt32 = 0x6440_0000 // 100.64.0.0/10
    var time: UInt64 = 1_700_000_000_000_000
    func local(_ random: inout SplitMix64) -> UInt32 { localBase | UInt32(random.below(32)) }
    func remote(_ random: inout SplitMix64) -> UInt32 { remoteBase | UInt32(random.below(1 << 22)) }
    func ephemeral(_ random: inout SplitMix64) -> UInt16 { UInt16(32768 + random.below(28000)) }
    let openPorts: [UInt16] = [22, 80, 443, 8080]
    while out.packets < packets {
        time += 20
        let sequence = UInt32(truncatingIfNeeded: random.next())
        switch random.below(100) {
        case 0..<30: // a scan probe nobody answers
            out.tcp(timeMicros: time, source: remote(&random), destination: local(&random), sourcePort: ephemeral(&random),
                    destinationPort: UInt16(1 + random.below(65535)), flags: syn, sequence: sequence, ttl: 50)
        case 30..<55: // a probe of a closed port: RST
            let (source, destination, sourcePort, port) = (remote(&random), local(&random), ephemeral(&random), UInt16(1 + random.below(1024)))
            out.tcp(timeMicros: time, source: source, destination: destination, sourcePort: sourcePort, destinationPort: port,
                    flags: syn, sequence: sequence, ttl: 50)
            time += 20
            out.tcp(timeMicros: time, source: destination, destination: source, sourcePort: port, destinationPort: sourcePort,
                    flags: rst | ack, sequence: 0, acknowledgement: sequence &+ 1)
        case 55..<60: // a port scanner: one source, one host, 20 ports in a row, unanswered
            let (source, destination, sourcePort) = (remote(&random), local(&random), ephemeral(&random))
            let first = UInt16(1 + random.below(60000))
            for offset in 0..<20 where out.packets < packets {
                time += 20
                out.tcp(timeMicros: time, source: source, destination: destination, sourcePort: sourcePort,
                        destinationPort: first &+ UInt16(offset), flags: syn, sequence: sequence, ttl: 45)
            }
        case 60..<63: // an address scanner: one source, one port, every local host, answered by RST
            let (source, sourcePort, port) = (remote(&random), ephemeral(&random), UInt16([23, 445, 3389, 5900][Int(random.below(4))]))
            for host in 0..<UInt32(32) where out.packets < packets {
                time += 20
                out.tcp(timeMicros: time, source: source, destination: localBase | host, sourcePort: sourcePort,
                        destinationPort: port, flags: syn, sequence: sequence, ttl: 45)
                time += 20
                out.tcp(timeMicros: time, source: localBase | host, destination: source, sourcePort: port,
                        destinationPort: sourcePort, flags: rst | ack, sequence: 0, acknowledgement: sequence &+ 1)
            }
        default: // a real connection: handshake, then established packets both ways
            let (client, server, clientPort) = (remote(&random), local(&random), ephemeral(&random))
            let port = openPorts[Int(random.below(UInt64(openPorts.count)))]
            let serverSequence = UInt32(truncatingIfNeeded: random.next())
            out.tcp(timeMicros: time, source: client, destination: server, sourcePort: clientPort, destinationPort: port,
                    flags: syn, sequence: sequence)
            time += 20
            out.tcp(timeMicros: time, source: server, destination: client, sourcePort: port, destinationPort: clientPort,
                    flags: syn | ack, sequence: serverSequence, acknowledgement: sequence &+ 1)
            for index in 0..<(4 + Int(random.below(12))) where out.packets < packets {
                time += 20
                let inbound = index % 2 == 0
                out.tcp(timeMicros: time, source: inbound ? client : server, destination: inbound ? server : client,
                        sourcePort: inbound ? clientPort : port, destinationPort: inbound ? port : clientPort,
                        flags: psh | ack, sequence: sequence &+ UInt32(index * 100), acknowledgement: serverSequence,
                        payloadBytes: 64)
            }
        }
    }
}

/// The flood: `packets` SYNs to `target` from `sources` distinct 10.0.0.0/8 addresses.
func writeFlood(_ out: inout PcapFile, packets: Int, sources: Int, target: UInt32, random: inout SplitMix64) {
    // Multiplying by a prime larger than `sources` permutes 0..<sources: every source once
    // per round, in a scattered order, without a table.
    var time: UInt64 = 1_700_000_000_000_000
    for index in 0..<packets {
        time += 1
        let slot = UInt64(index % sources) &* 2_654_435_761 % UInt64(sources)
        let source = 0x0A00_0000 | UInt32(1 + slot)
        out.tcp(timeMicros: time, source: source, destination: target, sourcePort: UInt16(1024 + random.below(60000)),
                destinationPort: UInt16(1 + random.below(65535)), flags: syn, sequence: UInt32(truncatingIfNeeded: random.next()), ttl: 50)
    }
}

func parseIPv4(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".")
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
        guard let octet = UInt8(part) else { return nil }
        value = value << 8 | UInt32(octet)
    }
    return value
}

func fail(_ message: String) -> Never {
    var line = Array("lightscope-pcapgen: \(message)\n".utf8)
    _ = write(STDERR_FILENO, &line, line.count)
    exit(1)
}

func usage() -> Never {
    var text = Array("""
    usage: lightscope-pcapgen mixed --packets N [--seed S] FILE
           lightscope-pcapgen flood --packets N --sources M --target A.B.C.D [--dst-mac 02:00:00:00:00:01] [--seed S] FILE

    """.utf8)
    _ = write(STDERR_FILENO, &text, text.count)
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first, mode == "mixed" || mode == "flood" else { usage() }
arguments.removeFirst()
var options: [String: String] = [:]
var path: String?
while let argument = arguments.first {
    arguments.removeFirst()
    if argument.hasPrefix("--") {
        guard let value = arguments.first else { usage() }
        arguments.removeFirst()
        options[String(argument.dropFirst(2))] = value
    } else {
        path = argument
    }
}
guard let path, let packets = options["packets"].flatMap({ Int($0) }), packets > 0 else { usage() }
var random = SplitMix64(state: options["seed"].flatMap { UInt64($0) } ?? 5)
var out = PcapFile(path: path)
if let mac = options["dst-mac"] {
    let bytes = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
    guard bytes.count == 6 else { usage() }
    out.destinationMAC = bytes
}
if mode == "mixed" {
    writeMixed(&out, packets: packets, random: &random)
} else {
    guard let sources = options["sources"].flatMap({ Int($0) }), sources > 0, sources < 1 << 24,
          let target = options["target"].flatMap(parseIPv4) else { usage() }
    writeFlood(&out, packets: packets, sources: sources, target: target, random: &random)
}
out.close()
print("wrote \(out.packets) packets to \(path)")
