#!/usr/bin/env bash
# System tests of the Debian package under a real systemd (Debian 12's v252),
# in a throw-away container (Tests/system/container.sh) with its own network.
#
#   sudo Tests/system/run.sh
#
# Uses LIGHTSCOPE_DEB (the package under test) and LIGHTSCOPE_DEB_NEW (a higher
# version of it, for the upgrade); builds both with packaging/build-deb.sh when unset.
# One function per scenario; prints PASS/FAIL per scenario and, last,
# "N passed, M failed". Exits non-zero if any scenario failed. The container is
# always torn down (trap). Test traffic stays inside the container: 192.0.2.0/24
# (TEST-NET-1) on a veth pair whose far end sits in a namespace of its own.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "error: the system tests boot a container: run them as root" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "error: systemd-nspawn missing: apt-get install systemd-container (scripts/install-deps.sh)" >&2; exit 1; }

. Tests/system/container.sh
. Tests/system/alerts.sh
. Tests/system/examples.sh

# Timings the tests set through drop-ins, to keep the run short.
FAST_WATCHDOG_SEC=3
FAST_RESTART_SEC=1
EDITED_WATCHDOG_SEC=7
CONF=/etc/lightscope/lightscope.conf
DROPIN_DIR=/etc/systemd/system/lightscope.service.d
# Named as a server's first interface would be, as the documents' examples show it.
CAPTURE_IF=eth0
HOST_ADDR=192.0.2.1
PEER_ADDR=192.0.2.2

# --- the packages -----------------------------------------------------------------
if [ -z "${LIGHTSCOPE_DEB:-}" ]; then
    echo "== building the package (packaging/build-deb.sh)"
    LIGHTSCOPE_DEB=$(packaging/build-deb.sh | tail -n1) || exit 1
fi
OLD_VERSION=$(dpkg-deb -f "$LIGHTSCOPE_DEB" Version)
if [ -z "${LIGHTSCOPE_DEB_NEW:-}" ]; then
    echo "== building a newer version for the upgrade test"
    LIGHTSCOPE_DEB_NEW=$(LIGHTSCOPE_VERSION="$OLD_VERSION+systest1" packaging/build-deb.sh | tail -n1) || exit 1
fi
NEW_VERSION=$(dpkg-deb -f "$LIGHTSCOPE_DEB_NEW" Version)
dpkg --compare-versions "$NEW_VERSION" gt "$OLD_VERSION" || { echo "error: $NEW_VERSION is not newer than $OLD_VERSION" >&2; exit 1; }

# --- helpers ------------------------------------------------------------------------
X() { ct_exec "$@"; }
prop() { X systemctl show -P "$1" lightscope.service; }
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_until SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_until() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# expect DESCRIPTION CMD...: run CMD; on failure say what was expected.
expect() {
    local what=$1; shift
    "$@" && return 0
    echo "    expected: $what"
    return 1
}

# The journal position now, so a scenario reads only the lines it caused.
cursor() { X journalctl -q -n 1 -o cat --show-cursor | sed -n 's/^-- cursor: //p'; }
# journal_since CURSOR: the unit's lines after CURSOR ("" for all of them).
journal_since() { X journalctl -q --no-pager -o cat -u lightscope.service ${1:+--after-cursor="$1"}; }
# grep without -q: it reads all input, so journalctl never dies of SIGPIPE (pipefail would see that).
journal_has() { journal_since "$1" | grep -- "$2" >/dev/null; }
# err_journal_has TEXT: TEXT is in what `journalctl -u lightscope -p err` shows (errors only).
# The whole journal: journalctl 252 with -p and --after-cursor together missed lines here.
err_journal_has() { X journalctl -q --no-pager -o cat -u lightscope.service -p err | grep -- "$1" >/dev/null; }

is_running() { [ "$(prop ActiveState)" = active ] && [ "$(prop SubState)" = running ]; }
# restarted OLD_PID OLD_NRESTARTS: systemd restarted it on its own, and it is up again.
restarted() {
    [ "$(prop NRestarts)" -gt "$2" ] && is_running && [ "$(prop MainPID)" != "$1" ] && [ "$(prop MainPID)" != 0 ]
}
# A manual (re)start; reset-failed first so the tests' own restarts do not use up StartLimitBurst.
restart_service() {
    X systemctl reset-failed lightscope.service
    X systemctl restart lightscope.service
}
set_dropin() { # set_dropin NAME CONTENT: what `systemctl edit` does, then daemon-reload
    X mkdir -p "$DROPIN_DIR"
    printf '%s\n' "$2" | X tee "$DROPIN_DIR/$1.conf" >/dev/null
    X systemctl daemon-reload
}
remove_dropin() { X rm -f "$DROPIN_DIR/$1.conf"; X systemctl daemon-reload; }

# A TCP connection attempt from the peer namespace to a closed port: a SYN and a RST on ls0.
probe_closed_port() {
    X ip netns exec peer timeout 1 bash -c "echo > /dev/tcp/$HOST_ADDR/9" 2>/dev/null || true
}
# store_count CONDITION: events in the daemon's store matching an SQL condition.
store_count() {
    X python3 - "$1" <<'PY'
import sqlite3, sys
store = sqlite3.connect("file:/var/lib/lightscope/events.sqlite?mode=ro", uri=True)
print(store.execute("SELECT count(*) FROM events WHERE " + sys.argv[1]).fetchone()[0])
PY
}
store_has_closed_probe() { [ "$(store_count "src = '$PEER_ADDR' AND dport = 9 AND verdict = 'closed'")" -gt 0 ]; }
status_shows_packets() {
    probe_closed_port
    prop StatusText | grep -E "^Processing packets: [1-9][0-9]* seen, .*interfaces .*$CAPTURE_IF" >/dev/null
}

