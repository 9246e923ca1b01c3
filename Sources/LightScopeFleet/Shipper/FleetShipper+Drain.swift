import LightScopeCore
import LightScopeSystem
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif

/// The drain: batches in id order, each its own INSERT and transaction, with up to
/// `[fleet] connections` of them in flight on as many connections, so that the collector
/// inserts batches side by side (on as many of its cores) while the next is read from the
/// store and encoded. The cursor moves strictly in order, past a batch only once it and every
/// batch before it have committed: a crash or a lost connection re-sends at most the batches
/// that were in flight, and the collector skips their rows it already has.
extension FleetShipper {
    /// A batch read and encoded, ready to send.
    struct Batch {
        var lastID: Int64
        var count: Int
        var parameters: [BinaryParameter]
        var skippingKnown = false
    }

    /// Ships until the store has no more, the heartbeat is due, or something fails.
    func drain(retryAt nextAttemptNanos: inout UInt64, heartbeatDueNanos: UInt64) {
        guard let store, !sessions.isEmpty else { return }
        let batchEvents = configuration.settings.batchEvents
        var inFlight: [(lane: Int, batch: Batch)] = []
        var caughtUp = false
        do {
            let storeID = try store.storeID()
            func prepare(after id: Int64) throws(StoreError) -> Batch? {
                let events = try store.events(after: id, limit: batchEvents)
                guard let last = events.last else {
                    caughtUp = true
                    return nil
                }
                if events.count < batchEvents { caughtUp = true }
                return Batch(lastID: last.id, count: events.count,
                             parameters: FleetBatch.parameters(events, hostID: configuration.hostID, storeID: storeID))
            }
            var next = try prepare(after: try store.shippedThrough())
            while !isStopping {
                while var batch = next, let lane = freeLane(busy: inFlight.map(\.lane)) {
                    batch.skippingKnown = batchesThatMayBeKnown > 0
                    batchesThatMayBeKnown = max(0, batchesThatMayBeKnown - 1)
                    guard send(batch, on: lane, retryAt: &nextAttemptNanos) else { return }
                    inFlight.append((lane, batch))
                    let full = batch.count == batchEvents && MonotonicClock.nowNanos() < heartbeatDueNanos
                    next = full ? try prepare(after: batch.lastID) : nil
                    heartbeat.beat()
                }
                guard let (lane, oldest) = inFlight.first else { break }
                guard finish(oldest, on: lane, retryAt: &nextAttemptNanos) else { return }
                inFlight.removeFirst()
                commits += 1
                if let kill = configuration.killAfterCommits, commits >= kill { raise(SIGKILL) }
                try store.markShipped(through: oldest.lastID)
                shipped(oldest.count)
            }
            // Caught up: back to one connection until the next backlog.
            if caughtUp, inFlight.isEmpty, sessions.count > 1 { sessions.removeSubrange(1...) }
        } catch {
            storeFailed(error)
        }
    }

    /// A connection with no batch in flight; another one is opened while a backlog waits and
    /// `[fleet] connections` allows it. nil: every connection is busy.
    private func freeLane(busy: [Int]) -> Int? {
        if let idle = sessions.indices.first(where: { !busy.contains($0) }) { return idle }
        let now = MonotonicClock.nowNanos()
        guard sessions.count < configuration.settings.connections, now >= extraConnectionsHeldOffUntilNanos else { return nil }
        do {
            sessions.append(try openSession())
            return sessions.count - 1
        } catch {
            // The collector may be at max_connections: ship over fewer for a while, say so once.
            extraConnectionsHeldOffUntilNanos = now + UInt64(configuration.settings.retryMaxInterval.nanoseconds)
            log(.notice, "Fleet: shipping over \(sessions.count) connection(s): another was refused (\(error.message)); trying again in \(DurationText.format(configuration.settings.retryMaxInterval))")
            return nil
        }
    }

    private func send(_ batch: Batch, on lane: Int, retryAt nextAttemptNanos: inout UInt64) -> Bool {
        do {
            try sessions[lane].send(batch.parameters, skippingKnown: batch.skippingKnown)
            return true
        } catch {
            failed(error, retryAt: &nextAttemptNanos)
            return false
        }
    }

    /// Waits for the batch on `lane` to commit. A batch sent as plain INSERT that meets a row the
    /// collector has (an earlier run died with more batches in flight than this one expects)
    /// is refused whole (unique_violation) and sent again, skipping known rows.
    private func finish(_ batch: Batch, on lane: Int, retryAt nextAttemptNanos: inout UInt64) -> Bool {
        do {
            try sessions[lane].finish()
            return true
        } catch where error.sqlState == PostgresError.uniqueViolation && !batch.skippingKnown {
            var again = batch
            again.skippingKnown = true
            return send(again, on: lane, retryAt: &nextAttemptNanos) && finish(again, on: lane, retryAt: &nextAttemptNanos)
        } catch {
            failed(error, retryAt: &nextAttemptNanos)
            return false
        }
    }
}
