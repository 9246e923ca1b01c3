import Foundation

/// Keeps every message a `NotifyListener` receives, for tests that look back over the whole
/// conversation (`messages`, `wait(after:)`) instead of consuming it message by message.
public final class NotifyRecorder: @unchecked Sendable {
    private let listener: NotifyListener
    private let lock = NSLock()
    private var received: [NotifyMessage] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Starts reading at once; call `stop()` when done (the thread holds the recorder until then).
    public init(_ listener: NotifyListener) {
        self.listener = listener
        let thread = Thread { [self] in
            while !isStopping {
                if let message = self.listener.receiveMessage(timeout: 0.05) {
                    lock.withLock { received.append(message) }
                }
            }
            finished.signal()
        }
        thread.start()
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// Everything received so far, oldest first.
    public var messages: [NotifyMessage] { lock.withLock { received } }

    /// Waits until a message received after `index` satisfies `match`; returns it, or nil on timeout.
    public func wait(after index: Int = 0, timeout: Double, for match: (NotifyMessage) -> Bool) -> NotifyMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let found = messages.dropFirst(index).first(where: match) { return found }
            usleep(20_000)
        } while Date() < deadline
        return messages.dropFirst(index).first(where: match)
    }

    /// The last STATUS= received, if any.
    public var lastStatus: String? { messages.last { $0.has("STATUS") }?.assignments["STATUS"] }

    /// Stops the reading thread; the listener is the caller's again.
    public func stop() {
        let wasStopping = lock.withLock { defer { stopping = true }; return stopping }
        if !wasStopping { finished.wait() }
    }
}

/// The figures of a `Processing packets: N seen, P pps, U unwanted, D dropped; ...` status.
public struct StatusFigures: Equatable {
    public var seen: UInt64
    public var unwanted: UInt64
    public var dropped: UInt64

    public init?(_ status: String) {
        guard status.hasPrefix("Processing packets: ") else { return nil }
        func number(before label: String) -> UInt64? {
            guard let range = status.range(of: " \(label)") else { return nil }
            return UInt64(status[..<range.lowerBound].reversed().prefix { $0.isNumber }.reversed().map(String.init).joined())
        }
        guard let seen = number(before: "seen"), let unwanted = number(before: "unwanted"),
              let dropped = number(before: "dropped") else { return nil }
        self.seen = seen
        self.unwanted = unwanted
        self.dropped = dropped
    }
}