# --- scenarios ----------------------------------------------------------------------

scenario_install_starts_hardened_service() {
    # The README's install, in a directory that holds the package under test alone.
    X mkdir -p /root/install
    X cp "/share/$(basename "$LIGHTSCOPE_DEB")" /root/install/
    doc_example deb-depends /root/install || return 1
    doc_example install-deb /root/install || return 1
    expect "the service active after dpkg -i" wait_until 15 is_running || return 1
    # A quiet host: the store exists (schema included) before any event, and answers empty.
    expect "events.sqlite created at start, before any event" wait_until 5 X test -f /var/lib/lightscope/events.sqlite || return 1
    expect "lightscope events on the empty store: exit 0, nothing listed" \
        eval '[ -z "$(X lightscope events --since 1h)" ]' || return 1
    expect "the config root:lightscope 0640 (it may hold a webhook secret), got $(X stat -c '%U:%G %a' "$CONF")" \
        [ "$(X stat -c '%U:%G %a' "$CONF")" = "root:lightscope 640" ] || return 1
    expect "enabled after install (is-enabled: $(prop UnitFileState))" [ "$(prop UnitFileState)" = enabled ] || return 1
    expect "WatchdogUSec=30s from the shipped unit, got $(prop WatchdogUSec)" [ "$(prop WatchdogUSec)" = 30s ] || return 1
    local pid user caps
    pid=$(prop MainPID)
    user=$(X ps -o user= -p "$pid" | tr -d ' ')
    echo "    main PID $pid runs as '$user'"
    expect "the daemon to run as user lightscope" [ "$user" = lightscope ] || return 1
    expect "no uid 0 (real, effective, saved, fs) in /proc/$pid/status" \
        X awk '/^Uid:/ { for (i = 2; i <= 5; i++) if ($i == 0) bad = 1 } END { exit bad }' "/proc/$pid/status" || return 1
    # CAP_NET_RAW is bit 13: the only capability the daemon holds.
    caps=$(X sed -n 's/^CapEff:\t//p' "/proc/$pid/status")
    echo "    effective capabilities: $caps"
    expect "CapEff = CAP_NET_RAW only (0000000000002000)" [ "$caps" = 0000000000002000 ] || return 1
    expect "journal: start-up lines" wait_until 5 journal_has "" "LightScope .* started: watchdog 30s" || return 1
    expect "journal: capture opened on $CAPTURE_IF" journal_has "" "Capturing on $CAPTURE_IF" || return 1
    expect "StatusText with live figures (packets seen on $CAPTURE_IF)" wait_until 20 status_shows_packets || return 1
    echo "    StatusText=$(prop StatusText)"
    # The probes were closed-port connection attempts: events in the journal and the store.
    local id=4e8be3b84edf4995a2b08f9a4d274622
    expect "journal: an event line with MESSAGE_ID=$id" wait_until 10 eval \
        "X journalctl -q --no-pager -o cat MESSAGE_ID=$id | grep -E 'unwanted tcp $PEER_ADDR:[0-9]+ -> $HOST_ADDR:9 closed' >/dev/null" || return 1
    X journalctl -q --no-pager -o cat MESSAGE_ID=$id | head -2 | sed 's/^/    event: /'
    expect "its structured fields (LIGHTSCOPE_VERDICT=closed, LIGHTSCOPE_SRC=$PEER_ADDR)" eval \
        "X journalctl -q --no-pager -o json MESSAGE_ID=$id | grep -F '\"LIGHTSCOPE_VERDICT\":\"closed\"' | grep -F '\"LIGHTSCOPE_SRC\":\"$PEER_ADDR\"' >/dev/null" || return 1
    expect "the event committed to /var/lib/lightscope/events.sqlite" wait_until 5 store_has_closed_probe || return 1
    expect "/var/lib/lightscope owned by lightscope" [ "$(X stat -c %U /var/lib/lightscope)" = lightscope ] || return 1
    expect "MemoryMax and TasksMax from the unit (got $(prop MemoryMax), $(prop TasksMax))" \
        eval '[ "$(prop MemoryMax)" = 268435456 ] && [ "$(prop TasksMax)" = 80 ]' || return 1
}

# Admins in group adm read the status and the store without root, as Debian's logs; others do not.
scenario_adm_reads_status_and_store_without_root() {
    local path expected
    for path in "/var/lib/lightscope 2750" "/run/lightscope 2750" "/var/lib/lightscope/events.sqlite 640" \
                "/var/lib/lightscope/runs.json 640" "/run/lightscope/status.json 640"; do
        expected="lightscope:adm ${path#* }"
        expect "${path% *}: $expected, got $(X stat -c '%U:%G %a' "${path% *}")" \
            [ "$(X stat -c '%U:%G %a' "${path% *}")" = "$expected" ] || return 1
    done
    X useradd --no-create-home --groups adm systest-admin
    X useradd --no-create-home systest-user
    local status events
    status=$(X runuser -u systest-admin -- lightscope status 2>&1)
    expect "lightscope status as a member of adm: exit 0 and the live figures ($status)" \
        eval 'printf "%s" "$status" | grep "^Status: Processing packets" >/dev/null' || return 1
    events=$(X runuser -u systest-admin -- lightscope events --since 1h 2>&1)
    expect "lightscope events as a member of adm lists the probe ($events)" \
        eval 'printf "%s" "$events" | grep "$PEER_ADDR:[0-9]* -> $HOST_ADDR:9 closed" >/dev/null' || return 1
    expect "a user outside adm reads neither" \
        eval '! X runuser -u systest-user -- lightscope status >/dev/null 2>&1 && ! X runuser -u systest-user -- lightscope events >/dev/null 2>&1' || return 1
    expect "nor does adm read the config" eval '! X runuser -u systest-admin -- cat "$CONF" >/dev/null 2>&1' || return 1
    X userdel systest-admin; X userdel systest-user
}

