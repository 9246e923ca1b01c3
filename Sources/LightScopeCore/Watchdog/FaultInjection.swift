import Synchronization

/// Test-only hangs, armed only when LIGHTSCOPE_FAULT_INJECTION=1 was set at start-up.
/// They let the system tests prove that a hung loop really stops the watchdog pings.
public enum FaultInjection {
    public static let environmentVariable = "LIGHTSCOPE_FAULT_INJECTION"

    private static let packetLoopHangRequested = Atomic<Bool>(false)

    /// Makes every packet loop block forever inside packet processing at its next wake-up.
    public static func requestPacketLoopHang() { packetLoopHangRequested.store(true, ordering: .relaxed) }

    public static var isPacketLoopHangRequested: Bool { packetLoopHangRequested.load(ordering: .relaxed) }
}
