#!/bin/bash
# What collector migration 7 (each row's `aggregated` count and `samples`) costs the collector's
# inserts: the shipper's statement (FleetBatch.insertSQL, one unnest per column in the select
# list) on arrays the server already holds decoded, as binary parameters give them, as a host
# role (row-level security), before and after the migration, alternating.
#
#   sudo bench/fleet-aggregates.sh [--rows-per-statement N] [--statements N] [--rounds N]
#
#   v6, 20 columns        the statement before the migration, on a schema-6 table
#   v7, 22 columns        the statement after it: single events (aggregated 1, samples NULL)
#   v7, old host          the 20-column statement on the schema-7 table (the trigger's WHEN runs)
#   v7, aggregates        22 columns, every row an aggregate with 4 samples (the widest rows)
# Prints rows/s (wall) and the backend's CPU per 1,000 rows; every run starts on an empty table
# after a checkpoint. LIGHTSCOPE= names the binary that runs `fleet init` (a debug one will do).
set -euo pipefail

ROWS=5000
STATEMENTS=40
ROUNDS=3
while (($#)); do
    case "$1" in
        --rows-per-statement) ROWS=$2; shift ;;
        --statements) STATEMENTS=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        *) echo "usage: sudo bench/fleet-aggregates.sh [--rows-per-statement N] [--statements N] [--rounds N]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/fleet-aggregates.sh needs root (it runs PostgreSQL as the postgres user)" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/opt/swift/usr/bin:$PATH"
export PG_PORT=${PG_PORT:-$((20000 + RANDOM % 10000))}
. "$ROOT/bench/fleet-postgres.sh"
if [ -z "${LIGHTSCOPE:-}" ]; then
    (cd "$ROOT" && swift build -c release --product lightscope >&2)
    LIGHTSCOPE=$(cd "$ROOT" && swift build -c release --product lightscope --show-bin-path)/lightscope
fi

WORK=$(mktemp -d /tmp/lightscope-aggbench-XXXXXX)
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
HOST_URL="host=$WORK port=$PG_PORT user=$ROLE password=$(printf '%s' "$CREDENTIALS" | jq -r .password) dbname=lightscope"
admin() { psql "$ADMIN" -qAtX -c "$1"; }

COLUMNS20='host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport, verdict, packets, ttl, "window",
    tcp_options, ports, addresses, tool, tcp_flags, answer'
UNNEST20='unnest(ids), unnest(times), unnest(interfaces), unnest(protocols), unnest(sources), unnest(sports),
    unnest(destinations), unnest(dports), unnest(verdicts), unnest(packets), unnest(ttls), unnest(windows), unnest(options),
    unnest(ports), unnest(addresses), unnest(tools), unnest(flags), unnest(answers)'
# batch AGGREGATES: the arrays of one statement, decoded once; AGGREGATES=1 makes every row an aggregate.
setup() {
    local aggregate=$1 source="'203.0.113.' || (g % 250)" count=1 samples=NULL
    if [ "$aggregate" = 1 ]; then
        source="'203.0.113.0/24'"; count="5000"
        samples="'203.0.113.' || (g % 250) || ',203.0.113.' || ((g + 1) % 250) || ',203.0.113.' || ((g + 2) % 250) || ',203.0.113.' || ((g + 3) % 250)"
    fi
    cat <<EOF
CREATE TEMP TABLE batch AS SELECT array_agg(g::bigint) AS ids,
    array_agg(now() - (($ROWS - g) * interval '1 millisecond')) AS times, array_agg('eth0'::text) AS interfaces,
    array_agg('tcp'::text) AS protocols, array_agg(($source)::text) AS sources, array_agg(40000 + g % 1000) AS sports,
    array_agg('192.0.2.1'::text) AS destinations, array_agg(22 + g % 1000) AS dports,
    array_agg((ARRAY['closed','unanswered','portscan','addrscan'])[1 + g % 4]) AS verdicts, array_agg((1 + g % 7)::bigint) AS packets,
    array_agg(54::smallint) AS ttls, array_agg(64240) AS windows, array_agg('M1460,S,T,N,W7'::text) AS options,
    array_agg(NULL::integer) AS ports, array_agg(NULL::integer) AS addresses, array_agg('nmap'::text) AS tools,
    array_agg('S'::text) AS flags, array_agg(NULL::text) AS answers, array_agg($count) AS counts,
    array_agg($samples::text) AS samples
FROM generate_series(1, $ROWS) AS g;
EOF
}
STATEMENT20="PREPARE ship(bigint) AS INSERT INTO lightscope.events ($COLUMNS20)
SELECT '$HOST_ID'::uuid, \$1, $UNNEST20 FROM batch;"
STATEMENT22="PREPARE ship(bigint) AS INSERT INTO lightscope.events ($COLUMNS20, aggregated, samples)
SELECT '$HOST_ID'::uuid, \$1, $UNNEST20, unnest(counts), string_to_array(unnest(samples), ',') FROM batch;"

STORE=0
# run LABEL COLUMNS AGGREGATES: prints "LABEL|rows/s|backend CPU ms per 1000 rows".
run() {
    local label=$1 columns=$2 aggregate=$3 script=$WORK/run.sql
    admin "TRUNCATE lightscope.events" >/dev/null; admin "CHECKPOINT" >/dev/null
    {
        echo "\\o $WORK/pid"
        echo "SELECT pg_backend_pid();"
        echo "\\o"
        setup "$aggregate"
        [ "$columns" = 20 ] && echo "$STATEMENT20" || echo "$STATEMENT22"
        echo "\\! cat /proc/\$(cat $WORK/pid)/stat > $WORK/cpu.before; date +%s.%N > $WORK/started"
        for ((s = 0; s < STATEMENTS; s++)); do STORE=$((STORE + 1)); echo "EXECUTE ship($STORE);"; done
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

# The schema before migration 7 (the latest): its columns and trigger gone (the views are not used here).
to_v6() { admin "DROP TRIGGER events_aggregates_have_counts ON lightscope.events;
    ALTER TABLE lightscope.events DROP COLUMN aggregated, DROP COLUMN samples" >/dev/null; }
LATEST=$(admin "SELECT max(version) FROM lightscope.schema_migrations")
to_v7() { admin "DELETE FROM lightscope.schema_migrations WHERE version = $LATEST" >/dev/null; "$LIGHTSCOPE" fleet init --url "$ADMIN" >/dev/null 2>&1; }

echo "== $ROUNDS rounds of $STATEMENTS statements of $ROWS rows, as host role $ROLE (row-level security)" >&2
results=()
for ((round = 1; round <= ROUNDS; round++)); do
    to_v6
    results+=("$(run "v6, 20 columns (round $round)" 20 0)")
    to_v7
    results+=("$(run "v7, 22 columns, single events (round $round)" 22 0)")
    results+=("$(run "v7, old host's 20 columns (round $round)" 20 0)")
    results+=("$(run "v7, 22 columns, all aggregates with 4 samples (round $round)" 22 1)")
done

echo
echo "| collector run ($STATEMENTS x $ROWS rows) | rows/s | backend CPU per 1,000 rows |"
echo "|---|---:|---:|"
for line in "${results[@]}"; do
    IFS='|' read -r label rate cpu <<< "$line"
    echo "| $label | $rate | $cpu ms |"
done
echo
echo "(PostgreSQL $(admin 'SHOW server_version'), fsync $(admin 'SHOW fsync'), synchronous_commit $(admin 'SHOW synchronous_commit'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(git -C "$ROOT" rev-parse --short HEAD))"
