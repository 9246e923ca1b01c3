#!/usr/bin/env bash
# The whole test suite: unit tests and the live tests in network namespaces
# (swift test, as root), then the system tests under a real systemd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
. scripts/env.sh
[ "$(id -u)" = 0 ] || { echo "error: the tests create network namespaces and a systemd container: run them as root (sudo)" >&2; exit 1; }
swift build --build-tests
swift test --skip-build
