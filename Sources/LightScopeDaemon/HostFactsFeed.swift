import LightScopeCore

/// What detection must know about the host, re-read by the runner: the addresses on every
/// interface rescan, the listening ports every `listeningRefreshInterval`. Only what changed
/// is handed on, so the detection pipelines rarely see an update.
struct HostFactsFeed {
    private(set) var current = DetectionConsumer.HostFacts()
    private var nextListeningRefreshNanos: UInt64 = 0

    func isListeningRefreshDue(nowNanos: UInt64) -> Bool { nowNanos >= nextListeningRefreshNanos }

    /// Takes the host's addresses as read now, and re-reads the listening ports when asked;
    /// returns the changes, or nil when nothing changed.
    mutating func refresh(addresses: Set<IPAddress>, listening refreshListening: Bool, listeningInterval: Duration,
                          nowNanos: UInt64) -> DetectionConsumer.HostFacts? {
        var update = DetectionConsumer.HostFacts()
        if addresses != current.addresses {
            current.addresses = addresses
            update.addresses = addresses
        }
        if refreshListening {
            let listening = HostFactsReader.listeningPorts()
            if listening != current.listening {
                current.listening = listening
                update.listening = listening
            }
            nextListeningRefreshNanos = nowNanos + UInt64(listeningInterval.nanoseconds)
        }
        return update.addresses != nil || update.listening != nil ? update : nil
    }
}
