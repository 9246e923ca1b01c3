/// Where detection hands its events: the journal, the local store, replay's output.
/// Called from capture threads; implementations must not block them.
public protocol EventSink: AnyObject, Sendable {
    func submit(_ event: UnwantedEvent)
}
