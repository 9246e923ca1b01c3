"""The arithmetic and tables of bench/livecost.sh.

    livecost_report.py progress < STATUS_JSON     "pending judged stored lost": settled when still
    livecost_report.py counts < STATUS_JSON       "packets dropped" of the captured interfaces
    livecost_report.py table TSV PACKETS ROUNDS   the Markdown tables
    livecost_report.py profile DIR STREAM...      where the time goes (DIR/perf-STREAM*.txt)
    livecost_report.py phases DIR STREAM...       the same, split by time into the flood's arrival
                                                  and its verdicts (DIR/perf-STREAM-script.txt)

The TSV has one line per capture (see `measure` in livecost.sh): round, stream, tool, load
average, packets sent, seconds of sending, CPU nanoseconds while sending, CPU nanoseconds until
settled, context switches while sending, packets seen, packets dropped, and of the CPU until
settled the packet loop's and the store writer's. LightScope's status at the end of each
capture is in status-STREAM-ROUND.json beside it, its stop line in stopped-STREAM-ROUND.txt.
"""
import json
import os
import re
import sys

STREAMS = ["open", "probe", "closed"]
TOOLS = ["lightscope", "tcpdump"]


def status(text):
    """The daemon's snapshot, from `lightscope status --json` or the status file itself ({} when
    it could not be read)."""
    try:
        snapshot = json.loads(text)
    except ValueError:
        return {}
    return (snapshot.get("daemon") if "daemon" in snapshot else snapshot) or {}


def interface_counts(snapshot):
    interfaces = snapshot.get("interfaces", [])
    return sum(i["packets"] for i in interfaces), sum(i["drops"] for i in interfaces)


def aggregated(snapshot):
    """Probes folded into aggregate events, wherever the status reports them (0 if nowhere)."""
    found = 0
    if isinstance(snapshot, dict):
        for key, value in snapshot.items():
            if key == "aggregated" and isinstance(value, int):
                found += value
            else:
                found += aggregated(value)
    elif isinstance(snapshot, list):
        found += sum(aggregated(item) for item in snapshot)
    return found


def accounting(snapshot):
    judged = sum(snapshot.get("events", {}).get("by_verdict", {}).values())
    store = snapshot.get("store") or {}
    return {
        "pending": snapshot.get("detection", {}).get("pending_probes", 0),
        "judged": judged,
        "stored": store.get("events_written", 0),
        "aggregated": aggregated(snapshot),
        "lost": snapshot.get("lost_events", {}),
    }


def stop_line(text):
    """What the store took and every loss, final, from LightScope's "Stopped cleanly" line:
    the status file's store figures lag the writer's last transaction."""
    stored = re.search(r"(\d+) events stored", text)
    aggregated = re.search(r"events stored and (\d+) aggregated", text)
    reasons = re.search(r"events lost: \d+ \(([^)]*)\)", text)
    lost = {reason: int(count) for reason, count in re.findall(r"(\w+) (\d+)", reasons[1])} if reasons else {}
    return {"stored": int(stored[1]) if stored else 0, "aggregated": int(aggregated[1]) if aggregated else 0, "lost": lost}


def read_runs(path):
    runs = []
    for line in open(path):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 13:
            continue
        run = dict(zip(["round", "stream", "tool", "load"], fields[:4]))
        run.update(zip(["sent", "send_seconds", "cpu_send", "cpu_total", "switches", "seen", "dropped", "cpu_loop",
                        "cpu_writer"], map(float, fields[4:13])))
        seen = run["seen"] or float("nan")
        run["ns"] = run["cpu_total"] / seen
        run["ns_sending"] = run["cpu_send"] / seen
        run["ns_loop"] = run["cpu_loop"] / seen
        run["ns_writer"] = run["cpu_writer"] / seen
        run["pps"] = run["sent"] / run["send_seconds"]
        run["wakeups"] = run["switches"] / run["send_seconds"]
        status_file = os.path.join(os.path.dirname(path), f"status-{run['stream']}-{run['round']}.json")
        stop_file = os.path.join(os.path.dirname(path), f"stopped-{run['stream']}-{run['round']}.txt")
        if run["tool"] == "lightscope" and os.path.exists(status_file) and os.path.exists(stop_file):
            run["status"] = accounting(status(open(status_file).read()))
            run["status"].update(stop_line(open(stop_file).read()))
        runs.append(run)
    return runs


def number(value):
    return f"{value:,.0f}"


