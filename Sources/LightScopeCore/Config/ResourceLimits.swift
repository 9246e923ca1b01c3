/// The most memory and tasks `lightscope run` needs, by the formula the unit's `MemoryMax=` and
/// `TasksMax=` follow and `lightscope doctor` checks them against (docs/resources.md).
public enum ResourceLimits {
    /// The binary, the Swift runtime, thread stacks, SQLite's page cache, the status and metrics
    /// text: idle RSS measured 18.4 MiB (packaged build) to 28 MiB (development build).
    public static let runtimeMiB = 32
    /// Threads that do not depend on the interfaces: the runner, the event writer, metrics,
    /// the fleet shipper, and room for the runtime's own.
    public static let fixedTasks = 8
    /// Per captured interface: its packet loop and a detection thread, twice, for the loops a
    /// reload replaces or a hung loop leaves behind.
    public static let tasksPerInterface = 4
    /// Interfaces the shipped unit's limits allow for at the default settings.
    public static let shippedInterfaces = 16

    /// MiB: the runtime, the event queue and the writer's batch (two buffers of
    /// `eventQueueCapacity` events of `eventBytes`), the detection budget twice (a reload
    /// builds the new tables while the old ones still hold their state) and each
    /// interface's capture ring.
    public static func memoryMiB(_ settings: Settings, interfaces: Int, eventQueueCapacity: Int,
                                 eventBytes: Int = MemoryLayout<UnwantedEvent>.stride) -> Int {
        let eventBuffersMiB = (2 * eventQueueCapacity * eventBytes + (1 << 20) - 1) >> 20
        return runtimeMiB + eventBuffersMiB + 2 * settings.detection.memoryBudgetMiB + interfaces * settings.capture.bufferSizeMiB
    }

    public static func tasks(interfaces: Int) -> Int {
        fixedTasks + tasksPerInterface * interfaces
    }
}
