#!/usr/bin/env python3
"""Writes the live-cost benchmark's probe stream as a capture file, for callgrind of replay.

    python3 bench/probe_pcap.py PROBES FILE

PROBES SYNs from random 10.0.0.0/8 sources and ports to random ports (1024-65535) of
192.0.2.1, 2 us apart, none answered: every probe waits out `syn_answer_timeout` and is
judged unanswered, and nearly every one is a new scan source. Ethernet, classic pcap,
checksums zero; the same bytes for the same PROBES.
"""
import random
import struct
import sys


def syn(source, destination, source_port, destination_port, sequence, identification):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, identification, 0, 50, 6, 0,
                     struct.pack('!I', source), struct.pack('!I', destination))
    tcp = struct.pack('!HHIIBBHHH', source_port, destination_port, sequence, 0, 5 << 4, 0x02, 64240, 0, 0)
    return b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' + ip + tcp


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: probe_pcap.py PROBES FILE')
    probes, path = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(5)
    host = 0xC0000201  # 192.0.2.1
    micros = 1_700_000_000_000_000
    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for _ in range(probes):
            frame = syn(0x0A000000 | rng.getrandbits(24), host, rng.randint(1024, 65535), rng.randint(1024, 65535),
                        rng.getrandbits(32), rng.getrandbits(16))
            micros += 2
            out.write(struct.pack('<IIII', micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)


main()
