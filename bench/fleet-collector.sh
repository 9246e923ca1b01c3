#!/bin/bash
# The collector's own insert rate: what one PostgreSQL backend on this machine can take into
# lightscope.events, without the shipper, TLS or the network. The ceiling for bench/fleet.sh.
#
#   sudo bench/fleet-collector.sh [--rows-per-statement N] [--statements N]
#
# A PostgreSQL 15 with its durable defaults (fsync, synchronous_commit) on a Unix socket, the
# schema of `lightscope fleet init`, and one host role (row-level security as in production).
# Each run inserts --statements statements of --rows-per-statement rows, each its own
# transaction, as that role, and prints rows/s (wall) and the backend's CPU per 1,000 rows
# (utime + stime from /proc, which the machine's other load does not inflate):
#   generated      INSERT ... SELECT FROM generate_series: the indexes and RLS, nothing else
#   on conflict    the same with ON CONFLICT DO NOTHING (the shipper's first batch of a session)
#   text arrays    the shipper's statement: 15 array parameters in text form, unnested
#   decoded        the same statement on arrays the server holds decoded (as binary parameters)
#   then "generated" again without each secondary index in turn, with src COLLATE "C", and
#   as at first again, to show the spread. Every run starts on an empty table after a checkpoint.
set -euo pipefail

ROWS=5000
STATEMENTS=40
while (($#)); do
    case "$1" in
        --rows-per-statement) ROWS=$2; shift ;;
        --statements) STATEMENTS=$2; shift ;;
        *) echo "usage: sudo bench/fleet-collector.sh [--rows-per-statement N] [--statements N]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/fleet-collector.sh needs root (it runs PostgreSQL as the postgres user); run it with sudo" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/opt/swift/usr/bin:$PATH"
. "$ROOT/bench/fleet-postgres.sh"
if [ -z "${LIGHTSCOPE:-}" ]; then
    (cd "$ROOT" && swift build -c release --product lightscope >&2)
    LIGHTSCOPE=$(cd "$ROOT" && swift build -c release --product lightscope --show-bin-path)/lightscope
fi

WORK=$(mktemp -d /tmp/lightscope-collectorbench-XXXXXX)
cleanup() {
    pg_stop "$WORK"
    rm -rf "$WORK"
}
trap cleanup EXIT
pg_create "$WORK"
pg_start "$WORK"
"$LIGHTSCOPE" fleet init --url "$ADMIN" >&2
HOST_ID=6c1f3a52-9e44-4b0d-8a57-2cd17e903b64
CREDENTIALS=$("$LIGHTSCOPE" fleet add-host bench --host-id "$HOST_ID" --json --collector localhost --url "$ADMIN")
ROLE=$(printf '%s' "$CREDENTIALS" | jq -r .role)
HOST_URL="host=$WORK user=$ROLE password=$(printf '%s' "$CREDENTIALS" | jq -r .password) dbname=lightscope"
admin() { psql "$ADMIN" -qAtX -c "$1"; }

COLUMNS='host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport, verdict, packets, ttl, "window", tcp_options, ports, addresses'
# generated STORE FIRST [SUFFIX]: one statement of ROWS generated rows, as the shipper's would carry them.
generated() {
    cat <<EOF
INSERT INTO lightscope.events ($COLUMNS)
SELECT '$HOST_ID', $1, g, now() - (($2 + $ROWS - g) * interval '1 millisecond'), 'eth0', 'tcp', '203.0.113.' || (g % 250),
    40000 + g % 1000, '192.0.2.1', 22 + g % 1000, (ARRAY['closed','unanswered','portscan','addrscan'])[1 + g % 4],
    1 + g % 7, 54, 64240, 'M1460,S,T,N,W7', NULL, NULL
FROM generate_series($2, $2 + $ROWS - 1) AS g ${3:-};
EOF
}

