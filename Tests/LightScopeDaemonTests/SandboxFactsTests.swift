@testable import LightScopeDaemon
import XCTest

final class SandboxFactsTests: XCTestCase {
    func testCgroupV2IsTheUnifiedOrTheHybridMount() {
        let legacy = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n"
        XCTAssertFalse(SandboxFacts.hasCgroupV2(mounts: legacy))
        XCTAssertTrue(SandboxFacts.hasCgroupV2(mounts: legacy + "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nsdelegate 0 0\n"))
        XCTAssertTrue(SandboxFacts.hasCgroupV2(mounts: "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n"))
        XCTAssertFalse(SandboxFacts.hasCgroupV2(mounts: "cgroup2 /mnt/elsewhere cgroup2 rw 0 0\n"))
    }

    func testOnlyAUnitHasASandbox() {
        XCTAssertEqual(SandboxFacts.current(environment: [:]), .none)
        XCTAssertNotEqual(SandboxFacts.current(environment: ["INVOCATION_ID": "0f3c"]), .none)
    }
}
