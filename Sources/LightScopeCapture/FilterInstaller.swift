import CPcap
import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// Puts the detection filter (`CaptureFilter`) on a live handle, direction and all.
///
/// Not through `pcap_setfilter` alone: when a filter is set on a memory-mapped ring, libpcap
/// runs it once more in user space over the ring block then being filled (its packets may
/// have passed the filter before), and its user-space interpreter cannot read the packet
/// type that `inbound` and `outbound` ask the kernel for, so the directional program would
/// drop every packet of that block: the first probes and answers, up to one read timeout,
/// of every capture opened. libpcap is given the same clauses without direction, which it
/// attaches and runs on that block as it should; the kernel's program is then replaced by
/// the directional one, attached the way libpcap attaches it (`SO_ATTACH_FILTER` on its
/// socket). What the first block held from before the swap, microseconds' worth, is judged
/// without direction. Linux cooked captures (SLL, SLL2) carry the packet type in the packet,
/// where libpcap's interpreter can read it: they get the directional program directly.
enum FilterInstaller {
    /// Installs the first candidate that compiles; nil, or a warning that says what the
    /// capture runs without. `replacing`: the handle has a filter already, which stays if
    /// none of the new ones compiles.
    static func install(on handle: OpaquePointer, linkType: Int32, loopback: Bool, hostAddresses: [IPAddress],
                        replacing: Bool) -> String? {
        let cooked = linkType == DLT_LINUX_SLL || linkType == 276 // DLT_LINUX_SLL2
        for candidate in CaptureFilter.candidates(linkType: linkType, loopback: loopback, hostAddresses: hostAddresses) {
            guard var kernel = compile(candidate.kernel, on: handle) else { continue }
            defer { pcap_freecode(&kernel) }
            if cooked || candidate.kernel == candidate.undirected {
                if pcap_setfilter(handle, &kernel) == 0 { return nil }
                continue
            }
            guard var undirected = compile(candidate.undirected, on: handle) else { continue }
            defer { pcap_freecode(&undirected) }
            guard pcap_setfilter(handle, &undirected) == 0 else { continue }
            guard attachToKernel(&kernel, socket: pcap_fileno(handle)) else {
                return "the kernel refused the direction filter (\(String(cString: strerror(errno)))): capturing with "
                    + "the detection filter without direction, where an answer forged to claim this host's address is "
                    + "taken for the host's own"
            }
            return nil
        }
        let problem = "the detection filter does not compile for link type \(linkType) (\(String(cString: pcap_geterr(handle))))"
        if replacing {
            return problem + " for the host's addresses as they are now; the filter for its earlier addresses stays, where an "
                + "answer forged to claim a new address is taken for the host's own"
        }
        return problem + "; capturing unfiltered, where an answer forged to claim this host's address is taken for the host's own"
    }

    private static func compile(_ expression: String, on handle: OpaquePointer) -> bpf_program? {
        var program = bpf_program()
        return pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 ? program : nil
    }

    /// Replaces the socket's filter: libpcap's `bpf_insn` is the kernel's `sock_filter`.
    private static func attachToKernel(_ program: inout bpf_program, socket: Int32) -> Bool {
        guard program.bf_len <= UInt32(UInt16.max), let instructions = program.bf_insns else { return false }
        var kernelProgram = sock_fprog(len: UInt16(program.bf_len),
                                       filter: UnsafeMutableRawPointer(instructions).assumingMemoryBound(to: sock_filter.self))
        return setsockopt(socket, SOL_SOCKET, SO_ATTACH_FILTER, &kernelProgram, socklen_t(MemoryLayout<sock_fprog>.size)) == 0
    }
}
