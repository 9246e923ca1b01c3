#!/bin/bash
# A fleet at once: N simulated hosts (default 100) ship their backlogs concurrently to one
# collector. Each host is the real FleetShipper, on a thread of its own in lightscope-fleetsim
# (bench/fleetsim), with its own login role and password (`lightscope fleet add-host`), host id,
# local store and backlog, over TCP with TLS (verify-full) and SCRAM, to a local PostgreSQL 15
# with its durable defaults and max_connections raised to hosts x connections + 20.
#
#   sudo bench/fleet-hosts.sh [--hosts 100] [--events-per-host 10000] [--batch 5000] [--connections 2]
#   sudo LIGHTSCOPE=... FLEETSIM=... bench/fleet-hosts.sh    # other binaries (default: release builds)
#
# Checks that every event arrived exactly once: the collector's (host id, event id) pairs,
# sorted, equal the stores' (no event missing, none twice); and that every host's heartbeat
# row is there. Prints one Markdown table row: events/s over the wall time (from starting the
# shippers to the last event shipped, the N connections' TLS and SCRAM included) and over the
# collector's first-to-last received span, the CPU time per 1,000 events of the whole collector
# (every postgres process, from /proc) and of the shippers' process, and the most client
# connections the collector held at once (sampled from its processes every 0.1 s) and how many
# the hosts opened (pg_stat_database.sessions).
set -euo pipefail

HOSTS=100
EVENTS=10000
BATCH=5000
CONNECTIONS=2
while (($#)); do
    case "$1" in
        --hosts) HOSTS=$2; shift ;;
        --events-per-host) EVENTS=$2; shift ;;
        --batch) BATCH=$2; shift ;;
        --connections) CONNECTIONS=$2; shift ;;
        *) echo "usage: sudo bench/fleet-hosts.sh [--hosts N] [--events-per-host N] [--batch N] [--connections N]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/fleet-hosts.sh needs root (it runs PostgreSQL as the postgres user); run it with sudo" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/opt/swift/usr/bin:$PATH"
. "$ROOT/bench/fleet-postgres.sh"
for product in lightscope lightscope-fleetsim; do
    [ -n "${LIGHTSCOPE:-}" ] && [ "$product" = lightscope ] && continue
    [ -n "${FLEETSIM:-}" ] && [ "$product" = lightscope-fleetsim ] && continue
    (cd "$ROOT" && swift build -c release --product "$product" >&2)
done
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
LIGHTSCOPE=${LIGHTSCOPE:-$BIN/lightscope}
FLEETSIM=${FLEETSIM:-$BIN/lightscope-fleetsim}

WORK=$(mktemp -d /tmp/lightscope-hostsbench-XXXXXX); chmod 711 "$WORK"
SAMPLER=""
cleanup() {
    [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
    pg_stop "$WORK/pg"
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$((40000 + RANDOM % 10000))
PG_PORT=$PORT
PG_SETTINGS="max_connections = $((HOSTS * CONNECTIONS + 20))"
pg_create "$WORK/pg" 127.0.0.1 127.0.0.1/32
pg_start "$WORK/pg"
q() { psql "$ADMIN" -qAtX -c "$1"; }
"$LIGHTSCOPE" fleet init --url "$ADMIN" >&2

echo "== $HOSTS host roles, $EVENTS events in each host's store" >&2
for ((i = 1; i <= HOSTS; i++)); do
    id=$(printf '%08x-0000-4000-8000-%012x' "$i" "$i")
    credentials=$("$LIGHTSCOPE" fleet add-host "sim$i" --host-id "$id" --json --collector "127.0.0.1:$PORT" --url "$ADMIN")
    printf 'sim%d %s %s %s\n' "$i" "$id" "$(jq -r .password <<< "$credentials")" \
        "$(jq -r .url <<< "$credentials" | sed "s|/etc/lightscope/fleet-ca.crt|$WORK/pg/ca.crt|")"
done > "$WORK/hosts"
"$FLEETSIM" fill "$WORK/hosts" "$WORK/stores" "$EVENTS" | LC_ALL=C sort > "$WORK/expected"
TOTAL=$(wc -l < "$WORK/expected")
q "CHECKPOINT" >/dev/null
sessions_before=$(q "SELECT sessions FROM pg_stat_database WHERE datname = 'lightscope'")

echo "== shipping $TOTAL events from $HOSTS hosts at once" >&2
postmaster=$(head -n1 "$WORK/pg/data/postmaster.pid")
# Client backends carry their role in the process title: no connection of the sampler's own.
(while :; do ps -o args= --ppid "$postmaster" | grep -c 'lightscope_host_' || true; sleep 0.1; done) > "$WORK/connections" &
SAMPLER=$!
load_before=$(cut -d' ' -f1 /proc/loadavg)
cpu_before=$(pg_cpu_seconds "$WORK/pg")
read -r wall shippers_cpu < <("$FLEETSIM" ship "$WORK/hosts" "$WORK/stores" "$BATCH" "$CONNECTIONS")
cpu_after=$(pg_cpu_seconds "$WORK/pg")
load_after=$(cut -d' ' -f1 /proc/loadavg)
kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""

psql "$ADMIN" -qAtX -c "COPY (SELECT host_id || ' ' || event_id FROM lightscope.events) TO STDOUT" | LC_ALL=C sort > "$WORK/received"
if ! cmp -s "$WORK/expected" "$WORK/received"; then
    echo "error: not exactly once: $(LC_ALL=C comm -23 "$WORK/expected" "$WORK/received" | wc -l) events missing," \
        "$(uniq -d "$WORK/received" | wc -l) twice, $(LC_ALL=C comm -13 "$WORK/expected" "$WORK/received" | wc -l) unknown" >&2
    exit 1
fi
beating=$(q "SELECT count(*) FROM lightscope.hosts")
[ "$beating" = "$HOSTS" ] || { echo "error: $beating of $HOSTS hosts have a heartbeat row" >&2; exit 1; }
span=$(q "SELECT extract(epoch FROM max(received) - min(received)) FROM lightscope.events")
# The hosts' connections: those of COPY, the two queries above and this one's are not theirs.
opened=$(( $(q "SELECT sessions FROM pg_stat_database WHERE datname = 'lightscope'") - sessions_before - 4 ))
peak=$(sort -n "$WORK/connections" | tail -n1)
awk -v n="$TOTAL" -v h="$HOSTS" -v e="$EVENTS" -v b="$BATCH" -v c="$CONNECTIONS" -v w="$wall" -v s="$span" \
    -v cpu="$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { print b - a }')" -v ship="$shippers_cpu" -v p="$peak" \
    -v o="$opened" -v load="$load_before-$load_after" 'BEGIN {
    printf "| hosts x events | batch, connections | events | wall time | events/s (wall) | events/s (received span) | collector CPU / 1,000 | shippers CPU / 1,000 | connections: peak, opened | load average |\n"
    printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    printf "| %d x %d | %d, %d | %d, each once | %.1f s | %d | %d | %.1f ms | %.1f ms | %d, %d | %s |\n",
        h, e, b, c, n, w, n / w, n / s, cpu * 1e6 / n, ship * 1e6 / n, p, o, load }'
echo "(PostgreSQL $(q 'SHOW server_version'), max_connections $(q 'SHOW max_connections'), fsync $(q 'SHOW fsync'), synchronous_commit $(q 'SHOW synchronous_commit'); $(nproc) cores; $(git -C "$ROOT" rev-parse --short HEAD))"
