#!/usr/bin/env bash
# Where the probe stream's cost goes, stage by stage: what LightScope costs a packet with
# each stage of its work left out in turn.
#
#   sudo bench/knockout.sh [--stages "presize noscan noemit noverdict notool noheld noarrival nodetect"]
#                          [--invocations N] [--packets N]
#
# Builds LightScope from this checkout's HEAD (committed code only), then once per stage with
# that stage's patch applied (bench/knockouts/STAGE.patch, whose first line says what it
# leaves out: trial builds, never shipped), each in a scratch git worktree. Then it runs
# bench/livecost.sh's probe stream (N packets, default 1,500,000) with main and each trial
# build taking turns, N invocations each (default 3), and prints Markdown: every build's
# figures and median, and what each stage costs, main's median less the build's. The stages
# share caches, so their costs need not add up exactly to main's. Raw figures:
# bench/results/knockout/ (git-ignored). The first build takes several minutes, each trial
# build under one; an invocation about half a minute.
# bench/knockouts/ also holds trials of another design, run only when named in --stages:
# `taildrop` and `heldtail` (a full table refuses new probes; bench/HISTORY.md, session 22).
# For a trial, "main's median less the build's" is what main's design costs over the trial's.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
# sudo's PATH leaves the toolchain out, as bench/run.sh knows.
export PATH="/opt/swift/usr/bin:$PATH"
STAGES="presize noscan noemit noverdict notool noheld noarrival nodetect"
INVOCATIONS=3
PACKETS=1500000
usage() {
    echo "usage: sudo bench/knockout.sh [--stages \"presize noscan noemit noverdict notool noheld noarrival nodetect\"] [--invocations N] [--packets N]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --stages) STAGES=${2:-}; shift ;;
        --invocations) INVOCATIONS=${2:-}; shift ;;
        --packets) PACKETS=${2:-}; shift ;;
        *) usage ;;
    esac
    shift
done
[[ "$INVOCATIONS" =~ ^[1-9][0-9]*$ && "$PACKETS" =~ ^[1-9][0-9]*$ ]] || usage
[ "$(id -u)" = 0 ] || { echo "bench/knockout.sh: run it as root (network namespaces, trafgen)" >&2; exit 2; }
# What bench/livecost.sh will need, asked before the builds rather than after them.
for tool in trafgen tcpdump nft perf swift git; do
    command -v "$tool" > /dev/null || { echo "bench/knockout.sh needs $tool (bench/run.sh installs the benchmark's tools)" >&2; exit 2; }
done
for stage in $STAGES; do
    [ -f "$BENCH/knockouts/$stage.patch" ] || { echo "bench/knockout.sh: no knock-out \"$stage\": see bench/knockouts/" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/lightscope-knockout.XXXXXX)
cleanup() {
    git -C "$ROOT" worktree remove --force "$WORK/src" > /dev/null 2>&1 || true
    rm -rf "$WORK"
    # SwiftPM's lock files for the worktree's build, named after its path.
    rm -f "/tmp/$(printf '%s' "$WORK/src" | tr / _)"_*
}
trap cleanup EXIT
git -C "$ROOT" worktree add --detach "$WORK/src" HEAD > /dev/null 2>&1

# $1: the build's name; the worktree's sources as they are now.
build() {
    echo "building $1" >&2
    (cd "$WORK/src" && swift build -c release --static-swift-stdlib --product lightscope > "$WORK/build-$1.log" 2>&1) || {
        echo "bench/knockout.sh: the build \"$1\" failed; its log:" >&2
        tail -20 "$WORK/build-$1.log" >&2
        exit 1
    }
    cp "$WORK/src/.build/release/lightscope" "$WORK/lightscope-$1"
}
build main
for stage in $STAGES; do
    git -C "$WORK/src" apply "$BENCH/knockouts/$stage.patch" 2> /dev/null || {
        echo "bench/knockout.sh: bench/knockouts/$stage.patch no longer applies to HEAD: make it again by hand (its first line says what it leaves out)" >&2
        exit 1
    }
    build "$stage"
    git -C "$WORK/src" checkout -q -- Sources
done

# The filter of the code measured: HEAD's, as the builds are.
FILTER=$(python3 "$BENCH/lightscope_filter.py" "$WORK/src/Sources/LightScopeCapture/CaptureFilter.swift")
RESULTS="$BENCH/results/knockout"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
printf 'build\tinvocation\tns_per_packet\ttcpdump_ns_per_packet\tsending_ns_per_packet\n' > "$RESULTS/knockout.tsv"
for invocation in $(seq 1 "$INVOCATIONS"); do
    for name in main $STAGES; do
        echo "invocation $invocation: $name" >&2
        out="$RESULTS/$name-$invocation"
        "$BENCH/livecost.sh" --lightscope "$WORK/lightscope-$name" --filter "$FILTER" --results "$out" \
            --packets "$PACKETS" --rounds 1 --no-profile --streams probe > "$out.md"
        # | probe | 462 (389 + 68) | 79 | 5.9x | 246 / 79, 3.1x | ...
        grep -E '^\| probe \|' "$out.md" | head -1 | awk -F'|' -v name="$name" -v invocation="$invocation" '{
            split($3, total, " "); gsub(/ /, "", $4); split($6, sending, " ")
            printf "%s\t%s\t%s\t%s\t%s\n", name, invocation, total[1], $4, sending[1] }' >> "$RESULTS/knockout.tsv"
    done
done

python3 - "$RESULTS/knockout.tsv" "$PACKETS" "$STAGES" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
packets, stages = int(sys.argv[2]), sys.argv[3].split()
def of(name, field): return [int(row[field]) for row in rows if row["build"] == name]
medians = {name: statistics.median(of(name, "ns_per_packet")) for name in ["main"] + stages}
print(f"### The probe stream with each stage left out: {packets:,} SYNs, bench/livecost.sh, builds taking turns")
print()
print("| build | ns/packet (all threads) | median | tcpdump ns/packet | while sending | main's median less this build's |")
print("|---|---|---:|---|---|---:|")
for name in ["main"] + stages:
    spread = lambda values: f"{min(values)}-{max(values)}" if min(values) != max(values) else f"{values[0]}"
    cost = "" if name == "main" else f"{medians['main'] - medians[name]:+g}"
    print(f"| {name} | {', '.join(map(str, of(name, 'ns_per_packet')))} | {medians[name]:g} | "
          f"{spread(of(name, 'tcpdump_ns_per_packet'))} | {spread(of(name, 'sending_ns_per_packet'))} | {cost} |")
EOF
echo
echo "Main's accounting, each invocation (bench/livecost.sh's table):"
echo
grep -h -m1 -A1 -E '^\| round \| stream \| sent \|' "$RESULTS/main-1.md"
for file in "$RESULTS"/main-*.md; do grep -h -A2 -E '^\| round \| stream \| sent \|' "$file" | tail -1; done
