import Synchronization

/// What a replay leaves to the kernel to reclaim at exit (`Replay.processExitsAfterwards`),
/// held here so that it stays referenced until then: a leak checker (LeakSanitizer, in the
/// sanitizer runs) counts it as memory in use, not as memory lost.
enum KeptUntilExit {
    private struct Held: @unchecked Sendable {
        var objects: [AnyObject] = []
        var memory: [UnsafeMutableRawPointer] = []
    }

    private static let held = Mutex(Held())

    static func keep(_ object: AnyObject? = nil, memory: [UnsafeMutableRawPointer] = []) {
        held.withLock { held in
            if let object { held.objects.append(object) }
            held.memory += memory
        }
    }
}