# doctor_passes: run `lightscope doctor` in the container; its output stays in $DOCTOR_OUT.
DOCTOR_OUT=""
doctor_passes() { DOCTOR_OUT=$(X lightscope doctor 2>&1); }
scenario_doctor_all_pass_then_names_the_fault() {
    expect "lightscope doctor to pass every check" wait_until 10 doctor_passes || return 1
    doc_example doctor || return 1
    expect "the unit line with WatchdogSec=30s" \
        eval 'printf "%s\n" "$DOCTOR_OUT" | grep -Fx "PASS unit: Type=notify, WatchdogSec=30s, NotifyAccess=main" >/dev/null' || return 1
    expect "11 PASS lines" [ "$(printf '%s\n' "$DOCTOR_OUT" | grep -c '^PASS ')" = 11 ] || return 1
    expect "the resources line" eval 'printf "%s\n" "$DOCTOR_OUT" | grep "^PASS resources: MemoryMax=256 MiB, TasksMax=80; 1 interface at" >/dev/null' || return 1

    # The fault doctor exists for: a drop-in that turns the watchdog off.
    set_dropin 05-systest-nowatchdog "$(printf '[Service]\nWatchdogSec=0')"
    restart_service && wait_until 15 is_running || { echo "    expected: running with WatchdogSec=0"; return 1; }
    doctor_passes && { echo "    expected: doctor to fail with WatchdogSec=0"; return 1; }
    printf '%s\n' "$DOCTOR_OUT" | grep '^FAIL' | sed 's/^/    doctor: /'
    expect "FAIL unit: ... WatchdogSec=0s ... the watchdog is off" \
        eval 'printf "%s\n" "$DOCTOR_OUT" | grep "^FAIL unit: Type=notify, WatchdogSec=0s, NotifyAccess=main: the watchdog is off.*-> fix: " >/dev/null' || return 1
    remove_dropin 05-systest-nowatchdog
    restart_service && wait_until 15 is_running || { echo "    expected: running again without the drop-in"; return 1; }

    # A stopped service.
    X systemctl stop lightscope.service
    doctor_passes && { echo "    expected: doctor to fail while the service is stopped"; return 1; }
    printf '%s\n' "$DOCTOR_OUT" | grep '^FAIL' | sed 's/^/    doctor: /'
    expect "FAIL service: ... not running" \
        eval 'printf "%s\n" "$DOCTOR_OUT" | grep "^FAIL service: lightscope.service is not running (ActiveState=inactive" >/dev/null' || return 1
    X systemctl start lightscope.service && wait_until 15 is_running && wait_until 10 doctor_passes
}

EXPOSURE=unknown
ALERT_EXPOSURE=unknown
scenario_security_exposure() {
    local report
    report=$(X systemd-analyze security --no-pager lightscope.service 2>&1)
    printf '%s\n' "$report" | grep -v '✓' | sed 's/^/    /'
    EXPOSURE=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for lightscope.service: \([0-9.]*\).*/\1/p')
    echo "    exposure: $EXPOSURE"
    expect "an exposure figure" [ -n "$EXPOSURE" ] || return 1
    expect "exposure <= 1.5" awk -v e="$EXPOSURE" 'BEGIN { exit !(e <= 1.5) }' || return 1
    report=$(X systemd-analyze security --no-pager lightscope-alert@lightscope.service.service 2>&1)
    ALERT_EXPOSURE=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for lightscope-alert@lightscope.service.service: \([0-9.]*\).*/\1/p')
    echo "    alert unit exposure: $ALERT_EXPOSURE"
    expect "alert unit exposure <= 3.0" awk -v e="$ALERT_EXPOSURE" 'BEGIN { exit !(e != "" && e <= 3.0) }'
}

# Not a scenario: short watchdog and restart delays for the ones that follow.
use_fast_timings() {
    set_dropin 10-systest-fast "$(printf '[Service]\nWatchdogSec=%s\nRestartSec=%s' "$FAST_WATCHDOG_SEC" "$FAST_RESTART_SEC")"
    restart_service && wait_until 15 is_running && [ "$(prop WatchdogUSec)" = "${FAST_WATCHDOG_SEC}s" ]
}

scenario_reload_keeps_pid() {
    local pid c
    pid=$(prop MainPID); c=$(cursor)
    # What an admin does to see the pings: [log] level = debug, then reload.
    X sed -i 's/^#level = info$/level = debug/' "$CONF"
    expect "the conffile edited to level = debug" X grep -q '^level = debug$' "$CONF" || return 1
    expect "systemctl reload to succeed" X systemctl reload lightscope.service || return 1
    expect "still active after reload" is_running || return 1
    expect "same main PID after reload ($pid, now $(prop MainPID))" [ "$(prop MainPID)" = "$pid" ] || return 1
    expect "journal: reload logged" wait_until 5 journal_has "$c" "Reloading configuration (SIGHUP)" || return 1
    expect "journal: new configuration in force" journal_has "$c" "Configuration reloaded" || return 1
    expect "journal: debug watchdog pings after the reload" \
        wait_until $((FAST_WATCHDOG_SEC * 2)) journal_has "$c" "Sent watchdog notification to systemd" || return 1
}

