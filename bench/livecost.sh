#!/bin/bash
# The live cost per packet: LightScope and tcpdump capture the same SYN flood, one at a time,
# taking turns, and each is charged the CPU time of all its threads per captured packet.
#
#   sudo bench/livecost.sh --lightscope BIN --filter BPF --results DIR [--packets N] [--rounds N]
#                          [--no-profile] [--threads N] [--streams "open probe closed"]
#
# bench/run.sh --only livecost calls it (with LightScope's own filter); it prints Markdown on
# stdout and writes the raw figures (livecost.tsv) and the profiles to DIR. Three streams of
# SYNs from random 10.0.0.0/8 sources, sent by trafgen from a TX ring in one namespace to
# 192.0.2.1 in another:
#   open    to port 80, where a socket listens: the host answers every SYN with a SYN-ACK
#           (SYN cookies always on, so no retransmits and no backlog limit);
#   probe   to random ports 1024-65535 behind a firewall (an nft ingress drop after the
#           capture point): nothing answers, and every probe waits out syn_answer_timeout;
#   closed  to the same random ports, answered at once with RSTs.
# All traffic stays inside the two namespaces, which this script creates and deletes; every
# send is bounded in packets. --threads N: LightScope runs N packet loops ([capture] threads),
# joined by PACKET_FANOUT; their CPU is the packet loop's.
set -euo pipefail

PACKETS=1500000
ROUNDS=3
PROFILE=1
THREADS=1
STREAMS="open probe closed"
LIGHTSCOPE=""
FILTER=""
RESULTS=""
usage() { echo "usage: sudo bench/livecost.sh --lightscope BIN --filter BPF --results DIR [--packets N] [--rounds N] [--no-profile] [--threads N] [--streams LIST]" >&2; exit 2; }
while (($#)); do
    case "$1" in
        --lightscope) LIGHTSCOPE=${2:-}; shift ;;
        --filter) FILTER=${2:-}; shift ;;
        --results) RESULTS=${2:-}; shift ;;
        --packets) PACKETS=${2:-}; shift ;;
        --rounds) ROUNDS=${2:-}; shift ;;
        --no-profile) PROFILE=0 ;;
        --threads) THREADS=${2:-}; shift ;;
        --streams) STREAMS=${2:-}; shift ;;
        *) usage ;;
    esac
    shift
done
[ -x "$LIGHTSCOPE" ] && [ -n "$FILTER" ] && [ -n "$RESULTS" ] || usage
[ "$(id -u)" = 0 ] || { echo "bench/livecost.sh needs root (network namespaces, capture); run it with sudo" >&2; exit 1; }
for tool in trafgen tcpdump nft perf; do
    command -v "$tool" >/dev/null || { echo "bench/livecost.sh needs $tool (bench/run.sh installs it)" >&2; exit 1; }
done

BENCH=$(cd "$(dirname "$0")" && pwd)
WORK="$RESULTS/livecost"
mkdir -p "$WORK"
TSV="$WORK/livecost.tsv"
log() { echo "== livecost: $*" >&2; }

# --- Namespaces ---------------------------------------------------------------------
NS_CAPTURE=lscost-capture-$$   # per run, so that two runs can share a machine
NS_SENDER=lscost-sender-$$
LISTENER_PORT=80
CLEANUP_PIDS=""
cleanup() {
    local pid
    for pid in $CLEANUP_PIDS; do kill "$pid" 2>/dev/null || true; done
    ip netns del "$NS_CAPTURE" 2>/dev/null || true
    ip netns del "$NS_SENDER" 2>/dev/null || true
}
trap cleanup EXIT

