#!/bin/bash
# The fleet shipper's benchmark: how fast a backlog drains from one host's store to a local
# PostgreSQL 15, with and without a live capture beside it.
#
#   sudo bench/fleet.sh [--events N] [--batch N] [--pps N]
#   sudo LIGHTSCOPE=/usr/sbin/lightscope bench/fleet.sh     # another binary (default: a release build)
#
# Two network namespaces joined by a veth: the daemon captures in "host" (192.0.2.1), the
# collector runs in "peer" (192.0.2.2, PostgreSQL's defaults: fsync and synchronous commit on,
# TLS with verify-full, SCRAM). A store is filled with N events (default 1,000,000), then:
#   1. throughput: the daemon drains it with nothing else to do;
#   2. drain under capture: the same backlog again (a fresh store id), while hping3 sends
#      SYNs to closed ports at --pps (default 5000) for the whole drain; the daemon's own
#      counters say whether capture dropped anything.
# Events/s = N / (the collector's last received - first received). Prints a Markdown table, with
# the CPU time per 1,000 events of the whole collector (all its processes) and of the daemon's
# shipper thread,
# the daemon's peak resident memory (VmHWM), and the load average (1 min) at the start and end
# of each run.
set -euo pipefail

EVENTS=1000000
BATCH=5000
PPS=5000
while (($#)); do
    case "$1" in
        --events) EVENTS=$2; shift ;;
        --batch) BATCH=$2; shift ;;
        --pps) PPS=$2; shift ;;
        *) echo "usage: sudo bench/fleet.sh [--events N] [--batch N] [--pps N]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/fleet.sh needs root (namespaces, capture, the postgres user); run it with sudo" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/opt/swift/usr/bin:$PATH"
. "$ROOT/bench/fleet-postgres.sh"
if [ -z "${LIGHTSCOPE:-}" ]; then
    (cd "$ROOT" && swift build -c release --product lightscope >&2)
    LIGHTSCOPE=$(cd "$ROOT" && swift build -c release --product lightscope --show-bin-path)/lightscope
fi

WORK=$(mktemp -d /tmp/lightscope-fleetbench-XXXXXX)
HOST=lsfb-host-$$; PEER=lsfb-peer-$$
DAEMON_PID=""
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null || true
    pg_stop "$WORK/pg"
    ip netns del "$HOST" 2>/dev/null || true
    ip netns del "$PEER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$HOST"; ip netns add "$PEER"
ip -n "$HOST" link set lo up; ip -n "$PEER" link set lo up
ip -n "$HOST" link add lsfb0 type veth peer name lsfb1 netns "$PEER"
ip -n "$HOST" addr add 192.0.2.1/24 dev lsfb0; ip -n "$PEER" addr add 192.0.2.2/24 dev lsfb1
ip -n "$HOST" link set lsfb0 up; ip -n "$PEER" link set lsfb1 up

# The collector: PostgreSQL's durable defaults, TLS only, SCRAM.
chmod 711 "$WORK"
PG=$WORK/pg
pg_create "$PG" 192.0.2.2 192.0.2.0/24
pg_start "$PG" "$PEER"
"$LIGHTSCOPE" fleet init --url "$ADMIN" >&2
CREDENTIALS=$("$LIGHTSCOPE" fleet add-host bench --json --collector 192.0.2.2 --url "$ADMIN")
PASSWORD=$(printf '%s' "$CREDENTIALS" | jq -r .password)
URL="$(printf '%s' "$CREDENTIALS" | jq -r .url | sed "s|/etc/lightscope/fleet-ca.crt|$PG/ca.crt|")"
q() { psql "$ADMIN" -qAtX -c "$1"; }

STATE=$WORK/state; mkdir -p "$STATE"
printf '%s\n' "$PASSWORD" > "$WORK/password"; chmod 600 "$WORK/password"
write_config() { # write_config URL
    printf '[watchdog]\nstatus_interval = 1s\n[fleet]\nurl = %s\npassword_file = %s\nbatch_events = %s\ninterval = 1s\n' \
        "$1" "$WORK/password" "$BATCH" > "$WORK/lightscope.conf"
}
start_daemon() {
    ip netns exec "$HOST" "$LIGHTSCOPE" run --config "$WORK/lightscope.conf" --state-dir "$STATE" --interface lsfb0 \
        > "$WORK/daemon.log" 2>&1 &
    DAEMON_PID=$!
}
stop_daemon() { kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=""; }

# fill: a new store (the shipper creates it), then N events straight into SQLite.
fill() {
    rm -f "$STATE"/events.sqlite*
    write_config "host=/nonexistent dbname=none"
    start_daemon
    for _ in $(seq 1 50); do [ -s "$STATE/events.sqlite" ] && break; sleep 0.1; done
    stop_daemon
    python3 - "$STATE/events.sqlite" "$EVENTS" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2]); now = time.time_ns()
