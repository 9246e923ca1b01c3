#!/bin/bash
# The collector's disk per event: rows as hosts ship them, into one day's partition of
# lightscope.events with its key and its three indexes, measured with pg_total_relation_size.
# The basis of the disk figures in docs/FLEET-SCALE.md; the WAL written per event too.
#
#   sudo bench/fleet-disk.sh [--rows N] [--hosts N]
#
# A PostgreSQL 15 on a Unix socket, the schema of `lightscope fleet init`. Rows go in as the
# shipper's batches arrive: in time order through the day, hosts interleaved, each host's event
# ids rising. Sources are drawn from 200,000 IPv4 addresses (a few scan a lot), ports from a
# skewed set, verdicts and TCP options mixed as background scanning shows them; ports and
# addresses are set on portscan and addrscan events only.
set -euo pipefail

ROWS=2000000
HOSTS=1000
while (($#)); do
    case "$1" in
        --rows) ROWS=$2; shift ;;
        --hosts) HOSTS=$2; shift ;;
        *) echo "usage: sudo bench/fleet-disk.sh [--rows N] [--hosts N]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/fleet-disk.sh needs root (it runs PostgreSQL as the postgres user); run it with sudo" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/opt/swift/usr/bin:$PATH"
. "$ROOT/bench/fleet-postgres.sh"
if [ -z "${LIGHTSCOPE:-}" ]; then
    (cd "$ROOT" && swift build --product lightscope >&2)
    LIGHTSCOPE=$(cd "$ROOT" && swift build --product lightscope --show-bin-path)/lightscope
fi

WORK=$(mktemp -d /tmp/lightscope-diskbench-XXXXXX)
cleanup() {
    pg_stop "$WORK"
    rm -rf "$WORK"
}
trap cleanup EXIT
pg_create "$WORK"
pg_start "$WORK"
"$LIGHTSCOPE" fleet init --url "$ADMIN" >/dev/null
admin() { psql "$ADMIN" -qAtX -v ON_ERROR_STOP=1 "$@"; }
PARTITION=events_$(date -u +%Y%m%d)

# 5000-row statements, each its own transaction, as batches arrive.
BATCH=5000
admin -c "CREATE TABLE public.hostids AS SELECT h, md5('host' || h)::uuid AS id, h::bigint * 7919 AS store FROM generate_series(0, $HOSTS - 1) h"
wal_start=$(admin -c "SELECT pg_current_wal_lsn()")
start=$(date +%s.%N)
for ((first = 0; first < ROWS; first += BATCH)); do
    admin >/dev/null <<SQL
INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport, verdict,
                               packets, ttl, "window", tcp_options, ports, addresses)
SELECT h.id, h.store, g + 1,
       date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + (g::float8 / $ROWS) * interval '23 hours',
       'eth0', CASE WHEN g % 20 = 0 THEN 'udp' ELSE 'tcp' END,
       CASE WHEN r.s % 10 < 3 THEN '45.' || (r.s % 7) || '.' || (r.s % 13) || '.' || (r.s % 31)
            ELSE (r.s % 223 + 1) || '.' || (r.s / 223 % 256) || '.' || (r.s / 57088 % 256) || '.' || (r.s * 7 % 256) END,
       1024 + (g * 7919) % 64000, '192.0.2.' || (h.h % 250 + 1),
       (ARRAY[22, 23, 80, 443, 445, 3389, 8080, 5900, 6379, 1433])[1 + r.s % 10] + CASE WHEN g % 3 = 0 THEN g % 40000 ELSE 0 END,
       v.verdict, 1 + g % 3, 40 + g % 200, (ARRAY[1024, 65535, 29200, 64240])[1 + g % 4],
       CASE WHEN g % 4 = 0 THEN NULL ELSE (ARRAY['M1460', 'M1460,S,T,N,W7', 'M1440,N,W8,N,N,S'])[1 + g % 3] END,
       CASE WHEN v.verdict = 'portscan' THEN 15 + g % 100 END,
       CASE WHEN v.verdict = 'addrscan' THEN 10 + g % 50 END
FROM generate_series($first::bigint, LEAST($first + $BATCH, $ROWS) - 1) AS g
CROSS JOIN LATERAL (SELECT (hashint8(g) & 2147483647) % 200000 AS s) AS r
CROSS JOIN LATERAL (SELECT (ARRAY['closed','closed','closed','closed','closed','unanswered','unanswered','unanswered','portscan','addrscan'])[1 + g % 10] AS verdict) AS v
JOIN public.hostids h ON h.h = (hashint8(g * 31) & 2147483647) % $HOSTS;
SQL
done
end=$(date +%s.%N)
wal_bytes=$(admin -c "SELECT pg_current_wal_lsn() - '$wal_start'::pg_lsn")
admin -c "VACUUM ANALYZE lightscope.$PARTITION" >/dev/null
echo "rows: $(admin -c "SELECT count(*) FROM lightscope.$PARTITION") in lightscope.$PARTITION from $HOSTS hosts, inserted in $(printf '%.1f' "$(echo "$end - $start" | bc)") s"
echo "WAL written while inserting: $((wal_bytes / 1048576)) MiB, $((wal_bytes / ROWS)) bytes/event (checkpoints' full-page writes included)"
admin -F ' ' <<SQL
SELECT rpad(name, 32), lpad(pg_size_pretty(bytes), 10), lpad(round(bytes::numeric / rows, 1)::text, 7) || ' bytes/event'
FROM (SELECT count(*) AS rows FROM lightscope.$PARTITION) c,
LATERAL (VALUES
    ('table (heap, toast, fsm/vm)', pg_table_size('lightscope.$PARTITION')),
    ('key (host, store, event, time)', pg_relation_size('lightscope.${PARTITION}_pkey')),
    ('index time', (SELECT pg_relation_size(i.indexrelid) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = 'lightscope.$PARTITION'::regclass AND i.indnatts = 1 AND a.attname = 'time')),
    ('index (src, time)', (SELECT pg_relation_size(i.indexrelid) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = 'lightscope.$PARTITION'::regclass AND a.attname = 'src')),
    ('index (dport, time)', (SELECT pg_relation_size(i.indexrelid) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = 'lightscope.$PARTITION'::regclass AND a.attname = 'dport')),
    ('total (pg_total_relation_size)', pg_total_relation_size('lightscope.$PARTITION'))) AS t(name, bytes);
SQL
