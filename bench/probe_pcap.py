#!/usr/bin/env python3
"""Writes the live-cost benchmark's probe stream as a capture file, for callgrind of replay.

    python3 bench/probe_pcap.py SYNS FILE

SYNS unanswered SYNs from random 10.0.0.0/8 sources and ports to random ports 1024-65535 of
192.0.2.1, 2 us apart, as bench/livecost.sh's trafgen sends them (DF clear, no options).
Then one UDP datagram between two remote hosts every 100 ms for 11 s: detection has no use
for them but their times, which run its timers, so every probe times out in the timer runs
(syn_answer_timeout, 10 s by default), as live, not in the end's flush.
Ethernet, classic pcap, checksums zero; the same bytes for the same SYNS.
"""
import random
import struct
import sys

ETHERNET = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00'


def tcp(source, destination, source_port, destination_port, sequence, acknowledgement, flags, identification):
    """A TCP segment without options in IPv4 (TTL 50, DF clear); a SYN offers a window of 64240."""
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, identification, 0, 50, 6, 0,
                     struct.pack('!I', source), struct.pack('!I', destination))
    segment = struct.pack('!HHIIBBHHH', source_port, destination_port, sequence, acknowledgement, 5 << 4, flags,
                          64240 if flags == 0x02 else 0, 0, 0)
    return ETHERNET + ip + segment


def syn(source, destination, source_port, destination_port, sequence, identification):
    return tcp(source, destination, source_port, destination_port, sequence, 0, 0x02, identification)


def datagram(source, destination):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 0, 0x4000, 64, 17, 0,
                     struct.pack('!I', source), struct.pack('!I', destination))
    return ETHERNET + ip + struct.pack('!HHHH', 5353, 5353, 8, 0)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: probe_pcap.py SYNS FILE')
    syns, path = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(5)
    host = 0xC0000201  # 192.0.2.1
    micros = 1_700_000_000_000_000

    def write(out, frame):
        out.write(struct.pack('<IIII', micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)

    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for _ in range(syns):
            micros += 2
            write(out, syn(0x0A000000 | rng.getrandbits(24), host, rng.randint(1024, 65535), rng.randint(1024, 65535),
                           rng.getrandbits(32), rng.getrandbits(16)))
        tick = datagram(0xC6336401, 0xC6336402)  # 198.51.100.1 -> .2
        for _ in range(110):
            micros += 100_000
            write(out, tick)


if __name__ == '__main__':
    main()
