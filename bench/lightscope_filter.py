#!/usr/bin/env python3
"""LightScope's own BPF expression (CaptureFilter.withVLAN) for the benchmarks' capture
namespace, whose address is 192.0.2.1, so that tcpdump keeps the same packets.

    bench/lightscope_filter.py [Sources/LightScopeCapture/CaptureFilter.swift]
"""
import os
import re
import sys

source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "LightScopeCapture", "CaptureFilter.swift")
text = open(source).read()


def clauses(name):
    block = text[text.index(f"{name} = ["):]
    return " or ".join(re.findall(r'"(.*)",', block[:block.index("]\n")]))


# As CaptureFilter.directed(hostAddresses:) builds it for the capture namespace's 192.0.2.1.
answers = clauses('answerClauses')
untagged = (f"(inbound and ({clauses('inboundClauses')})) or (outbound and ({answers} or {clauses('hostStartClauses')}))"
            f" or (inbound and ({answers}) and not (src host 192.0.2.1))")
print(f"({untagged}) or (vlan and (({untagged}) or (vlan and ({untagged}))))")
