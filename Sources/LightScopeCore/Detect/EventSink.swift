/// Where detection hands its events: the journal, the local store, replay's output.
/// Called from capture threads; implementations must not block them.
public protocol EventSink: AnyObject, Sendable {
    /// False when the event could not be accepted (and was counted as dropped).
    @discardableResult
    func submit(_ event: UnwantedEvent) -> Bool

    /// Events it can take now without dropping any: detection holds back what is beyond it
    /// (`DetectionEngine.allowReports`).
    var room: Int { get }
}

extension EventSink {
    public var room: Int { .max }
}
