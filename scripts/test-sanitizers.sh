#!/usr/bin/env bash
# The test suite under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer, then a short
# fuzz run. Called by scripts/test.sh; runs alone too (as root, like the suite itself).
#
# Each sanitizer builds into its own scratch path (.build-asan, .build-tsan). The daemon tests
# start the lightscope binary from that scratch path, so the daemon runs sanitized as well.
# Every report, from the test process or from a daemon it started, goes to a file under
# .build-sanitizer-logs; any report fails this script, even when no test noticed it (a race in
# a daemon whose exit status a test did not check, say). LIGHTSCOPE_SANITIZER tells the tests
# which one runs (HostileTrafficTests then skips its resident-memory bound).
#
# What runs sanitized: the unit tests (Core, Store, Systemd, CLI), the capture loop, the
# in-process runner and detection pipeline (every thread of the daemon), the fleet shipper
# against a real PostgreSQL, and live smoke tests of the real daemon (an nmap scan in a
# namespace, a hung packet loop under the watchdog, nmap events reaching the collector). The
# plain run (scripts/test.sh) runs every test; LIGHTSCOPE_SANITIZER_TESTS=all runs every test
# here too (about three times as long), or set it to any `swift test --filter` pattern.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/stages.sh
fuzz_seconds=${LIGHTSCOPE_FUZZ_SECONDS:-60}
sanitized_tests='^(LightScopeCoreTests|LightScopeStoreTests|LightScopeSystemdTests|LightScopeCLITests|LightScopeCaptureTests)\.'
sanitized_tests+='|^LightScopeSystemTests\.|^LightScopeFastTablesTests\.|^LightScopeReplayTests\.(HandoffQueueTests|OffloadedConsumerTests)/'
sanitized_tests+='|^LightScopeDaemonTests\.(Runner[A-Za-z]*Tests|DetectionConsumerTests|LiveDetectionTests)/'
sanitized_tests+='|^LightScopeDaemonTests\.WatchdogStallTests/testHungPacketLoopStopsPingsAndTriggersARestart$'
sanitized_tests+='|^LightScopeFleetTests\.(FleetPartsTests|FleetShipperTests)/'
sanitized_tests+='|^LightScopeFleetTests\.FleetDaemonTests/testNmapEventsReachTheCollectorWithThisHostsIdAndFields$'
case ${LIGHTSCOPE_SANITIZER_TESTS:-} in
    '') filter=(--filter "$sanitized_tests") ;;
    all) filter=() ;;
    *) filter=(--filter "$LIGHTSCOPE_SANITIZER_TESTS") ;;
esac
logs=$PWD/.build-sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"

check_reports() {
    local name=$1
    if compgen -G "$logs/$name.*" >/dev/null; then
        echo "error: $name reported problems:" >&2
        cat "$logs/$name".* >&2
        exit 1
    fi
}

stage "AddressSanitizer: build"
swift build --build-tests --sanitize=address --scratch-path .build-asan
stage "AddressSanitizer: tests"
LIGHTSCOPE_SANITIZER=address ASAN_OPTIONS=log_path=$logs/asan:detect_leaks=1 \
LSAN_OPTIONS=suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0 \
    swift test --skip-build --sanitize=address --scratch-path .build-asan ${filter[@]+"${filter[@]}"}
check_reports asan

stage "ThreadSanitizer: build"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
stage "ThreadSanitizer: tests"
LIGHTSCOPE_SANITIZER=thread TSAN_OPTIONS=log_path=$logs/tsan:halt_on_error=0:suppressions=$PWD/scripts/tsan-suppressions.txt \
    swift test --skip-build --sanitize=thread --scratch-path .build-tsan ${filter[@]+"${filter[@]}"}
check_reports tsan

stage "fuzzing decode and detect for ${fuzz_seconds}s"
Fuzz/run.sh --seconds "$fuzz_seconds"
