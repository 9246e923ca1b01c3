#!/usr/bin/env python3
"""Writes the live-cost benchmark's open stream as a capture file, for callgrind of replay.

    python3 bench/open_pcap.py PAIRS FILE

PAIRS SYNs from random 10.0.0.0/8 sources and ports to 192.0.2.1:80, as bench/livecost.sh's
trafgen sends them (DF clear, no options), each followed 2 us later by the host's SYN-ACK
(DF set). Ethernet, classic pcap, checksums zero; the same bytes for the same PAIRS.
"""
import random
import struct
import sys


def segment(source, destination, source_port, destination_port, flags, sequence, acknowledgement, ttl, dont_fragment,
            identification):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, identification, 0x4000 if dont_fragment else 0, ttl, 6, 0,
                     struct.pack('!I', source), struct.pack('!I', destination))
    tcp = struct.pack('!HHIIBBHHH', source_port, destination_port, sequence, acknowledgement, 5 << 4, flags, 64240, 0, 0)
    return b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' + ip + tcp


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: open_pcap.py PAIRS FILE')
    pairs, path = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(5)
    host = 0xC0000201  # 192.0.2.1
    micros = 1_700_000_000_000_000
    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for _ in range(pairs):
            remote = 0x0A000000 | rng.getrandbits(24)
            remote_port = rng.randint(1024, 65535)
            sequence = rng.getrandbits(32)
            syn = segment(remote, host, remote_port, 80, 0x02, sequence, 0, 50, False, rng.getrandbits(16))
            syn_ack = segment(host, remote, 80, remote_port, 0x12, rng.getrandbits(32), (sequence + 1) & 0xFFFFFFFF, 64, True, 0)
            for frame in (syn, syn_ack):
                micros += 2
                out.write(struct.pack('<IIII', micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)


main()
