#!/usr/bin/env bash
# The idle footprint of one LightScope binary, and where its resident memory lives:
# LightScope runs on a veth in a namespace of its own, idle, for a while; then this prints
# idle CPU (% of a core), wake-ups/s (context switches, all threads), VmRSS, RssAnon,
# RssFile, RssShmem, and the resident KiB of each mapping (file or kind), largest first.
#
#   sudo bench/idlemem.sh [--binary PATH] [--threads N|auto] [--seconds S]
#
# PATH defaults to .build/release/lightscope (build it as bench/run.sh does:
# swift build -c release --static-swift-stdlib --product lightscope).
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
BINARY="$ROOT/.build/release/lightscope"; THREADS=; SECONDS_IDLE=30
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY=$2; shift ;;
        --threads) THREADS=$2; shift ;;
        --seconds) SECONDS_IDLE=$2; shift ;;
        *) echo "usage: sudo bench/idlemem.sh [--binary PATH] [--threads N|auto] [--seconds S]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/idlemem.sh needs root (namespaces, capture)" >&2; exit 1; }
[ -x "$BINARY" ] || { echo "bench/idlemem.sh: $BINARY is not an executable file" >&2; exit 1; }

NS=lsidle-$$
WORK=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add lsi0 type veth peer name lsi1
ip -n "$NS" addr add 192.0.2.1/24 dev lsi0
ip -n "$NS" link set lsi0 up
ip -n "$NS" link set lsi1 up
ip -n "$NS" link set lo up
# Without --threads, no threads line: the default (1), and a config older builds accept too.
printf '[log]\nlevel = info\n[detection]\nmemory_budget_mib = 64\n' > "$WORK/idle.conf"
[ -z "$THREADS" ] || printf '[capture]\nthreads = %s\n' "$THREADS" >> "$WORK/idle.conf"
ip netns exec "$NS" "$BINARY" run --interface lsi0 --config "$WORK/idle.conf" --state-dir "$WORK/state" \
    > "$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -Eq "LightScope [^ ]+ started" "$WORK/log" && break; sleep 0.1; done
grep -Eq "LightScope [^ ]+ started" "$WORK/log" || { echo "LightScope did not start:" >&2; cat "$WORK/log" >&2; exit 1; }

cpu_nanos() { cat /proc/"$PID"/task/*/schedstat | awk '{sum += $1} END {printf "%.0f\n", sum}'; }
switches() { cat /proc/"$PID"/task/*/status | awk '/ctxt_switches/ {sum += $2} END {print sum}'; }
sleep 2
c0=$(cpu_nanos); s0=$(switches); t0=$EPOCHREALTIME
sleep "$SECONDS_IDLE"
c1=$(cpu_nanos); s1=$(switches); t1=$EPOCHREALTIME

echo "binary: $BINARY ($(stat -c %s "$BINARY") bytes), threads = ${THREADS:-1 (default)}, idle $SECONDS_IDLE s, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tasks: $(ls /proc/"$PID"/task | wc -l)"
python3 -c "print(f'idle CPU: {($c1 - $c0) / 1e9 / ($t1 - $t0) * 100:.3f} % of a core; wake-ups: {($s1 - $s0) / ($t1 - $t0):.1f} /s')"
awk '/^(VmRSS|RssAnon|RssFile|RssShmem)/ {printf "%s %.1f MiB\n", $1, $2 / 1024}' /proc/"$PID"/status
echo "resident KiB per mapping (summed over its ranges):"
awk '
    /^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6); for (i = 7; i <= NF; i++) name = name " " $i; next }
    /^Rss:/ { rss[name] += $2 }
    END { for (n in rss) if (rss[n] > 0) printf "%8d  %s\n", rss[n], n }
' /proc/"$PID"/smaps | sort -rn
