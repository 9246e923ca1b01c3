import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// The packet loops of one interface as one PACKET_FANOUT group: the kernel hands each packet
/// to one member's socket, every packet of one pair of addresses to the same member.
///
/// libpcap has no fan-out API: each member is an activated handle that joins with
/// setsockopt on its socket (`PcapHandle.join`).
///
/// Why by address pair, with a program of its own (PACKET_FANOUT_CBPF), rather than the
/// kernel's flow hash (PACKET_FANOUT_HASH): that hash reads the ports where it can, but a
/// fragment carries none it may read, so a fragmented probe's pieces and the host's
/// unfragmented answer hash differently and may reach different loops; the probe would then
/// go `unanswered` on one loop while its RST goes unexplained on another. The kernel's
/// PACKET_FANOUT_FLAG_DEFRAG would put IPv4 fragments together first, but not IPv6 ones,
/// and LightScope would no longer see the fragments its own reassembler judges (overlaps,
/// the fragment counters). The addresses are in every piece and in the answer, in the
/// other order: the program XORs source and destination, so both directions hash alike.
/// Detection's other state keyed by the remote and local address (recent connections,
/// backscatter victims) then stays with one loop too. What it gives up: one source probing
/// one address is one loop's work; a flood from many sources, or at many addresses, spreads.
///
/// The group's id is the kernel's choice (PACKET_FANOUT_FLAG_UNIQUEID), taken by the first
/// member and reused by the rest: two processes (two daemons, a test and a daemon) on one
/// interface never join each other's group, as a fixed or derived id could.
public final class FanoutGroup: @unchecked Sendable {
    /// The kernel's id for the group, once its first member joined. Used from the runner
    /// thread only, which opens the handles.
    public private(set) var id: UInt16?

    public init() {}

    // <linux/if_packet.h>, which Glibc's module does not export.
    static let packetFanoutOption: Int32 = 18 // PACKET_FANOUT
    static let packetFanoutDataOption: Int32 = 22 // PACKET_FANOUT_DATA
    static let fanoutTypeClassicBPF: UInt32 = 6 // PACKET_FANOUT_CBPF
    static let fanoutFlagUniqueID: UInt32 = 0x2000 // PACKET_FANOUT_FLAG_UNIQUEID
    static let solPacket: Int32 = 263 // SOL_PACKET

    /// Joins `socket` (an activated handle's) to the group, making the group if this is its
    /// first member; throws the kernel's complaint.
    func join(socket: Int32) throws(PcapHandle.OpenError) {
        var argument: UInt32 = id.map { UInt32($0) | Self.fanoutTypeClassicBPF << 16 }
            ?? (Self.fanoutTypeClassicBPF | Self.fanoutFlagUniqueID) << 16
        guard setsockopt(socket, Self.solPacket, Self.packetFanoutOption, &argument, socklen_t(MemoryLayout<UInt32>.size)) == 0 else {
            throw .failed("PACKET_FANOUT: \(String(cString: strerror(errno)))")
        }
        if id == nil {
            var joined: UInt32 = 0
            var length = socklen_t(MemoryLayout<UInt32>.size)
            guard getsockopt(socket, Self.solPacket, Self.packetFanoutOption, &joined, &length) == 0 else {
                throw .failed("PACKET_FANOUT (reading the group id): \(String(cString: strerror(errno)))")
            }
            id = UInt16(truncatingIfNeeded: joined)
        }
        var instructions = Self.addressPairHash
        let result = instructions.withUnsafeMutableBufferPointer { buffer in
            var program = SocketFilterProgram(length: UInt16(buffer.count), instructions: buffer.baseAddress!)
            return setsockopt(socket, Self.solPacket, Self.packetFanoutDataOption, &program,
                              socklen_t(MemoryLayout<SocketFilterProgram>.size))
        }
        guard result == 0 else { throw .failed("PACKET_FANOUT_DATA: \(String(cString: strerror(errno)))") }
    }

    /// `struct sock_fprog` of <linux/filter.h>.
    private struct SocketFilterProgram {
        var length: UInt16
        var instructions: UnsafeMutablePointer<bpf_insn>
    }

    /// A classic BPF program that returns a hash of the packet's addresses, the same for both
    /// directions (the kernel takes it modulo the members): the XOR of the source's and the
    /// destination's 32-bit words, multiplied by a golden-ratio constant and shifted, so that
    /// the high, well-mixed bits decide. Not IP: member 0. Loads are relative to the network
    /// header (SKF_NET_OFF), whatever the link layer.
    static let addressPairHash: [bpf_insn] = {
        let networkOffset: Int32 = -0x100000 // SKF_NET_OFF
        let protocolLoad = UInt32(bitPattern: -0x1000) // SKF_AD_OFF + SKF_AD_PROTOCOL
        func statement(_ code: Int32, _ k: UInt32) -> bpf_insn { bpf_insn(code: UInt16(code), jt: 0, jf: 0, k: k) }
        func word(_ offset: Int32) -> bpf_insn { statement(BPF_LD | BPF_W | BPF_ABS, UInt32(bitPattern: networkOffset + offset)) }
        func xorWords(_ offsets: [Int32]) -> [bpf_insn] {
            [word(offsets[0])] + offsets.dropFirst().flatMap { [statement(BPF_MISC | BPF_TAX, 0), word($0), statement(BPF_ALU | BPF_XOR | BPF_X, 0)] }
        }
        let ipv4 = xorWords([12, 16])
        let ipv6 = xorWords(Array(stride(from: Int32(8), to: 40, by: 4)))
        let mix = [statement(BPF_ALU | BPF_MUL | BPF_K, 0x9E37_79B1), statement(BPF_ALU | BPF_RSH | BPF_K, 16),
                   statement(BPF_RET | BPF_A, 0)]
        // Layout: protocol; is IPv4?; [ipv4; jump to mix]; is IPv6?; [ipv6]; mix; return 0.
        var program = [statement(BPF_LD | BPF_H | BPF_ABS, protocolLoad)]
        program.append(bpf_insn(code: UInt16(BPF_JMP | BPF_JEQ | BPF_K), jt: 0, jf: UInt8(ipv4.count + 1), k: 0x0800))
        program += ipv4
        program.append(statement(BPF_JMP | BPF_JA, UInt32(1 + ipv6.count)))
        program.append(bpf_insn(code: UInt16(BPF_JMP | BPF_JEQ | BPF_K), jt: 0, jf: UInt8(ipv6.count + mix.count), k: 0x86DD))
        program += ipv6
        program += mix
        program.append(statement(BPF_RET | BPF_K, 0))
        return program
    }()
}

extension PcapHandle {
    /// Joins this handle's socket to `group` (see `FanoutGroup`).
    public func join(_ group: FanoutGroup) throws(OpenError) {
        guard let fd = fileDescriptor else { throw .failed("the handle is closed") }
        try group.join(socket: fd)
    }
}