verdicts = ["closed", "unanswered", "portscan", "addrscan"]
def rows():
    for i in range(n):
        v = verdicts[i % 4]
        yield (now - (n - i) * 1000, "eth0", "tcp", "203.0.113.%d" % (i % 250), None if v == "portscan" else 40000 + i % 1000,
               None if v == "addrscan" else "192.0.2.1", None if v == "portscan" else 22 + i % 1000, v, 1 + i % 7, 54, 64240,
               "M1460,S,T,N,W7", 40 if v == "portscan" else None, 12 if v == "addrscan" else None)
db.executemany("INSERT INTO events (time_ns, interface, proto, src, sport, dst, dport, verdict, packets, ttl, window, tcp_options, ports, addresses) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
db.commit()
PY
}

# server_cpu_seconds: the CPU time of the whole collector so far (bench/fleet-postgres.sh).
server_cpu_seconds() { pg_cpu_seconds "$PG"; }
# The shipper thread of the running daemon (named ls-fleet).
shipper_thread() { grep -lx ls-fleet /proc/"$DAEMON_PID"/task/*/comm 2>/dev/null | head -n1 | cut -d/ -f5; }

# drain LABEL [hping]: ship the store's backlog; prints "seconds events/s drops seen
# collector-CPU-ms-per-1000 shipper-CPU-ms-per-1000".
drain() {
    local before after target started first last seconds rate status drops seen sender="" server shipper peak
    before=$(q "SELECT count(*) FROM lightscope.events")
    target=$((before + EVENTS))
    write_config "$URL"
    server=$(server_cpu_seconds)
    started=$(date +%s.%N)
    start_daemon
    if [ "${2:-}" = hping ]; then
        # SYNs to closed ports for the whole drain, bounded by count and time.
        ip netns exec "$PEER" timeout 600 hping3 -S -p ++1000 -i "u$((1000000 / PPS))" -c $((PPS * 600)) -q 192.0.2.1 >/dev/null 2>&1 &
        sender=$!
    fi
    until [ "$(q "SELECT count(*) FROM lightscope.events")" -ge "$target" ]; do
        kill -0 "$DAEMON_PID" 2>/dev/null || { echo "error: the daemon ended:" >&2; cat "$WORK/daemon.log" >&2; exit 1; }
        sleep 0.5
    done
    [ -n "$sender" ] && { kill "$sender" 2>/dev/null || true; wait "$sender" 2>/dev/null || true; }
    sleep 1.5
    status=$(cat "$STATE/run/status.json")
    drops=$(printf '%s' "$status" | jq '[.interfaces[].drops] | add')
    seen=$(printf '%s' "$status" | jq '[.interfaces[].packets] | add')
    # CPU used by the collector during the drain, and by the shipper thread (reading the store,
    # encoding, TLS) since the daemon started.
    server=$(awk -v a="$server" -v b="$(server_cpu_seconds)" 'BEGIN { print b - a }')
    shipper=$(cpu_seconds "$DAEMON_PID" "$(shipper_thread)")
    peak=$(awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$DAEMON_PID/status")
    stop_daemon
    read -r first last < <(q "SELECT extract(epoch FROM min(received)), extract(epoch FROM max(received)) FROM lightscope.events WHERE store_id = (SELECT store_id FROM lightscope.events ORDER BY received DESC LIMIT 1)" | tr '|' ' ')
    seconds=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", b - a }')
    rate=$(awk -v n="$EVENTS" -v s="$seconds" 'BEGIN { printf "%d", n / s }')
    echo "$seconds $rate $drops $seen $peak $(awk -v c="$server" -v n="$EVENTS" 'BEGIN { printf "%.1f", c * 1e6 / n }') $(awk -v c="$shipper" -v n="$EVENTS" 'BEGIN { printf "%.1f", c * 1e6 / n }')"
}

echo "== filling a store with $EVENTS events" >&2
fill
load1=$(cut -d' ' -f1 /proc/loadavg)
read -r t1 r1 d1 s1 m1 c1 h1 < <(drain throughput)
load1="$load1-$(cut -d' ' -f1 /proc/loadavg)"
echo "== again, with hping3 at $PPS SYN/s to closed ports alongside" >&2
fill
load2=$(cut -d' ' -f1 /proc/loadavg)
read -r t2 r2 d2 s2 m2 c2 h2 < <(drain capture hping)
load2="$load2-$(cut -d' ' -f1 /proc/loadavg)"

echo
echo "| run ($EVENTS events, batch_events $BATCH) | drain time | events/s | collector CPU / 1,000 | shipper CPU / 1,000 | capture: packets seen / dropped | daemon peak RSS | load average |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
echo "| shipping alone | ${t1} s | ${r1} | $c1 ms | $h1 ms | $s1 / $d1 | $m1 MiB | $load1 |"
echo "| with a live capture at $PPS SYN/s | ${t2} s | ${r2} | $c2 ms | $h2 ms | $s2 / $d2 | $m2 MiB | $load2 |"
echo
echo "(PostgreSQL $(q 'SHOW server_version'), fsync $(q 'SHOW fsync'), synchronous_commit $(q 'SHOW synchronous_commit'); $(nproc) cores; $(git -C "$ROOT" rev-parse --short HEAD))"