scenario_idle_service_not_restarted() {
    local pid n c intervals=10 observe pings
    pid=$(prop MainPID); n=$(prop NRestarts); c=$(cursor)
    observe=$((FAST_WATCHDOG_SEC * intervals + 2))
    echo "    watching an idle service for ${observe}s (WatchdogSec=${FAST_WATCHDOG_SEC}s, $intervals intervals)"
    sleep "$observe"
    pings=$(journal_since "$c" | grep -c "Sent watchdog notification to systemd")
    echo "    NRestarts $n -> $(prop NRestarts), $pings watchdog pings logged"
    expect "NRestarts unchanged" [ "$(prop NRestarts)" = "$n" ] || return 1
    expect "same main PID" [ "$(prop MainPID)" = "$pid" ] || return 1
    expect "still running" is_running || return 1
    # One ping every WatchdogSec/2: at least one per interval even with scheduling slack.
    expect "at least $intervals pings in $intervals intervals" [ "$pings" -ge "$intervals" ] || return 1
    expect "no watchdog timeout in the journal" eval "! journal_has '$c' 'Watchdog timeout'"
}

scenario_sigstop_watchdog_restart() {
    local pid n c t0 elapsed limit
    pid=$(prop MainPID); n=$(prop NRestarts); c=$(cursor)
    limit=$((FAST_WATCHDOG_SEC + FAST_RESTART_SEC + 5))
    t0=$(now)
    X systemctl kill -s SIGSTOP --kill-whom=main lightscope.service
    expect "restarted by systemd within ${limit}s" wait_until "$limit" restarted "$pid" "$n"
    local ok=$?
    elapsed=$(seconds_since "$t0")
    echo "    frozen PID $pid -> new PID $(prop MainPID), NRestarts $n -> $(prop NRestarts), after ${elapsed}s"
    [ $ok = 0 ] || return 1
    expect "journal: Watchdog timeout" journal_has "$c" "Watchdog timeout" || return 1
    expect "journal: killed with SIGABRT" journal_has "$c" "SIGABRT" || return 1
    journal_since "$c" | grep -E "Watchdog timeout|SIGABRT|restart counter|Recovered" | sed 's/^/    journal: /'
    # The new run explains the restart, and the history keeps it.
    expect "journal: 'Recovered after watchdog timeout'" wait_until 5 journal_has "$c" "Recovered after watchdog timeout" || return 1
    expect "lightscope status lists the watchdog timeout" eval "X lightscope status | grep 'watchdog timeout' >/dev/null" || return 1
}

scenario_crash_is_explained() {
    local pid n c limit
    pid=$(prop MainPID); n=$(prop NRestarts); c=$(cursor)
    limit=$((FAST_RESTART_SEC + 10))
    X systemctl kill -s SIGSEGV --kill-whom=main lightscope.service
    expect "restarted by systemd within ${limit}s" wait_until "$limit" restarted "$pid" "$n" || return 1
    expect "journal: 'Recovered after crash: crashed with SIGSEGV'" \
        wait_until 5 journal_has "$c" "Recovered after crash: crashed with SIGSEGV" || return 1
    journal_since "$c" | grep "Recovered" | sed 's/^/    journal: /'
    expect "StatusText says it recovered, or already shows live figures" \
        eval "prop StatusText | grep -E 'Recovered after crash|Processing packets' >/dev/null" || return 1
    local status
    status=$(X lightscope status --json)
    expect "status --json: the previous run ended in a crash" \
        eval "printf '%s' \"\$status\" | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"recent_runs\"]; sys.exit(0 if r[1][\"ending\"] == \"crash\" else 1)'" || return 1
}

scenario_start_limit_hit_alerts() {
    X cp -p "$CONF" /root/lightscope.conf.systest
    start_limit_checks
    local result=$?
    X cp -p /root/lightscope.conf.systest "$CONF"
    X rm -f /root/lightscope.conf.systest
    remove_dropin 30-systest-no-prevent
    restart_service && wait_until 15 is_running || { echo "    expected: running again with the good config"; return 1; }
    return $result
}
start_limit_checks() {
    local c
    # Let the config error restart (as any failure would) so the start limit is what ends it.
    set_dropin 30-systest-no-prevent "$(printf '[Service]\nRestartPreventExitStatus=')"
    printf '[alert]\ncommand = logger -t lightscope-systest "alert ran for $LIGHTSCOPE_UNIT ($LIGHTSCOPE_RESULT), $(wc -l) lines"\n[watchdog]\nping_interval = soon\n' \
        | X tee -a "$CONF" >/dev/null
    c=$(cursor)
    X systemctl reset-failed lightscope.service
    X systemctl restart lightscope.service 2>/dev/null
    expect "failed after hitting the start limit" wait_until 30 eval \
        "[ \"\$(prop ActiveState)\" = failed ] && journal_has '$c' 'Start request repeated too quickly'" || return 1
    echo "    Result=$(prop Result) NRestarts=$(prop NRestarts)"
    expect "the alert unit ran: a crit entry" wait_until 10 eval \
        "X journalctl -q --no-pager -o cat -p crit -u 'lightscope-alert@lightscope.service.service' | grep 'lightscope.service failed for good (result: ' >/dev/null" || return 1
    X journalctl -q --no-pager -o cat -p crit -u 'lightscope-alert@lightscope.service.service' | head -3 | sed 's/^/    alert: /'
    expect "the alert says how to start it again" eval \
        "X journalctl -q --no-pager -o cat -p crit -u 'lightscope-alert@lightscope.service.service' | grep -F \"fix the cause, then run 'systemctl restart lightscope.service' (after repeated failed starts, run 'systemctl reset-failed lightscope.service' first)\" >/dev/null" || return 1
    expect "the admin's alert command ran with the unit and result" wait_until 10 eval \
        "X journalctl -q --no-pager -o cat -t lightscope-systest | grep 'alert ran for lightscope.service (exit-code), [0-9]* lines' >/dev/null" || return 1
}

