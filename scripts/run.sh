#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running LightScope:
# installs the packages it needs, builds a release binary and runs it in the foreground.
# Arguments go to `lightscope run` (for example --interface eth0 --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
. scripts/env.sh
swift build -c release --product lightscope
exec .build/release/lightscope run "$@"