# text_arrays STORE FIRST: the shipper's statement, its arrays as text literals (parsed per statement).
text_arrays() {
    python3 - "$HOST_ID" "$1" "$2" "$ROWS" <<'PY'
import sys, time
host, store, first, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
now_us = time.time_ns() // 1000
ids = range(first, first + rows)
verdicts = ["closed", "unanswered", "portscan", "addrscan"]
def arr(values): return "'{" + ",".join(values) + "}'"
def text(values): return arr('"%s"' % v for v in values)
cols = [
    arr(str(i) for i in ids), arr(str(now_us - (first + rows - i) * 1000) for i in ids), text("eth0" for _ in ids),
    text("tcp" for _ in ids), text("203.0.113.%d" % (i % 250) for i in ids), arr(str(40000 + i % 1000) for i in ids),
    text("192.0.2.1" for _ in ids), arr(str(22 + i % 1000) for i in ids), text(verdicts[i % 4] for i in ids),
    arr(str(1 + i % 7) for i in ids), arr("54" for _ in ids), arr("64240" for _ in ids), text("M1460,S,T,N,W7" for _ in ids),
    arr("NULL" for _ in ids), arr("NULL" for _ in ids)]
print("EXECUTE ship('%s', %d, %s);" % (host, store, ", ".join(cols)))
PY
}
PREPARE_SHIP="PREPARE ship AS INSERT INTO lightscope.events ($COLUMNS)
SELECT \$1::uuid, \$2::bigint, e.id, timestamptz 'epoch' + e.time_us * interval '1 microsecond', e.interface,
    e.proto, e.src, e.sport, e.dst, e.dport, e.verdict, e.packets, e.ttl, e.win, e.tcp_options, e.ports, e.addresses
FROM unnest(\$3::bigint[], \$4::bigint[], \$5::text[], \$6::text[], \$7::text[], \$8::integer[], \$9::text[],
    \$10::integer[], \$11::text[], \$12::bigint[], \$13::smallint[], \$14::integer[], \$15::text[], \$16::integer[],
    \$17::integer[])
    AS e(id, time_us, interface, proto, src, sport, dst, dport, verdict, packets, ttl, win, tcp_options, ports, addresses);"

# The same arrays decoded once into a temporary table: each statement unnests values the
# server already holds, as binary parameters (copied, not parsed) would give it. A new store id
# per statement keeps the rows apart.
DECODED_SETUP="CREATE TEMP TABLE batch AS SELECT array_agg(g::bigint) AS ids,
    array_agg(now() - (($ROWS - g) * interval '1 millisecond')) AS times, array_agg('eth0'::text) AS interfaces,
    array_agg('tcp'::text) AS protocols, array_agg('203.0.113.' || (g % 250)) AS sources, array_agg(40000 + g % 1000) AS sports,
    array_agg('192.0.2.1'::text) AS destinations, array_agg(22 + g % 1000) AS dports,
    array_agg((ARRAY['closed','unanswered','portscan','addrscan'])[1 + g % 4]) AS verdicts, array_agg((1 + g % 7)::bigint) AS packets,
    array_agg(54::smallint) AS ttls, array_agg(64240) AS windows, array_agg('M1460,S,T,N,W7'::text) AS options,
    array_agg(NULL::integer) AS ports, array_agg(NULL::integer) AS addresses
FROM generate_series(1, $ROWS) AS g;
PREPARE decoded(bigint) AS INSERT INTO lightscope.events ($COLUMNS)
SELECT '$HOST_ID'::uuid, \$1, e.* FROM batch, unnest(ids, times, interfaces, protocols, sources, sports, destinations, dports,
    verdicts, packets, ttls, windows, options, ports, addresses) AS e;"