scenario_hung_packet_loop_restart() {
    set_dropin 20-systest-fault "$(printf '[Service]\nEnvironment=LIGHTSCOPE_FAULT_INJECTION=1')"
    restart_service && wait_until 15 is_running || { echo "    expected: a restart with fault injection on"; return 1; }
    local pid n c limit
    pid=$(prop MainPID); n=$(prop NRestarts); c=$(cursor)
    expect "journal: fault injection on" wait_until 5 journal_has "" "Fault injection is on" || return 1
    # The stall limit is WatchdogSec; then WATCHDOG=trigger, SIGABRT and RestartSec.
    limit=$((FAST_WATCHDOG_SEC + FAST_RESTART_SEC + 5))
    X systemctl kill -s SIGUSR1 --kill-whom=main lightscope.service
    expect "restarted by systemd within ${limit}s" wait_until "$limit" restarted "$pid" "$n" || return 1
    journal_since "$c" | grep -E "packet loop|Watchdog|SIGABRT" | sed 's/^/    journal: /'
    expect "journal: the stalled loop named (packet loop $CAPTURE_IF)" \
        journal_has "$c" "Watchdog: packet loop $CAPTURE_IF has made no progress" || return 1
    expect "that line at priority err" err_journal_has "Watchdog: packet loop $CAPTURE_IF has made no progress" || return 1
    remove_dropin 20-systest-fault
    restart_service && wait_until 15 is_running
}

scenario_stop_is_clean() {
    local c
    c=$(cursor)
    expect "systemctl stop to succeed" X systemctl stop lightscope.service || return 1
    echo "    ActiveState=$(prop ActiveState) Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus)"
    expect "inactive after stop" [ "$(prop ActiveState)" = inactive ] || return 1
    expect "Result=success" [ "$(prop Result)" = success ] || return 1
    expect "exit status 0" [ "$(prop ExecMainStatus)" = 0 ] || return 1
    expect "journal: stopped cleanly" journal_has "$c" "Stopped cleanly" || return 1
    expect "no SIGKILL in the journal" eval "! journal_has '$c' SIGKILL" || return 1
    expect "no lightscope process left" eval "! X pgrep -x lightscope >/dev/null" || return 1
    X systemctl start lightscope.service && wait_until 15 is_running
}

scenario_broken_config_fails_without_loop() {
    X cp -p "$CONF" /root/lightscope.conf.systest
    broken_config_checks
    local result=$?
    # Put the good file back whatever happened, so later scenarios start from a working service.
    X cp -p /root/lightscope.conf.systest "$CONF"
    X rm -f /root/lightscope.conf.systest
    restart_service && wait_until 15 is_running || { echo "    expected: running again with the good config"; return 1; }
    return $result
}
broken_config_checks() {
    local c line
    # The bad value goes on the second line after the current end of the file.
    line=$(( $(X sh -c "wc -l < $CONF") + 2 ))
    printf '[watchdog]\nping_interval = soon\n' | X tee -a "$CONF" >/dev/null
    c=$(cursor)
    X systemctl reset-failed lightscope.service
    X systemctl restart lightscope.service 2>/dev/null && { echo "    expected: the restart to fail"; return 1; }
    expect "failed state" wait_until 10 eval '[ "$(prop ActiveState)" = failed ]' || return 1
    echo "    Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus)"
    expect "exit status 78" [ "$(prop ExecMainStatus)" = 78 ] || return 1
    journal_since "$c" | grep "invalid config" | sed 's/^/    journal: /'
    expect "journal: 'invalid config $CONF line $line'" journal_has "$c" "invalid config $CONF line $line" || return 1
    expect "that line at priority err" err_journal_has "invalid config $CONF line $line" || return 1
    # No restart loop: still failed, NRestarts 0, well after RestartSec.
    sleep $((FAST_RESTART_SEC + 2))
    expect "still failed, no automatic restart (NRestarts=$(prop NRestarts))" \
        eval '[ "$(prop ActiveState)" = failed ] && [ "$(prop NRestarts)" = 0 ]' || return 1
    expect "exactly one start attempt in the journal" \
        [ "$(journal_since "$c" | grep -c '^invalid config')" = 1 ] || return 1
}

scenario_edit_watchdogsec() {
    local c
    c=$(cursor)
    # systemctl edit lightscope writes exactly this file, then reloads systemd.
    set_dropin override "$(printf '[Service]\nWatchdogSec=%s' "$EDITED_WATCHDOG_SEC")"
    restart_service && wait_until 15 is_running || { echo "    expected: running after the restart"; return 1; }
    echo "    WatchdogUSec=$(prop WatchdogUSec)"
    expect "WatchdogUSec=${EDITED_WATCHDOG_SEC}s" [ "$(prop WatchdogUSec)" = "${EDITED_WATCHDOG_SEC}s" ] || return 1
    expect "the daemon uses it" wait_until 5 journal_has "$c" "watchdog ${EDITED_WATCHDOG_SEC}s" || return 1
    remove_dropin override
    restart_service && wait_until 15 is_running && [ "$(prop WatchdogUSec)" = "${FAST_WATCHDOG_SEC}s" ]
}

