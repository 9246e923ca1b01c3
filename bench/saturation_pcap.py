#!/usr/bin/env python3
"""Writes a capture of a sustained flood that keeps the pending table full, with a scan of
closed ports inside it, for replay with a small table (bench/HISTORY.md, session 22).

    python3 bench/saturation_pcap.py SECONDS FILE
    lightscope replay --local 192.0.2.1/32 --config CONF FILE

For SECONDS: unanswered SYNs from random 10.0.0.0/8 sources and ports to random ports
1024-65535 of 192.0.2.1, 2 us apart (500,000 a second, as bench/probe_pcap.py), and one
packet in 1,000 a SYN from one scanner, 198.18.0.1, to the next port from 1, which the host
answers 20 us later with RST+ACK (a closed port). Then one UDP datagram between two remote
hosts every 100 ms for 11 s, to run the timers. With CONF's `memory_budget_mib = 8` and
`syn_answer_timeout = 1s` the IPv4 table holds about 123,000 probes: a flood of 500,000 a
second keeps it full, each probe would live a quarter of its timeout.
Ethernet, classic pcap, checksums zero; the same bytes for the same SECONDS.
"""
import random
import struct
import sys

from probe_pcap import datagram, tcp

HOST = 0xC0000201  # 192.0.2.1
SCANNER = 0xC6120001  # 198.18.0.1


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: saturation_pcap.py SECONDS FILE')
    seconds, path = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(22)
    micros = 1_700_000_000_000_000

    def write(out, frame, at):
        out.write(struct.pack('<IIII', at // 1_000_000, at % 1_000_000, len(frame), len(frame)) + frame)

    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        answer = None
        for index in range(seconds * 500_000):
            micros += 2
            if index % 1000 == 999:
                port = index // 1000 + 1
                write(out, tcp(SCANNER, HOST, 40000, port, 1000, 0, 0x02, 1), micros)
                answer = (micros + 20, tcp(HOST, SCANNER, port, 40000, 0, 1001, 0x14, 0))
                continue
            if answer and answer[0] <= micros:
                write(out, answer[1], answer[0])
                answer = None
            write(out, tcp(0x0A000000 | rng.getrandbits(24), HOST, rng.randint(1024, 65535), rng.randint(1024, 65535),
                           rng.getrandbits(32), 0, 0x02, rng.getrandbits(16)), micros)
        if answer:
            write(out, answer[1], answer[0])
        tick = datagram(0xC6336401, 0xC6336402)  # 198.51.100.1 -> .2
        for _ in range(110):
            micros += 100_000
            write(out, tick, micros)


main()
