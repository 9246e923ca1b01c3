/// What a run of verdicts (a timer run's, or a chunk's at the end) asks once and keeps, as
/// nothing between its verdicts changes it (no packet comes between them).
///
/// The last destination it asked `LocalAddresses` about, and the answer: a flood's probes
/// mostly share a handful of destinations, and the local addresses change only between
/// packets (learnt from an answer, or the host's set replaced): one lookup per destination,
/// not per probe (with `--local` prefixes, each lookup walks them).
///
/// Whether any connection was recent as the run began (`mayBeLate`): the verdicts change no
/// connection. Asked for each probe (its prefetch and its verdict), the two connection
/// tables' counts were loaded and added twice a judged probe; as an argument of its own, it
/// went on the stack of the verdict's call. Here it is in the run the verdict is handed anyway.
struct VerdictRun {
    let mayBeLate: Bool
    private var address = IPAddress(high: 0, low: 0)
    private var isKnown = false
    private var answer = false

    init(mayBeLate: Bool) {
        self.mayBeLate = mayBeLate
    }

    /// Whether `candidate` is local, from `addresses` unless it is the address asked before.
    /// (`addresses` is asked through a closure: passed as a value, the whole `LocalAddresses`
    /// was copied for every probe, asked or not.)
    @inline(__always)
    mutating func isLocal(_ candidate: IPAddress, asking addresses: (IPAddress) -> Bool) -> Bool {
        if isKnown && candidate == address { return answer }
        answer = addresses(candidate)
        address = candidate
        isKnown = true
        return answer
    }
}
