#!/usr/bin/env bash
# Fuzzes decoding and detection with libFuzzer (Fuzz/fuzz_decode_detect.swift).
#
#   Fuzz/run.sh                  short run, 60 s (what CI does)
#   Fuzz/run.sh --seconds 3600   long run; the corpus in .build-fuzz/corpus grows across runs
#   Fuzz/run.sh --seconds 0      until stopped (Ctrl-C)
#   Fuzz/run.sh -- -fork=2       anything after -- goes to libFuzzer
#
# The seed corpus is written by the fuzz binary itself (Fuzz/FuzzSeeds.swift) on every run.
# A crash leaves its input in .build-fuzz/artifacts/ and fails the run; replay it with
# `.build-fuzz/fuzz_decode_detect FILE`, then make it a regression test in
# Tests/LightScopeCoreTests (its bytes inlined) and fix the cause.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
while (($#)); do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "usage: Fuzz/run.sh [--seconds N] [-- libFuzzer options]" >&2; exit 2 ;;
    esac
done

binary=$(Fuzz/build.sh 2> >(grep -v "Cannot export local symbol" >&2) | tail -n1)
corpus=.build-fuzz/corpus
artifacts=.build-fuzz/artifacts
mkdir -p "$corpus" "$artifacts"
# The Swift runtime's own crash backtracer reads foreign stacks and trips AddressSanitizer;
# libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
LIGHTSCOPE_FUZZ_WRITE_SEEDS=$corpus "$binary"
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" "$corpus"
