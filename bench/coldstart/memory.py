#!/usr/bin/env python3
"""Latency and cost per million requests of a function at several Lambda memory sizes, from
measured CPU times.

Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB, so a
128 MB function gets 7.2 % of one. A request that needs C ms of CPU (measured on this machine
with `coldstart.py`, or by criterion for the analyzer) and waits W ms on the network takes about
C / share + W ms, and is billed that duration (rounded up to 1 ms) times the memory, plus the
request charge. The work here is single-threaded per request, so more than one vCPU (above
1,769 MB) does not help. Assumptions, stated in docs/PERFORMANCE.md: the vCPU of Lambda runs this
code as fast as the 2-core dev machine's (x86-64 Xeon); the init phase gets the same share as the
invocation (Lambda is known to give init more, so init figures are an upper bound).

    python3 bench/coldstart/memory.py --case "analyze, typical=7.0,24" --case "..."

Each --case is `name=cpu_ms,wait_ms`. Prices: us-east-1, x86_64 (arm64 is 20 % less per GB-s).
Standard library only.
"""

from __future__ import annotations

import argparse
import math

FULL_VCPU_MB = 1769
PRICE_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_MILLION_REQUESTS = 0.20


def duration_ms(cpu_ms: float, wait_ms: float, memory_mb: int) -> float:
    share = min(memory_mb / FULL_VCPU_MB, 1.0)
    return cpu_ms / share + wait_ms


def cost_per_million(cpu_ms: float, wait_ms: float, memory_mb: int, arch: str) -> float:
    billed_ms = math.ceil(duration_ms(cpu_ms, wait_ms, memory_mb))
    gb_s = billed_ms / 1000 * memory_mb / 1024
    return 1e6 * gb_s * PRICE_GB_S[arch] + PRICE_PER_MILLION_REQUESTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", required=True, metavar="NAME=CPU_MS,WAIT_MS")
    parser.add_argument("--sizes", default="128,256,512,1024")
    parser.add_argument("--arch", default="x86_64", choices=sorted(PRICE_GB_S))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    head = " | ".join(f"{m} MB: ms / $ per M" for m in sizes)
    print(f"| case | CPU ms | wait ms | {head} |")
    print("|---|---:|---:|" + "---:|" * len(sizes))
    for case in args.case:
        name, numbers = case.rsplit("=", 1)
        cpu, wait = (float(x) for x in numbers.split(","))
        cells = " | ".join(
            f"{duration_ms(cpu, wait, m):.0f} / {cost_per_million(cpu, wait, m, args.arch):.2f}"
            for m in sizes)
        print(f"| {name} | {cpu:g} | {wait:g} | {cells} |")


if __name__ == "__main__":
    main()