scenario_upgrade_keeps_config_and_state() {
    local pid
    X sh -c "echo '# edited by the system test' >> $CONF"
    X sh -c 'echo "key material $$" > /var/lib/lightscope/systest.key && chown lightscope:lightscope /var/lib/lightscope/systest.key && chmod 600 /var/lib/lightscope/systest.key'
    local key_before
    key_before=$(X cat /var/lib/lightscope/systest.key)
    pid=$(prop MainPID)
    X dpkg -i "/share/$(basename "$LIGHTSCOPE_DEB_NEW")" > "$CT_STATE/dpkg-upgrade.log" 2>&1 \
        || { cat "$CT_STATE/dpkg-upgrade.log"; echo "    expected: the upgrade to succeed"; return 1; }
    echo "    $(X dpkg-query -W -f '${Package} ${Version}' lightscope) installed over $OLD_VERSION"
    expect "version $NEW_VERSION installed" [ "$(X dpkg-query -W -f '${Version}' lightscope)" = "$NEW_VERSION" ] || return 1
    expect "running after the upgrade" wait_until 15 is_running || return 1
    expect "restarted by the upgrade (PID $pid -> $(prop MainPID))" [ "$(prop MainPID)" != "$pid" ] || return 1
    expect "config edits kept" X grep -q '^# edited by the system test$' "$CONF" || return 1
    expect "level = debug kept" X grep -q '^level = debug$' "$CONF" || return 1
    expect "the config still root:lightscope 0640" [ "$(X stat -c '%U:%G %a' "$CONF")" = "root:lightscope 640" ] || return 1
    expect "no .dpkg-dist/.dpkg-new conffile left" eval "! X ls $CONF.dpkg-dist $CONF.dpkg-new >/dev/null 2>&1" || return 1
    expect "state in /var/lib/lightscope kept" [ "$(X cat /var/lib/lightscope/systest.key)" = "$key_before" ] || return 1
    expect "still enabled" [ "$(prop UnitFileState)" = enabled ] || return 1
}

scenario_remove_then_purge() {
    X dpkg -r lightscope > "$CT_STATE/dpkg-remove.log" 2>&1 \
        || { cat "$CT_STATE/dpkg-remove.log"; echo "    expected: dpkg -r to succeed"; return 1; }
    echo "    after remove: ActiveState=$(prop ActiveState), is-enabled=$(X systemctl is-enabled lightscope.service 2>&1)"
    expect "no lightscope process after remove" eval "! X pgrep -x lightscope >/dev/null" || return 1
    expect "not active after remove" [ "$(prop ActiveState)" != active ] || return 1
    expect "not enabled after remove" eval '[ "$(X systemctl is-enabled lightscope.service 2>/dev/null)" != enabled ]' || return 1
    expect "the binary gone" eval "! X test -e /usr/sbin/lightscope" || return 1
    expect "the conffile kept after remove" X test -f "$CONF" || return 1
    X dpkg --purge lightscope > "$CT_STATE/dpkg-purge.log" 2>&1 \
        || { cat "$CT_STATE/dpkg-purge.log"; echo "    expected: dpkg --purge to succeed"; return 1; }
    sed 's/^/    purge: /' "$CT_STATE/dpkg-purge.log"
    expect "no warning from dpkg --purge (crontab, a non-empty /etc/lightscope)" eval "! grep -i warn '$CT_STATE/dpkg-purge.log' >/dev/null" || return 1
    expect "no lightscope process after purge" eval "! X pgrep -x lightscope >/dev/null" || return 1
    expect "the conffile and /etc/lightscope gone" eval "! X test -e /etc/lightscope" || return 1
    expect "/var/lib/lightscope gone" eval "! X test -e /var/lib/lightscope" || return 1
    expect "user lightscope gone" eval "! X getent passwd lightscope >/dev/null" || return 1
    expect "group lightscope gone" eval "! X getent group lightscope >/dev/null" || return 1
    local status
    status=$(X dpkg-query -W -f '${db:Status-Status}' lightscope 2>/dev/null || true)
    expect "the package not installed (status '$status')" eval '[ -z "$status" ] || [ "$status" = not-installed ]' || return 1
    expect "not masked after purge" eval "! X test -L /etc/systemd/system/lightscope.service" || return 1
}

# --- the fleet: ship through the unit's sandbox to a PostgreSQL on a non-loopback address ---------
FLEET_ADDR=203.0.113.10
FLEET_PG=/var/tmp/lspg
FLEET_ADMIN="host=$FLEET_PG port=5432 user=postgres dbname=lightscope"