make_namespaces() {
    cleanup
    ip netns add "$NS_CAPTURE"
    ip netns add "$NS_SENDER"
    ip link add lsc0 netns "$NS_CAPTURE" type veth peer name lsc1 netns "$NS_SENDER"
    ip -n "$NS_CAPTURE" addr add 192.0.2.1/24 dev lsc0
    ip -n "$NS_SENDER" addr add 192.0.2.2/24 dev lsc1
    ip -n "$NS_CAPTURE" link set lo up
    ip -n "$NS_CAPTURE" link set lsc0 up
    ip -n "$NS_SENDER" link set lsc1 up
    # The answers go back on the wire (and so past both capture points) ...
    ip -n "$NS_CAPTURE" route add 10.0.0.0/8 via 192.0.2.2
    # ... and are thrown away on arrival, before the sender's IP stack spends time on them.
    ip netns exec "$NS_SENDER" nft -f - <<'EOF'
table netdev lscost_answers {
    chain ingress {
        type filter hook ingress device "lsc1" priority 0; policy accept;
        meta protocol ip drop
    }
}
EOF
    # Every SYN to the listener gets a SYN-ACK with a cookie and leaves no state behind: no
    # retransmitted SYN-ACKs, no backlog that fills.
    ip netns exec "$NS_CAPTURE" sysctl -qw net.ipv4.tcp_syncookies=2
    CAPTURE_MAC=$(ip netns exec "$NS_CAPTURE" cat /sys/class/net/lsc0/address)
    ip netns exec "$NS_CAPTURE" /usr/bin/python3 -c "
import socket, signal
listener = socket.socket()
listener.bind(('0.0.0.0', $LISTENER_PORT))
listener.listen(4096)
signal.pause()" &
    CLEANUP_PIDS="$CLEANUP_PIDS $!"
    for _ in $(seq 1 100); do
        ip netns exec "$NS_CAPTURE" ss -Hltn "sport = :$LISTENER_PORT" | grep -q LISTEN && return 0
        sleep 0.1
    done
    echo "bench/livecost.sh: the listener on port $LISTENER_PORT did not start" >&2; exit 1
}

# The probe stream's firewall: drops the SYNs at ingress, after libpcap's and tcpdump's
# packet sockets have seen them, so the host never answers.
firewall() {
    if [ "$1" = on ]; then
        ip netns exec "$NS_CAPTURE" nft -f - <<'EOF'
table netdev lscost_firewall {
    chain ingress {
        type filter hook ingress device "lsc0" priority 0; policy accept;
        ip saddr 10.0.0.0/8 drop
    }
}
EOF
    else
        ip netns exec "$NS_CAPTURE" nft delete table netdev lscost_firewall 2>/dev/null || true
    fi
}

# trafgen's packet: a SYN from a random 10.0.0.0/8 source and port, to $1 (a port or a range).
trafgen_config() {
    printf '{ eth(da=%s), ipv4(sa=10.0.0.0, sa[1]=drnd(), sa[2]=drnd(), sa[3]=drnd(), da=192.0.2.1, ttl=50), tcp(sp=drnd(1024, 65535), dp=%s, seq=drnd(), syn) }\n' \
        "$CAPTURE_MAC" "$1"
}

stream_setup() {
    case "$1" in
        open) firewall off; trafgen_config "$LISTENER_PORT" > "$WORK/stream.trafgen" ;;
        probe) firewall on; trafgen_config "drnd(1024, 65535)" > "$WORK/stream.trafgen" ;;
        closed) firewall off; trafgen_config "drnd(1024, 65535)" > "$WORK/stream.trafgen" ;;
    esac
}

# --- Per-process figures ------------------------------------------------------------
# "CPU LOOP WRITER SWITCHES": CPU nanoseconds on a core (the scheduler's own accounting) of
# all threads, of LightScope's packet loop (ls-lsc0) and of its store writer (ls-events), and
# the voluntary and involuntary context switches of all threads (how often the tool woke up).
snapshot() {
    local task comm nanos rest cpu=0 loop=0 writer=0 switches=0 count
    for task in /proc/"$1"/task/*; do
        read -r nanos rest < "$task/schedstat" || continue
        comm=$(< "$task/comm")
        cpu=$((cpu + nanos))
        case "$comm" in ls-lsc0 | ls-lsc0-*) loop=$((loop + nanos)) ;; ls-events) writer=$((writer + nanos)) ;; esac
        for count in $(awk '/ctxt_switches/ {print $2}' "$task/status"); do switches=$((switches + count)); done
    done
    echo "$cpu $loop $writer $switches"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
# Minor page faults (first touches) of a process, all its threads: /proc/PID/stat's tenth field.
minor_faults() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f8; }

# Sends the stream; sets SENT and SEND_SECONDS (wall clock around the sender). One trafgen
# worker (it pins itself to CPU 0): its workers share one random seed, so two would send
# every SYN twice. -Q: leave the host's IRQ affinity alone.
send_stream() {
    local start
    start=$EPOCHREALTIME
    ip netns exec "$NS_SENDER" trafgen -o lsc1 -c "$WORK/stream.trafgen" -n "$PACKETS" --cpus 1 -E 7 -Q \
        > "$WORK/sender.log" 2>&1
    SEND_SECONDS=$(python3 -c "print(f'{$EPOCHREALTIME - $start:.3f}')")
    SENT=$(sed -n 's/^[[:space:]]*\([0-9]*\) packets outgoing.*/\1/p' "$WORK/sender.log")
}

