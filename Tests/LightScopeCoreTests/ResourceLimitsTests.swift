@testable import LightScopeCore
import Foundation
import XCTest

/// The unit's MemoryMax= and TasksMax= follow `ResourceLimits`, and doctor holds a unit to it.
/// The kernel's side cannot be exercised here (this machine's cgroup controllers are
/// read-only), so these test the formula and the check, not the kill.
final class ResourceLimitsTests: XCTestCase {
    /// The shipped daemon's event queue (EventPipeline.defaultQueueCapacity, in LightScopeStore).
    let queueCapacity = 65_536

    private func shippedUnit() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("packaging/lightscope.service"), encoding: .utf8)
    }

    private func value(_ key: String, in unit: String) -> String? {
        unit.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    func testTheShippedUnitCoversTheFormulaForSixteenInterfaces() throws {
        let unit = try shippedUnit()
        let memory = try XCTUnwrap(value("MemoryMax", in: unit), "MemoryMax= missing from packaging/lightscope.service")
        XCTAssertTrue(memory.hasSuffix("M"), memory)
        let memoryMiB = try XCTUnwrap(Int(memory.dropLast()))
        let tasks = try XCTUnwrap(value("TasksMax", in: unit).flatMap { Int($0) }, "TasksMax= missing")
        let interfaces = ResourceLimits.shippedInterfaces
        let needed = ResourceLimits.memoryMiB(Settings(), interfaces: interfaces, eventQueueCapacity: queueCapacity)
        XCTAssertGreaterThanOrEqual(memoryMiB, needed)
        XCTAssertLessThan(memoryMiB, needed + 32, "no more than rounding up")
        XCTAssertGreaterThanOrEqual(tasks, ResourceLimits.tasks(interfaces: interfaces))
        print("formula at the defaults for \(interfaces) interfaces: \(needed) MiB (events of \(MemoryLayout<UnwantedEvent>.stride) bytes), \(ResourceLimits.tasks(interfaces: interfaces)) tasks; unit: \(memory), \(tasks)")
    }

    func testFormulaGrowsWithTheBudgetTwiceAndWithEachRing() {
        var settings = Settings()
        let base = ResourceLimits.memoryMiB(settings, interfaces: 1, eventQueueCapacity: queueCapacity, eventBytes: 160)
        XCTAssertEqual(base, 32 + 20 + 2 * 64 + 4)
        settings.detection.memoryBudgetMiB = 256
        settings.capture.bufferSizeMiB = 32
        XCTAssertEqual(ResourceLimits.memoryMiB(settings, interfaces: 3, eventQueueCapacity: queueCapacity, eventBytes: 160),
                       32 + 20 + 2 * 256 + 3 * 32)
        XCTAssertEqual(ResourceLimits.tasks(interfaces: 3), 8 + 12)
    }

    private func check(_ properties: String, interfaces: Int = 2) -> DoctorCheck {
        let settings = Settings()
        return Doctor.resources(SystemdUnitProperties(parsing: properties),
                                requiredMemoryMiB: ResourceLimits.memoryMiB(settings, interfaces: interfaces, eventQueueCapacity: queueCapacity, eventBytes: 160),
                                requiredTasks: ResourceLimits.tasks(interfaces: interfaces), interfaces: interfaces, settings: settings)
    }

    func testDoctorPassesTheShippedLimits() {
        let result = check("MemoryMax=268435456\nTasksMax=80\n")
        XCTAssertTrue(result.passed, result.line)
        XCTAssertEqual(result.line, "PASS resources: MemoryMax=256 MiB, TasksMax=80; 2 interfaces at memory_budget_mib=64 and buffer_size_mib=4 need 188 MiB and 16 tasks (docs/resources.md)")
    }

    func testDoctorFailsALimitBelowTheFormulaOrNone() {
        let low = check("MemoryMax=134217728\nTasksMax=80\n")
        XCTAssertFalse(low.passed)
        XCTAssertTrue(low.line.contains("the kernel would kill the daemon"), low.line)
        XCTAssertTrue(low.line.contains("-> fix: systemctl edit lightscope and set [Service] MemoryMax=188M TasksMax=16 or more"), low.line)
        XCTAssertFalse(check("MemoryMax=268435456\nTasksMax=10\n").passed)
        XCTAssertFalse(check("MemoryMax=268435456\nTasksMax=80\n", interfaces: 40).passed, "40 rings and tasks do not fit")
        let none = check("MemoryMax=infinity\nTasksMax=infinity\n")
        XCTAssertFalse(none.passed)
        XCTAssertTrue(none.line.contains("MemoryMax=infinity, TasksMax=infinity"), none.line)
        XCTAssertTrue(none.line.contains("without a limit"), none.line)
    }
}
