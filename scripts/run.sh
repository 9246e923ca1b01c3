#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running LightScope:
# installs the packages it needs, builds a release binary and runs it in the foreground.
# Arguments go to `lightscope run` (for example --interface eth0 --log-level debug).
#
# Development runs keep their own state, root's alone, in /var/lib/lightscope-dev (its
# runtime files in /var/lib/lightscope-dev/run), never the package's /var/lib/lightscope:
# a later 'dpkg -i' would count these runs as its own restarts, and root writing into the
# lightscope user's directories is how symlink attacks start. Pass --state-dir to choose.
set -euo pipefail
cd "$(dirname "$0")/.."
state_dir=/var/lib/lightscope-dev
for argument in "$@"; do
    case "$argument" in
        --state-dir|--state-dir=*) state_dir= ;;
    esac
done
scripts/install-deps.sh
. scripts/env.sh
swift build -c release --product lightscope
if [ -n "$state_dir" ]; then
    # Root's own (0700): no other user can plant files or links in it.
    install -d -m 0700 -o root -g root "$state_dir"
    set -- --state-dir "$state_dir" "$@"
fi
exec .build/release/lightscope run "$@"
