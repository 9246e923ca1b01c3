#!/bin/bash
# The watchdog part of bench/run.sh: boots a throw-away real systemd 252 in a container
# (the system tests' Tests/system/container.sh), runs the release binary as a Type=notify
# service there with the packaged unit's watchdog settings, hangs it and times how long
# until systemd has it running again. Prints Markdown table rows on stdout; progress on stderr.
#
#   sudo bench/watchdog.sh [--quick]     (--quick: only the short WatchdogSec)
#
# Hangs: SIGSTOP of the whole process, and a hung packet loop (fault injection:
# LIGHTSCOPE_FAULT_INJECTION=1 and SIGUSR1), which only the two-level watchdog notices.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
CT_NAME=lsbench CT_STATE=/var/lib/lightscope-bench
. "$ROOT/Tests/system/container.sh"
X=ct_exec
CONFIGS="5:1 30:10" # WatchdogSec:RestartSec; 30/10 is the packaged unit's
[ "${1:-}" = --quick ] && CONFIGS="5:1"

mkdir -p "$CT_STATE/share"
# The container sees the host's root as it was at boot: hand it this build explicitly.
cp "$ROOT/.build/release/lightscope" "$CT_STATE/share/lightscope"
ct_up systemd.mask=postgresql.service systemd.mask=postgresql@15-main.service systemd.mask=prometheus.service >&2
trap 'ct_down >&2; rm -rf "$CT_STATE"' EXIT
$X ip link add lsw0 type veth peer name lsw1
$X ip addr add 192.0.2.1/24 dev lsw0
$X ip link set lsw0 up
$X ip link set lsw1 up

show() { $X systemctl show -P "$1" lightscope-bench; }

install_unit() {
    $X sh -c "cat > /etc/systemd/system/lightscope-bench.service" <<EOF
[Unit]
StartLimitIntervalSec=0
[Service]
Type=notify
NotifyAccess=main
WatchdogSec=$1
Restart=always
RestartSec=$2
# As the packaged unit (packaging/lightscope.service): no Swift backtracer, a short abort timeout.
Environment=LIGHTSCOPE_FAULT_INJECTION=1 SWIFT_BACKTRACE=enable=no
TimeoutAbortSec=5s
ExecStart=/share/lightscope run --interface lsw0 --state-dir /var/lib/lightscope-bench
EOF
    $X systemctl daemon-reload
    $X systemctl restart lightscope-bench
    for _ in $(seq 1 100); do [ "$(show SubState)" = running ] && return 0; sleep 0.1; done
    echo "lightscope-bench did not start:" >&2; $X journalctl -u lightscope-bench --no-pager -n 20 >&2; exit 1
}

# Sends $2 to the main PID and prints the seconds until a new main process is running.
time_to_running() {
    local limit=$1 signal=$2 restarts pid start
    restarts=$(show NRestarts); pid=$(show MainPID)
    start=$EPOCHREALTIME
    $X kill "-$signal" "$pid"
    while python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $start < $limit + 110 else 1)"; do
        if [ "$(show NRestarts)" -gt "$restarts" ] && [ "$(show SubState)" = running ]; then
            python3 -c "print(f'{$EPOCHREALTIME - $start:.1f}')"
            return 0
        fi
        sleep 0.1
    done
    echo "not running again after $((limit + 110)) s"
}

for config in $CONFIGS; do
    watchdog=${config%:*}; restart=${config#*:}; limit=$((watchdog + restart + 2))
    install_unit "$watchdog" "$restart"
    echo "watchdog: WatchdogSec=$watchdog RestartSec=$restart, SIGSTOP" >&2
    echo "| SIGSTOP (whole process) | $watchdog | $restart | $(time_to_running "$limit" STOP) | $limit |"
    sleep 1
    echo "watchdog: WatchdogSec=$watchdog RestartSec=$restart, packet-loop hang" >&2
    echo "| packet loop hung (fault injection, SIGUSR1) | $watchdog | $restart | $(time_to_running "$limit" USR1) | $limit |"
done
$X systemctl stop lightscope-bench
