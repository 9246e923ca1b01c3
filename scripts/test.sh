#!/usr/bin/env bash
# The whole test suite: unit tests and the live tests in network namespaces
# (swift test, as root), the same under AddressSanitizer and ThreadSanitizer plus a
# short fuzz run (scripts/test-sanitizers.sh), then the Debian package: build it,
# lintian, and the system tests under a real systemd (Tests/system/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
. scripts/env.sh
[ "$(id -u)" = 0 ] || { echo "error: the tests create network namespaces and a systemd container: run them as root (sudo)" >&2; exit 1; }
# Every command and output shown in README.md, docs/ and the man page has a test (Tests/examples).
Tests/examples/examples.py check
swift build --build-tests
swift test --skip-build

scripts/test-sanitizers.sh

echo "== Debian package"
deb=$(packaging/build-deb.sh | tail -n1)
# A second, higher version of the same tree, for the upgrade scenario.
deb_new=$(LIGHTSCOPE_VERSION="$(dpkg-deb -f "$deb" Version)+systest1" packaging/build-deb.sh | tail -n1)

echo "== lintian $deb"
# Errors and warnings fail the build; overrides live in packaging/lintian-overrides with reasons.
lintian --fail-on error,warning --display-info "$deb"

echo "== system tests under systemd"
LIGHTSCOPE_DEB=$deb LIGHTSCOPE_DEB_NEW=$deb_new Tests/system/run.sh