# --- The tools ----------------------------------------------------------------------
start_lightscope() {
    rm -rf "$WORK/state"
    # status_interval 1s: the status file is fresh when the figures are read.
    printf '[log]\nlevel = info\n[watchdog]\nstatus_interval = 1s\n[capture]\nthreads = %s\n' "$THREADS" > "$WORK/bench.conf"
    ip netns exec "$NS_CAPTURE" "$LIGHTSCOPE" run --interface lsc0 --config "$WORK/bench.conf" \
        --state-dir "$WORK/state" > "$WORK/lightscope.log" 2>&1 &
    TOOL_PID=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $TOOL_PID"
    for _ in $(seq 1 100); do grep -Eq "LightScope [^ ]+ started" "$WORK/lightscope.log" && return 0; sleep 0.1; done
    echo "LightScope did not start; its log:" >&2; cat "$WORK/lightscope.log" >&2; exit 1
}

lightscope_status() { "$LIGHTSCOPE" status --json --state-dir "$WORK/state" 2>/dev/null || true; }

# Until every probe has had its verdict (syn_answer_timeout, 10 s, after the last one) and the
# store has written what it was given: no pending probes, and the figures unchanged for a second.
# It reads the status file itself: `lightscope status` also counts the store's events, and a
# reader in the store each second kept the writer's checkpoint from finishing, which cost a
# batch of 4,096 events (counted lost as "disk": the log at its reserve).
settle_lightscope() {
    local previous="" current
    sleep 10
    for _ in $(seq 1 40); do
        sleep 1
        current=$({ python3 "$BENCH/livecost_report.py" progress < "$WORK/state/run/status.json"; } 2>/dev/null || echo unknown)
        [ "${current%% *}" = 0 ] && [ "$current" = "$previous" ] && return 0
        previous=$current
    done
    log "LightScope did not settle: $current"
}

stop_lightscope() { kill -TERM "$TOOL_PID"; wait "$TOOL_PID" || true; }

start_tcpdump() {
    # Same filter, snaplen and kernel buffer (4096 KiB) as LightScope's defaults.
    ip netns exec "$NS_CAPTURE" tcpdump -i lsc0 -n -s 256 -B 4096 -w /dev/null "$FILTER" > "$WORK/tcpdump.log" 2>&1 &
    TOOL_PID=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $TOOL_PID"
    for _ in $(seq 1 50); do grep -q "listening on" "$WORK/tcpdump.log" && return 0; sleep 0.1; done
    echo "tcpdump did not start; its log:" >&2; cat "$WORK/tcpdump.log" >&2; exit 1
}