STORE=0
# run LABEL KIND [SUFFIX]: prints "LABEL|rows/s|backend CPU ms per 1000 rows".
run() {
    local label=$1 kind=$2 suffix=${3:-} script=$WORK/run.sql first
    STORE=$((STORE + 1))
    # Each run on an empty table, right after a checkpoint: the same index depths and full-page writes.
    admin "TRUNCATE lightscope.events" >/dev/null; admin "CHECKPOINT" >/dev/null
    {
        echo "\\o $WORK/pid"
        echo "SELECT pg_backend_pid();"
        echo "\\o"
        [ "$kind" = arrays ] && echo "$PREPARE_SHIP"
        [ "$kind" = decoded ] && echo "$DECODED_SETUP"
        # psql runs each \\! line once the backend has answered everything before it.
        echo "\\! cat /proc/\$(cat $WORK/pid)/stat > $WORK/cpu.before; date +%s.%N > $WORK/started"
        for ((s = 0; s < STATEMENTS; s++)); do
            first=$((s * ROWS + 1))
            case $kind in
                arrays) text_arrays "$STORE" "$first" ;;
                decoded) STORE=$((STORE + 1)); echo "EXECUTE decoded($STORE);" ;;
                *) generated "$STORE" "$first" "$suffix" ;;
            esac
        done
        echo "\\! date +%s.%N > $WORK/ended; cat /proc/\$(cat $WORK/pid)/stat > $WORK/cpu.after"
    } > "$script"
    psql "$HOST_URL" -qAtX -v ON_ERROR_STOP=1 -f "$script" >/dev/null 2>"$WORK/psql.err" \
        || { cat "$WORK/psql.err" >&2; exit 1; }
    python3 - "$label" "$WORK" $((ROWS * STATEMENTS)) <<'PY'
import os, sys
label, work, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cpu(name):
    line = open(os.path.join(work, name)).read()
    fields = line[line.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
def clock(name): return float(open(os.path.join(work, name)).read())
wall = clock("ended") - clock("started")
print("%s|%d|%.1f" % (label, rows / wall, (cpu("cpu.after") - cpu("cpu.before")) * 1e6 / rows))
PY
}

echo "== $STATEMENTS statements of $ROWS rows per run, as host role $ROLE (row-level security)" >&2
results=()
results+=("$(run "generated rows, all four indexes" generated)")
results+=("$(run "generated rows, ON CONFLICT DO NOTHING" generated "ON CONFLICT DO NOTHING")")
results+=("$(run "the shipper's statement, text arrays" arrays)")
results+=("$(run "the shipper's statement, arrays already decoded" decoded)")
admin "DROP INDEX lightscope.events_src"
results+=("$(run "generated rows, without (src, time)" generated)")
admin "CREATE INDEX events_src ON lightscope.events (src, time); DROP INDEX lightscope.events_dport"
results+=("$(run "generated rows, without (dport, time)" generated)")
admin "CREATE INDEX events_dport ON lightscope.events (dport, time); DROP INDEX lightscope.events_time"
results+=("$(run "generated rows, without (time)" generated)")
admin "CREATE INDEX events_time ON lightscope.events USING brin (time)"
results+=("$(run "generated rows, time as a BRIN index" generated)")
admin "DROP INDEX lightscope.events_time; CREATE INDEX events_time ON lightscope.events (time);
       DROP INDEX lightscope.events_src; ALTER TABLE lightscope.events ALTER COLUMN src TYPE text COLLATE \"C\";
       CREATE INDEX events_src ON lightscope.events (src, time)"
results+=("$(run "generated rows, src COLLATE \"C\"" generated)")
admin "DROP INDEX lightscope.events_src; ALTER TABLE lightscope.events ALTER COLUMN src TYPE text COLLATE \"default\";
       CREATE INDEX events_src ON lightscope.events (src, time)"
results+=("$(run "generated rows, all four indexes (again, for the spread)" generated)")
results+=("$(run "the shipper's statement, text arrays (again)" arrays)")
results+=("$(run "the shipper's statement, arrays already decoded (again)" decoded)")

echo
echo "| collector run ($STATEMENTS x $ROWS rows) | rows/s | backend CPU per 1,000 rows |"
echo "|---|---:|---:|"
for line in "${results[@]}"; do
    IFS='|' read -r label rate cpu <<< "$line"
    echo "| $label | $rate | $cpu ms |"
done
echo
echo "(PostgreSQL $(admin 'SHOW server_version'), lc_collate $(admin 'SHOW lc_collate'), fsync $(admin 'SHOW fsync'), synchronous_commit $(admin 'SHOW synchronous_commit'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(git -C "$ROOT" rev-parse --short HEAD))"