def table(path, packets, rounds):
    runs = read_runs(path)
    best = {}
    for run in runs:
        key = (run["stream"], run["tool"])
        if key not in best or run["ns"] < best[key]["ns"]:
            best[key] = run
    print(f"\n### Live cost per packet: {int(packets):,} SYNs per stream from one trafgen worker, "
          f"LightScope and tcpdump one at a time, best of {rounds} rounds\n")
    print("| stream | LightScope ns/packet (packet loop + store writer) | tcpdump ns/packet | ratio | "
          "while sending: LightScope / tcpdump, ratio | packets/s per core: LightScope / tcpdump | "
          "dropped: LightScope / tcpdump | wake-ups/s: LightScope / tcpdump | load: LightScope / tcpdump |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for stream in STREAMS:
        ours, theirs = best.get((stream, "lightscope")), best.get((stream, "tcpdump"))
        if not ours or not theirs:
            continue
        print(f"| {stream} | {ours['ns']:.0f} ({ours['ns_loop']:.0f} + {ours['ns_writer']:.0f}) | {theirs['ns']:.0f} | "
              f"{ours['ns'] / theirs['ns']:.1f}x | "
              f"{ours['ns_sending']:.0f} / {theirs['ns_sending']:.0f}, {ours['ns_sending'] / theirs['ns_sending']:.1f}x | "
              f"{number(1e9 / ours['ns'])} / {number(1e9 / theirs['ns'])} | "
              f"{number(ours['dropped'])} / {number(theirs['dropped'])} | "
              f"{number(ours['wakeups'])} / {number(theirs['wakeups'])} | {ours['load']} / {theirs['load']} |")
    print("\nEvery capture (ns/packet: CPU of all threads from just before the flood until settled, "
          "per packet seen; wake-ups: context switches per second of sending):\n")
    print("| round | stream | tool | load | sent | sent/s | seen | dropped | ns/packet | ns/packet while sending | "
          "packet loop + store writer | wake-ups/s |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        marker = " (best)" if best[(run["stream"], run["tool"])] is run else ""
        print(f"| {run['round']} | {run['stream']} | {run['tool']}{marker} | {run['load']} | {number(run['sent'])} | "
              f"{number(run['pps'])} | {number(run['seen'])} | {number(run['dropped'])} | {run['ns']:.0f} | "
              f"{run['ns_sending']:.0f} | {run['ns_loop']:.0f} + {run['ns_writer']:.0f} | {number(run['wakeups'])} |")
    print("\nEvery probe accounted for (LightScope, settled: no probe pending). Unaccounted = sent - dropped - "
          "stored - aggregated - lost (every reason but fleet); judged events are the stored, the aggregated "
          "and those the store lost (queue, disk, aggregation).\n")
    print("| round | stream | sent | dropped | judged (events) | aggregated | lost by reason | unaccounted | stored |")
    print("|---:|---|---:|---:|---:|---:|---|---:|---:|")
    for run in runs:
        figures = run.get("status")
        if run["tool"] != "lightscope" or run["stream"] == "open" or not figures:
            continue
        lost = figures["lost"]
        lost_total = sum(count for reason, count in lost.items() if reason != "fleet")
        unaccounted = run["sent"] - run["dropped"] - figures["stored"] - figures["aggregated"] - lost_total
        reasons = ", ".join(f"{reason} {number(count)}" for reason, count in sorted(lost.items()) if count) or "0"
        print(f"| {run['round']} | {run['stream']} | {number(run['sent'])} | {number(run['dropped'])} | "
              f"{number(figures['judged'])} | {number(figures['aggregated'])} | {reasons} | {number(unaccounted)} | "
              f"{number(figures['stored'])} |")


# Where a sample's time goes: by thread first (the store writer, a packet loop, the runner),
# then, on a packet loop, by the function it was in. First match wins.
DECODE = ("PacketDecoder", "Decode", "PacketCursor")
ENGINE = ("DetectionCore", "DetectionEngine", "FastHashTable", "ExpiringTable", "ScanTracker", "ScanDetector",
          "EntryIndex", "PortSet", "AddressCounts", "PacketDrivenTimers", "LocalAddresses", "ListeningPorts",
          "TableMemory", "prefetch", "Hasher", "hash")
EVENTS = ("EventPipeline", "EventQueue", "EventTally", "JournalSink", "UnwantedEvent", "EventCounters", "emit",
          "submit", "AddressAnonymiser", "Log.")
CAPTURE = ("CaptureLoop", "DetectionConsumer", "PcapHandle", "Heartbeat", "InterfaceCounters")
RUNTIME = ("swift_", "malloc", "free", "memcpy", "memmove", "memset", "memcmp", "pthread_", "Mutex", "Atomic",
           "RefCount", "_swift", "deinit", "outlined")


def category(comm, dso, sym):
    if comm == "ls-events":
        if "sqlite" in dso:
            return "store writer: SQLite library"
        if dso == "[kernel.kallsyms]":
            return "store writer: kernel (pwrite, pread, fdatasync of the store)"
        return "store writer: Swift and libc (event rows: binding, strings, casts)"
    if comm.startswith("ls-"):
        if dso == "[kernel.kallsyms]":
            return "packet loop: kernel (poll, ring pages, page faults)"
        if "libpcap" in dso:
            return "packet loop: libpcap (ring walk, hand-off to the callback)"
        for name, words in (("decode", DECODE), ("detection engine and its tables", ENGINE),
                            ("event hand-off (tally, queue, journal line)", EVENTS),
                            ("capture callback and loop", CAPTURE),
                            ("Swift runtime and libc (retain/release, allocation, locks, copies)", RUNTIME)):
            if any(word in sym for word in words):
                return f"packet loop: {name}"
        return "packet loop: other"
    return "runner and other threads (status file, watchdog, listening sockets)"


# The packet loop's entry points, with everything they call: (label, part of a demangled name).
LOOP_ENTRIES = [
    ("capture callback, per packet", "static CaptureLoop.onPacket"),
    ("of it decode", "PacketDecoder.decode("),
    ("of it detection (DetectionEngine.process)", "DetectionEngine.process("),
    ("timers on each wake-up (DetectionConsumer.tick: expiries, verdicts)", "DetectionConsumer.tick("),
    ("event hand-off (EventTally.submit: tally, queue)", "EventTally.submit("),
    ("poll", "] __poll"),
    ("page faults (first touch of the tables)", "] exc_page_fault"),
]


def loop_entries(path):
    """Inclusive shares from a `perf report --children --comm ls-lsc0 --sort sym -g none`."""
    shares = {}
    for line in open(path):
        for label, name in LOOP_ENTRIES:
            if name in line and label not in shares:
                shares[label] = float(line.split("%")[0])
    return ", ".join(f"{label} {shares.get(label, 0):.1f} %" for label, _ in LOOP_ENTRIES)


def profile_shares(path):
    """Shares of CPU time by category, thread and function from a `perf report --no-children -n
    --sort comm,dso,sym -g none`, from the sample counts (perf's rounded percentages of a
    thousand one-sample lines add up to well over 100)."""
    line_pattern = re.compile(r"^\s*[0-9.]+%\s+(\d+)\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(.*)$")
    rows = [(int(match[1]), match[2], match[3], match[4].strip())
            for match in map(line_pattern.match, open(path)) if match]
    samples = sum(row[0] for row in rows) or 1
    totals, threads, symbols = {}, {}, {}
    for count, comm, dso, sym in rows:
        percent = 100 * count / samples
        threads[comm] = threads.get(comm, 0) + percent
        name = category(comm, dso, sym)
        totals[name] = totals.get(name, 0) + percent
        symbols[(comm, sym)] = symbols.get((comm, sym), 0) + percent
    return samples, totals, threads, symbols


def profile(directory, streams):
    """One table of where the time goes under each stream, then each stream's details."""
    shares = {stream: profile_shares(os.path.join(directory, f"perf-{stream}.txt")) for stream in streams}
    names = sorted({name for _, totals, _, _ in shares.values() for name in totals},
                   key=lambda name: (name.split(":")[0], -max(shares[s][1].get(name, 0) for s in streams)))
    print("\n### Where the time goes: LightScope's CPU time by thread and function\n")
    print("`perf record -e cpu-clock -F 2000 -g` of all threads of one more capture per stream, from just before "
          "the flood until settled; self time, as a share of each stream's samples.\n")
    print("| where | " + " | ".join(streams) + " |")
    print("|---|" + "---:|" * len(streams))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{shares[s][1].get(name, 0):.1f} %" for s in streams) + " |")
    print("| samples (2,000 a second of CPU) | " + " | ".join(f"{shares[s][0]:,}" for s in streams) + " |")
    for stream in streams:
        samples, totals, threads, symbols = shares[stream]
        print(f"\n**{stream}**: by thread " + ", ".join(f"{comm} {percent:.1f} %" for comm, percent in
                                                     sorted(threads.items(), key=lambda item: -item[1])))
        print(f"\n- The packet loop with callees (share of all samples; frame pointers, so approximate where "
              f"a library without them is on the stack): {loop_entries(os.path.join(directory, f'perf-{stream}-loop.txt'))}")
        top = sorted(symbols.items(), key=lambda item: -item[1])[:10]
        print("- Largest functions: " + "; ".join(f"{sym[:70]} ({comm}) {percent:.1f} %"
                                               for (comm, sym), percent in top))


# What a sample's stack was doing, by the first rule whose test matches it: (label, test of the
# thread's name and the stack's demangled frames, innermost first).
PHASE_RULES = [
    ("page faults (first touch of the tables)", lambda comm, frames: any("exc_page_fault" in f for f in frames)),
    ("store writer thread", lambda comm, frames: comm == "ls-events"),
    ("the tables' growth (mremap, munmap, madvise)",
     lambda comm, frames: any(word in f for f in frames for word in ("mremap", "munmap", "madvise"))),
    ("fold and hand-over (pipeline, tally, aggregates)",
     lambda comm, frames: any(word in f for f in frames
                              for word in ("EventPipeline", "EventAggregates", "OpenFloodBlock", "EventTally", "handOver"))),
    ("first-failure tier", lambda comm, frames: any("FirstFailure" in f for f in frames)),
    ("scan counting, other", lambda comm, frames: any(word in f for f in frames
                                                      for word in ("recordFailure", "ScanDetector", "ScanTracker", "SlowScan"))),
    ("verdict and its event (unanswered, emit)",
     lambda comm, frames: any(word in f for f in frames for word in ("DetectionCore.unanswered", "DetectionConsumer.emit"))),
    ("timers' run (advance, expiry)",
     lambda comm, frames: any(word in f for f in frames for word in ("DetectionCore.advance", "timersAreDue"))),
    ("arrival and answers (process, inboundProbe, pending insert, tool, prefetch)",
     lambda comm, frames: any(word in f for f in frames
                              for word in ("DetectionCore.process", "DetectionCore.inboundProbe", "PendingProbes",
                                           "ToolFingerprint", "DetectionCore.prefetch", "isEstablishedTCP"))),
    ("capture and decode (libpcap, the loop)",
     lambda comm, frames: any(word in f for f in frames for word in ("pcap", "CaptureLoop", "PacketDecoder", "consume("))),
    ("runner and other threads", lambda comm, frames: not comm.startswith("ls-lsc")),
    ("other", lambda comm, frames: True),
]


def stack_samples(path):
    """(thread name, seconds, frames) of each sample of a `perf script -F comm,tid,time,ip,sym,dso`
    whose names went through swift-demangle."""
    header = re.compile(r"^(\S+)\s+\d+\s+([0-9.]+):")
    samples = []
    for line in open(path, errors="replace"):
        if not line.strip():
            continue
        match = header.match(line)
        if match:
            samples.append((match[1], float(match[2]), []))
        elif samples:
            parts = line.strip().split(None, 1)
            samples[-1][2].append(parts[-1])
    return samples


def phases(directory, streams):
    """Each stream's samples split at the packet loop's longest silence, if it lasted a second and
    each side holds a twentieth of the samples or more: the flood's arrival before it, and after
    it the verdicts of the probes that waited out `syn_answer_timeout` (a stream whose probes are
    answered has no such part). Each part by what its stacks were doing."""
    print("\n### Where the time goes, by phase\n")
    print("The profiled capture's samples (2,000 a second of CPU), split where the packet loop was "
          "silent longest; each sample counted under the first of these rules that its stack matches.\n")
    for stream in streams:
        samples = stack_samples(os.path.join(directory, f"perf-{stream}-script.txt"))
        loop_times = sorted(seconds for comm, seconds, _ in samples if comm.startswith("ls-lsc"))
        gaps = [(later - earlier, (earlier + later) / 2) for earlier, later in zip(loop_times, loop_times[1:])]
        longest, split = max(gaps, default=(0, None))
        parts = [("whole capture", samples)]
        if split is not None and longest >= 1:
            before = [sample for sample in samples if sample[1] < split]
            after = [sample for sample in samples if sample[1] >= split]
            if min(len(before), len(after)) >= len(samples) / 20:
                parts = [("arrival", before), ("verdicts", after)]
        for name, part in parts:
            counts = {}
            for comm, _, frames in part:
                label = next(label for label, test in PHASE_RULES if test(comm, frames))
                counts[label] = counts.get(label, 0) + 1
            total = len(part) or 1
            print(f"**{stream}, {name}** ({len(part):,} samples, {len(part) / 2:,.0f} ms of CPU): "
                  + "; ".join(f"{label} {100 * count / total:.1f} %"
                              for label, count in sorted(counts.items(), key=lambda item: -item[1])) + "\n")


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "progress":
        snapshot = status(sys.stdin.read())
        if not snapshot:
            print("unknown")
            return
        figures = accounting(snapshot)
        print(figures["pending"], figures["judged"], figures["stored"], sum(figures["lost"].values()))
    elif command == "counts":
        print(*map(int, interface_counts(status(sys.stdin.read()))))
    elif command == "table" and len(sys.argv) == 5:
        table(*sys.argv[2:5])
    elif command == "profile" and len(sys.argv) > 3:
        profile(sys.argv[2], sys.argv[3:])
    elif command == "phases" and len(sys.argv) > 3:
        phases(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
