/// The last address a run of verdicts asked `LocalAddresses` about, and its answer. The
/// probes a timer run judges mostly share a handful of destinations, and the local
/// addresses change only between packets (learnt from an answer, or the host's set
/// replaced), never during the run: one lookup per destination, not per probe (with
/// `--local` prefixes, each lookup walks them).
struct KnownLocal {
    private var address = IPAddress(high: 0, low: 0)
    private var isKnown = false
    private var answer = false

    init() {}

    /// Whether `candidate` is local, from `addresses` unless it is the address asked before.
    /// Use one `KnownLocal` for one run of verdicts only. (`addresses` is asked through a
    /// closure: passed as a value, the whole `LocalAddresses` was copied for every probe,
    /// asked or not.)
    @inline(__always)
    mutating func isLocal(_ candidate: IPAddress, asking addresses: (IPAddress) -> Bool) -> Bool {
        if isKnown && candidate == address { return answer }
        answer = addresses(candidate)
        address = candidate
        isKnown = true
        return answer
    }
}