# A PostgreSQL 15 of the test's own (the image's units are masked), on a veth of its own (this
# kernel has no dummy interfaces), with a test CA and a server certificate for its address; TCP
# over TLS only, SCRAM.
fleet_collector_up() {
    local bin=/usr/lib/postgresql/15/bin
    X ip link add fleet0 type veth peer name fleet1 && X ip addr add "$FLEET_ADDR/24" dev fleet0 \
        && X ip link set fleet0 up && X ip link set fleet1 up || return 1
    X mkdir -p "$FLEET_PG" && X chown postgres:postgres "$FLEET_PG" || return 1
    X runuser -u postgres -- sh -c "cd $FLEET_PG &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=systest CA' -keyout ca.key -out ca.crt &&
        openssl req -newkey rsa:2048 -nodes -subj '/CN=$FLEET_ADDR' -keyout server.key -out server.csr &&
        printf 'subjectAltName=IP:$FLEET_ADDR\n' > san.ext &&
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt &&
        $bin/initdb -D data -U postgres -A peer --no-sync &&
        printf \"listen_addresses = '$FLEET_ADDR'\nunix_socket_directories = '$FLEET_PG'\nssl = on\nssl_cert_file = '$FLEET_PG/server.crt'\nssl_key_file = '$FLEET_PG/server.key'\n\" >> data/postgresql.conf &&
        printf 'local all postgres peer\nhostssl all all 0.0.0.0/0 scram-sha-256\n' > data/pg_hba.conf" > "$CT_STATE/fleet-initdb.log" 2>&1 \
        || { cat "$CT_STATE/fleet-initdb.log"; return 1; }
    X sh -c "runuser -u postgres -- $bin/pg_ctl -D $FLEET_PG/data -l $FLEET_PG/server.log -w start < /dev/null > /dev/null 2>&1" || return 1
    X runuser -u postgres -- psql -h "$FLEET_PG" -c "CREATE DATABASE lightscope" >/dev/null || return 1
    X runuser -u postgres -- lightscope fleet init --url "$FLEET_ADMIN" | sed 's/^/    fleet init: /'
}
fleet_collector_down() {
    X sh -c "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $FLEET_PG/data -m fast -w stop < /dev/null > /dev/null 2>&1"
    X ip link del fleet0 2>/dev/null
}
fleet_rows() { # fleet_rows CONDITION
    X runuser -u postgres -- psql -h "$FLEET_PG" -d lightscope -AtX -c "SELECT count(*) FROM lightscope.events WHERE $1"
}
fleet_has_probe() { probe_closed_port; [ "$(fleet_rows "src = '$PEER_ADDR' AND dport = 9 AND verdict = 'closed'")" -gt 0 ]; }

scenario_fleet_ships_through_the_sandbox() {
    fleet_collector_up || { echo "    expected: a PostgreSQL on $FLEET_ADDR"; fleet_collector_down; return 1; }
    # The documented check (docs/fleet.md, "Verify") runs as shown once the host ships.
    fleet_checks && doc_example fleet-verify
    local result=$?
    X sed -i '/^# systest fleet$/,$d' "$CONF"
    remove_dropin fleet
    X rm -f /etc/lightscope/fleet-password /etc/lightscope/fleet-ca.crt
    fleet_collector_down
    restart_service && wait_until 15 is_running || { echo "    expected: running again without [fleet]"; return 1; }
    return $result
}
fleet_checks() {
    local credentials password url c report exposure
    credentials=$(X runuser -u postgres -- lightscope fleet add-host systest --json --collector "$FLEET_ADDR" --url "$FLEET_ADMIN") \
        || { echo "    expected: fleet add-host to succeed"; return 1; }
    password=$(printf '%s' "$credentials" | jq -r .password)
    url=$(printf '%s' "$credentials" | jq -r .url)
    echo "    add-host: role $(printf '%s' "$credentials" | jq -r .role), url $url"
    X install -m 0644 "$FLEET_PG/ca.crt" /etc/lightscope/fleet-ca.crt
    printf '%s\n' "$password" | X sh -c 'umask 077 && cat > /etc/lightscope/fleet-password'
    printf '# systest fleet\n[fleet]\nurl = %s\nhost_name = systest\ninterval = 1s\nconnect_timeout = 2s\nretry_max_interval = 2s\n' "$url" \
        | X tee -a "$CONF" >/dev/null

    # Without the drop-in the sandbox blocks the collector: doctor names it, nothing arrives.
    c=$(cursor)
    restart_service && wait_until 15 is_running || { echo "    expected: running with [fleet] and no drop-in"; return 1; }
    doctor_passes && { echo "    expected: doctor to fail while the unit blocks the collector"; return 1; }
    printf '%s\n' "$DOCTOR_OUT" | grep '^FAIL fleet' | sed 's/^/    doctor: /'
    expect "FAIL fleet: ... IPAddressDeny= blocks the collector ... -> fix: lightscope fleet dropin" \
        eval 'printf "%s\n" "$DOCTOR_OUT" | grep "^FAIL fleet: the unit.s IPAddressDeny= blocks the collector $FLEET_ADDR:5432.*-> fix: lightscope fleet dropin" >/dev/null' || return 1
    expect "journal: one line saying why nothing is shipped" \
        wait_until 15 eval "journal_since '$c' | grep -E 'Fleet: (cannot ship to the collector|the collector refuses this host)' >/dev/null" || return 1
    journal_since "$c" | grep -E '^Fleet: ' | sed 's/^/    journal: /'
    if journal_since "$c" | grep 'no password supplied' >/dev/null; then
        # The connection itself went through: systemd attached no IP firewall (it needs cgroup v2 BPF).
        echo "    note: this systemd does not enforce IPAddressDeny= here: $(X journalctl -b -q --no-pager | grep -i -m1 'bpf' || echo 'no BPF firewall line')"
    fi
    probe_closed_port; sleep 2
    expect "no event on the collector without the drop-in" [ "$(fleet_rows true)" = 0 ] || return 1

    # With the drop-in that `fleet dropin` prints (the collector's address and the credential).
    X sh -c "lightscope fleet dropin --credential /etc/lightscope/fleet-password > $DROPIN_DIR/fleet.conf" \
        || { echo "    expected: fleet dropin to print the drop-in"; return 1; }
    X cat "$DROPIN_DIR/fleet.conf" | sed 's/^/    drop-in: /'
    X systemctl daemon-reload
    c=$(cursor)
    restart_service && wait_until 15 is_running || { echo "    expected: running with the drop-in"; return 1; }
    expect "the closed-port probe on the collector, with this host's id" wait_until 30 fleet_has_probe || return 1
    expect "the host id is the one fleet host-id prints" \
        [ "$(fleet_rows "host_id = '$(X lightscope fleet host-id)'")" -gt 0 ] || return 1
    expect "the host's heartbeat row" eval "[ \"\$(X runuser -u postgres -- psql -h $FLEET_PG -d lightscope -AtX -c \"SELECT name FROM lightscope.hosts\")\" = systest ]" || return 1
    expect "doctor passes with the drop-in" wait_until 10 doctor_passes || { printf '%s\n' "$DOCTOR_OUT" | sed 's/^/    doctor: /'; return 1; }
    printf '%s\n' "$DOCTOR_OUT" | grep '^PASS fleet' | sed 's/^/    doctor: /'
    expect "lightscope status shows the fleet line" \
        wait_until 10 eval "X lightscope status | grep '^Fleet: $FLEET_ADDR:5432 as systest .*, connected' >/dev/null" \
        || { X lightscope status | sed 's/^/    status: /'; return 1; }
    X lightscope status | grep '^Fleet: ' | sed 's/^/    status: /'
    report=$(X systemd-analyze security --no-pager lightscope.service 2>&1)
    exposure=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for lightscope.service: \([0-9.]*\).*/\1/p')
    echo "    exposure with the fleet drop-in: $exposure"
    expect "exposure <= 1.5 with the drop-in" awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }'
}

