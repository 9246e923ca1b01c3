#!/usr/bin/env bash
# Two builds of `lightscope replay` against each other, and against a bare pcap_loop, on the
# offline benchmark's capture (mixed, 3,000,000 packets, seed 5): the A/B a restructuring or
# an optimisation is judged by. The runs alternate, A then B, then B then A, so that a slow
# spell of a shared machine falls on both; the load average is shown before and after.
#
#   bench/ab-replay.sh A_BINARY B_BINARY [ROUNDS]    (15 rounds unless told)
#
# Needs bench/data/mixed-3000000.pcap and bench/bin/pcap_count (`sudo bench/run.sh --only
# offline` makes both), or LIGHTSCOPE_PCAPGEN naming a lightscope-pcapgen to write the file.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/ab-replay.sh A_BINARY B_BINARY [ROUNDS]" >&2; exit 2; }
BENCH=$(cd "$(dirname "$0")" && pwd)
a=$1 b=$2 rounds=${3:-15}
pcap="$BENCH/data/mixed-3000000.pcap"
mkdir -p "$BENCH/data" "$BENCH/bin"
[ -s "$pcap" ] || "${LIGHTSCOPE_PCAPGEN:-$BENCH/../.build/release/lightscope-pcapgen}" mixed --packets 3000000 --seed 5 "$pcap" >&2
[ -x "$BENCH/bin/pcap_count" ] || gcc -O2 -Wall -o "$BENCH/bin/pcap_count" "$BENCH/pcap_count.c" -lpcap
cat "$pcap" > /dev/null # page cache: every run reads from memory
times=$(mktemp)
outputs=$(mktemp -d)
trap 'rm -rf "$times" "$outputs"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
    echo "pcap_loop $("$BENCH/bin/pcap_count" "$pcap" | awk '{print $2}')" >> "$times"
    if (( round % 2 )); then order="A B"; else order="B A"; fi
    for which in $order; do
        binary=$a; [ "$which" = B ] && binary=$b
        start=$EPOCHREALTIME
        "$binary" replay "$pcap" --config /dev/null > "$outputs/$which" || true
        echo "$which $(python3 -c "print(f'{$EPOCHREALTIME - $start:.4f}')")" >> "$times"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$times" <<'PY'
import collections, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, seconds = line.split()
    runs[name].append(float(seconds))
def best(name): return min(runs[name])
def best5(name): return sum(sorted(runs[name])[:5]) / len(runs[name][:5])
for name in ("A", "B", "pcap_loop"):
    print(f"{name:10s} best {best(name):.3f} s, mean of best five {best5(name):.3f} s ({len(runs[name])} runs)")
print(f"B/A time: best {best('B') / best('A'):.3f}, mean of best five {best5('B') / best5('A'):.3f}")
for name in ("A", "B"):
    print(f"{name} against pcap_loop: {best('pcap_loop') / best(name):.2f}x best, {best5('pcap_loop') / best5(name):.2f}x best five")
PY
cmp -s "$outputs/A" "$outputs/B" && echo "the two summaries are identical" || { echo "the summaries differ:"; diff "$outputs/A" "$outputs/B" || true; }
