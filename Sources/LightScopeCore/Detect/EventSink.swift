/// Where detection hands its events: the journal, the local store, replay's output.
/// Called from capture threads; implementations must not block them.
public protocol EventSink: AnyObject, Sendable {
    /// False when the event could not be accepted (and was counted as dropped).
    @discardableResult
    func submit(_ event: UnwantedEvent) -> Bool

    /// The events in order, as `submit` of each one after the other, in one call: a sink may
    /// take its lock once for them all (a packet loop hands over a ring drain's or a timer
    /// run's events at once). How many it accepted.
    @discardableResult
    func submit(contentsOf events: [UnwantedEvent]) -> Int

    /// `submit(contentsOf:)` of events where they are: a packet loop's hand-over buffer
    /// (`EventHandOverBuffer`), read in place, not copied into an array first. The events
    /// are valid only during the call: a sink that keeps them copies them.
    @discardableResult
    func submit(contentsOf events: UnsafeBufferPointer<UnwantedEvent>) -> Int

    /// Events it can take now without dropping any: detection holds back what is beyond it
    /// (`DetectionEngine.allowReports`).
    var room: Int { get }
}

extension EventSink {
    public var room: Int { .max }

    @discardableResult
    public func submit(contentsOf events: [UnwantedEvent]) -> Int {
        var accepted = 0
        for event in events where submit(event) { accepted &+= 1 }
        return accepted
    }

    /// A sink that takes only arrays gets one, in one call (tests' recorders).
    @discardableResult
    public func submit(contentsOf events: UnsafeBufferPointer<UnwantedEvent>) -> Int {
        submit(contentsOf: Array(events))
    }
}
