extension Doctor {
    /// The unit's MemoryMax= and TasksMax= against `ResourceLimits` for the interfaces that
    /// will be captured: too low, and the kernel kills the daemon under a flood or a reload;
    /// `infinity`, and nothing stops a leak from taking the host's memory.
    public static func resources(_ unit: SystemdUnitProperties, requiredMemoryMiB: Int, requiredTasks: Int,
                                 interfaces: Int, settings: Settings) -> DoctorCheck {
        let memory = unit["MemoryMax"].flatMap(UInt64.init)
        let tasks = unit["TasksMax"].flatMap(Int.init)
        let memoryText = memory.map { "\($0 >> 20) MiB" } ?? (unit["MemoryMax"] ?? "unset")
        let tasksText = tasks.map(String.init) ?? (unit["TasksMax"] ?? "unset")
        let found = "MemoryMax=\(memoryText), TasksMax=\(tasksText); \(interfaces) interface\(interfaces == 1 ? "" : "s") at memory_budget_mib=\(settings.detection.memoryBudgetMiB) and buffer_size_mib=\(settings.capture.bufferSizeMiB) need \(requiredMemoryMiB) MiB and \(requiredTasks) tasks (docs/resources.md)"
        let fix = "systemctl edit lightscope and set [Service] MemoryMax=\(requiredMemoryMiB)M TasksMax=\(requiredTasks) or more (or lower memory_budget_mib or buffer_size_mib), then systemctl restart lightscope"
        guard let memory, let tasks else {
            return .fail("resources", "\(found): without a limit a leak or a flood beyond the budget can take the host's memory", fix: fix)
        }
        guard memory >= UInt64(requiredMemoryMiB) << 20, tasks >= requiredTasks else {
            return .fail("resources", "\(found): the kernel would kill the daemon under a flood or during a reload", fix: fix)
        }
        return .pass("resources", found)
    }
}