# --- the run ------------------------------------------------------------------------
passed=0; failed=0
run() {
    local name=$1 t0
    t0=$(now)
    echo "--- $name"
    if "$name"; then
        passed=$((passed + 1)); echo "PASS $name ($(seconds_since "$t0")s)"
    else
        failed=$((failed + 1)); echo "FAIL $name ($(seconds_since "$t0")s)"
        echo "    last journal lines of lightscope.service:"
        X journalctl -q --no-pager -o short-monotonic -u lightscope.service -n 25 2>/dev/null | sed 's/^/    | /'
    fi
}

# The container is an overlay of this host: it must not start from the host's own LightScope
# (an installed package, a state directory of development runs), only from what it installs.
clean_slate() {
    if X dpkg-query -W -f '${db:Status-Status}' lightscope 2>/dev/null | grep -x installed >/dev/null; then
        X dpkg --purge lightscope >/dev/null 2>&1
    fi
    X rm -rf /var/lib/lightscope /var/lib/lightscope-dev /run/lightscope /etc/lightscope /etc/systemd/system/lightscope.service.d
    if X getent passwd lightscope >/dev/null; then X userdel lightscope; fi
    if X getent group lightscope >/dev/null; then X groupdel lightscope; fi
    ! X test -e /var/lib/lightscope
}

cleanup() {
    ct_down
    rm -rf "$CT_STATE"
    rmdir /var/lib/lightscope-systest 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(now)
mkdir -p "$CT_STATE/share"
cp "$LIGHTSCOPE_DEB" "$LIGHTSCOPE_DEB_NEW" "$CT_STATE/share/"
echo "== booting a systemd container ($CT_NAME)"
ct_up systemd.mask=postgresql.service systemd.mask=postgresql@15-main.service systemd.mask=prometheus.service systemd.mask=prometheus-node-exporter.service || { echo "0 passed, 1 failed"; exit 1; }
# The image's Docker-style policy-rc.d makes dpkg refuse to start services (only the overlay changes).
X rm -f /usr/sbin/policy-rc.d
clean_slate || { echo "error: could not clear the host's LightScope state inside the container"; echo "0 passed, 1 failed"; exit 1; }
# A veth pair: ls0 (192.0.2.1) in the container's namespace, its peer in namespace "peer".
X ip link add "$CAPTURE_IF" type veth peer name ls1
X ip netns add peer
X ip link set ls1 netns peer
X ip addr add "$HOST_ADDR/24" dev "$CAPTURE_IF"
X ip link set "$CAPTURE_IF" up
X ip netns exec peer ip addr add "$PEER_ADDR/24" dev ls1
X ip netns exec peer ip link set ls1 up
add_documented_senders

run scenario_install_starts_hardened_service
run scenario_adm_reads_status_and_store_without_root
run scenario_doctor_all_pass_then_names_the_fault
run scenario_security_exposure
run scenario_documented_watchdog
echo "--- (the documents' traffic, into an empty store)"
send_documented_traffic || echo "    warning: the documents' traffic did not give the events they show"
run scenario_documented_blocklists
run scenario_documented_journal
run scenario_documented_configuration
echo "--- (short timings: drop-in WatchdogSec=${FAST_WATCHDOG_SEC}s RestartSec=${FAST_RESTART_SEC}s)"
use_fast_timings || echo "    warning: could not switch to short timings"
run scenario_reload_keeps_pid
run scenario_idle_service_not_restarted
run scenario_sigstop_watchdog_restart
run scenario_documented_status
run scenario_crash_is_explained
run scenario_hung_packet_loop_restart
run scenario_stop_is_clean
run scenario_broken_config_fails_without_loop
run scenario_start_limit_hit_alerts
run scenario_alert_examples_deliver
run scenario_edit_watchdogsec
run scenario_fleet_ships_through_the_sandbox
run scenario_upgrade_keeps_config_and_state
run scenario_remove_then_purge

echo "systemd-analyze security exposure: $EXPOSURE (alert unit: $ALERT_EXPOSURE); system tests took $(seconds_since "$t_start")s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
