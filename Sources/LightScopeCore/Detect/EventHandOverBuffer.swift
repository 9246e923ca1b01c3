/// The events a packet loop reported since its last hand-over, in order, waiting to be handed
/// to its sink in one call (`EventSink.submit(contentsOf:)`, which reads them where they are).
///
/// One block of `capacity` events, allocated once. An array in its place cost a judged probe
/// two copies of its event (173 bytes, a memcpy call each: one into the array, one before,
/// because the event passed in might have been one of the array's own) and a uniqueness check
/// of the array's buffer; here the event is copied once, into its slot.
public struct EventHandOverBuffer: ~Copyable {
    public let capacity: Int
    private let slots: UnsafeMutablePointer<UnwantedEvent>
    public private(set) var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a hand-over buffer holds at least one event")
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    /// Adds `event` after the others; true when the buffer is then full (hand it over).
    @inline(__always)
    public mutating func append(_ event: UnwantedEvent) -> Bool {
        nextSlot.initialize(to: event)
        return claimNextSlot()
    }

    /// Where the next event goes: a caller that copies its event here first, before any call,
    /// copies it once (`claimNextSlot` then counts it). Always free: a full buffer is handed
    /// over and emptied before the next event.
    public var nextSlot: UnsafeMutablePointer<UnwantedEvent> { slots + count }

    /// Counts the event initialized at `nextSlot`; true when the buffer is then full.
    @inline(__always)
    public mutating func claimNextSlot() -> Bool {
        count &+= 1
        return count == capacity
    }

    /// The events waiting, in order, valid until the next `append` or `removeAll`.
    public var events: UnsafeBufferPointer<UnwantedEvent> { UnsafeBufferPointer(start: slots, count: count) }

    public mutating func removeAll() {
        slots.deinitialize(count: count)
        count = 0
    }
}
