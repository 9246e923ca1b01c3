import LightScopeCore
import LightScopeSystem

/// Runs `consumeBatch` on every element a producer sends, in the order sent, on a thread of its
/// own: for work that follows a hot loop but need not hold it up (replay's detection after
/// decoding, its tallies and JSON lines after detection). Elements travel in batches through
/// a pair of `HandoffQueue`s (full batches one way, emptied ones back), so a send is an array
/// append and a thread handoff happens once per `batchSize` elements; the arrays are reused,
/// not reallocated.
///
/// A struct, owned by the one producer thread: `send` from that thread only, then `finish`,
/// which returns once every element sent has been consumed. Until then `consumeBatch` may run at
/// any time on the consumer thread, so what it touches belongs to that thread alone; after
/// `finish` returns, the producer may read it (the join publishes it).
public struct OffloadedConsumer<Element>: @unchecked Sendable {
    public let batchSize: Int
    // Used by the inlinable `send`, so that it is specialised for the element type where it
    // is called: an unspecialised append copies each element through its value witnesses.
    @usableFromInline var batch: [Element]
    private let full: HandoffQueue<[Element]>
    private let empty: HandoffQueue<[Element]>
    private let thread = DedicatedThread()

    /// Calls `consumeBatch` with each batch (at most `batchSize` elements, in order), which
    /// reads the elements where they lie in the batch: a call per element would copy each
    /// out first, which for a large element costs more than the consumer's own work.
    /// - Parameters:
    ///   - batchesInFlight: batches that exist at once (at least 2): while the consumer works
    ///     through some, the producer fills another; a producer that gets this far ahead waits.
    public init(name: String, batchSize: Int, batchesInFlight: Int, consumeBatch: @escaping ([Element]) -> Void) {
        precondition(batchSize > 0 && batchesInFlight >= 2)
        self.batchSize = batchSize
        let full = HandoffQueue<[Element]>(capacity: batchesInFlight)
        let empty = HandoffQueue<[Element]>(capacity: batchesInFlight)
        for _ in 1..<batchesInFlight { empty.put(Self.emptyBatch(batchSize)) }
        batch = Self.emptyBatch(batchSize)
        self.full = full
        self.empty = empty
        thread.start(name: name) {
            while var batch = full.take() {
                consumeBatch(batch)
                batch.removeAll(keepingCapacity: true)
                empty.put(batch)
            }
        }
    }

    private static func emptyBatch(_ size: Int) -> [Element] {
        var batch: [Element] = []
        batch.reserveCapacity(size)
        return batch
    }

    @inlinable
    public mutating func send(_ element: Element) {
        batch.append(element)
        if batch.count >= batchSize { handOver() }
    }

    @usableFromInline
    mutating func handOver() {
        // The consumer hands every batch back until `full` is closed, and only `finish` closes it.
        var outgoing = empty.take()!
        swap(&outgoing, &batch)
        full.put(outgoing)
    }

    /// Hands over what is left, waits until the consumer has consumed everything, and ends
    /// its thread. Call exactly once; no `send` after it.
    public mutating func finish() {
        if !batch.isEmpty { handOver() }
        full.close()
        thread.join()
        empty.close()
    }
}