# One capture of one stream by one tool: appends a line to $TSV.
measure() {
    local round=$1 stream=$2 tool=$3 faults0 faults2 cpu0 cpu1 cpu2 loop0 loop2 writer0 writer2 switches0 switches1 load seen dropped status
    stream_setup "$stream"
    if [ "$tool" = lightscope ]; then start_lightscope; else start_tcpdump; fi
    sleep 1
    load=$(load1)
    read -r cpu0 loop0 writer0 switches0 <<< "$(snapshot "$TOOL_PID")"
    faults0=$(minor_faults "$TOOL_PID")
    send_stream
    read -r cpu1 _ _ switches1 <<< "$(snapshot "$TOOL_PID")"
    if [ "$tool" = lightscope ]; then
        settle_lightscope
        read -r cpu2 loop2 writer2 _ <<< "$(snapshot "$TOOL_PID")"
        faults2=$(minor_faults "$TOOL_PID")
        status=$(lightscope_status)
        stop_lightscope
        read -r seen dropped <<< "$(python3 "$BENCH/livecost_report.py" counts <<< "$status")"
        echo "$status" > "$WORK/status-$stream-$round.json"
        grep "Stopped cleanly" "$WORK/lightscope.log" | tail -1 > "$WORK/stopped-$stream-$round.txt" || true
    else
        # tcpdump's ring hands a block over when it fills or after its 1 s timeout.
        sleep 2
        read -r cpu2 _ _ _ <<< "$(snapshot "$TOOL_PID")"
        faults2=$(minor_faults "$TOOL_PID")
        loop0=$cpu0 loop2=$cpu2 writer0=0 writer2=0
        kill -INT "$TOOL_PID"; wait "$TOOL_PID" || true
        seen=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$WORK/tcpdump.log")
        dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.log")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$stream" "$tool" "$load" "$SENT" \
        "$SEND_SECONDS" "$((cpu1 - cpu0))" "$((cpu2 - cpu0))" "$((switches1 - switches0))" "$seen" "${dropped:-0}" \
        "$((loop2 - loop0))" "$((writer2 - writer0))" >> "$TSV"
    log "round $round $stream $tool: load $load, sent $SENT in $SEND_SECONDS s, seen $seen, dropped ${dropped:-0}, CPU $(((cpu2 - cpu0) / 1000000)) ms, minor faults $((faults2 - faults0))"
}

# One LightScope capture of a stream under `perf record` (all threads, sampled by the clock:
# this VM has no hardware counters), summarised by where the time goes.
profile() {
    local stream=$1 perf_pid
    stream_setup "$stream"
    start_lightscope
    sleep 1
    perf record -q -e cpu-clock -F 2000 -g -p "$TOOL_PID" -o "$WORK/perf-$stream.data" 2> "$WORK/perf-$stream.log" &
    perf_pid=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $perf_pid"
    sleep 1
    send_stream
    settle_lightscope
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    stop_lightscope
    perf report -i "$WORK/perf-$stream.data" --no-children -n --sort comm,dso,sym -g none --stdio 2>/dev/null \
        | swift-demangle --simplified > "$WORK/perf-$stream.txt"
    # The packet loop's time with its callees (frame pointers: exact in Swift code, cut short
    # in libraries built without them).
    perf report -i "$WORK/perf-$stream.data" --children --comm ls-lsc0 --sort sym -g none --stdio 2>/dev/null \
        | swift-demangle --simplified > "$WORK/perf-$stream-loop.txt"
    # Every sample with its time and stack, for the split into the flood's two phases.
    perf script -i "$WORK/perf-$stream.data" -F comm,tid,time,ip,sym,dso 2>/dev/null \
        | swift-demangle --simplified > "$WORK/perf-$stream-script.txt"
    log "profile $stream: $(grep -c . "$WORK/perf-$stream.txt") lines in $WORK/perf-$stream.txt"
}

# --- Main ---------------------------------------------------------------------------
make_namespaces
: > "$TSV"
log "$PACKETS packets per stream, $ROUNDS rounds, $THREADS LightScope packet loop(s)"
for round in $(seq 1 "$ROUNDS"); do
    for stream in $STREAMS; do
        # Taking turns: who goes first alternates, so a slow spell of the machine falls on both.
        if ((round % 2)); then tools="lightscope tcpdump"; else tools="tcpdump lightscope"; fi
        for tool in $tools; do measure "$round" "$stream" "$tool"; done
    done
done
python3 "$BENCH/livecost_report.py" table "$TSV" "$PACKETS" "$ROUNDS"
if [ "$PROFILE" = 1 ]; then
    for stream in $STREAMS; do profile "$stream"; done
    # shellcheck disable=SC2086 # STREAMS is a list of stream names
    python3 "$BENCH/livecost_report.py" profile "$WORK" $STREAMS
    # shellcheck disable=SC2086 # STREAMS is a list of stream names
    python3 "$BENCH/livecost_report.py" phases "$WORK" $STREAMS
fi
