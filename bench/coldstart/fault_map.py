#!/usr/bin/env python3
"""Where a process's page faults land: each fault of a `perf record -e page-faults -c 1 -d` of one
start, after the `exec` of BINARY, counted by the region it touched (the binary's section, heap,
stack, a library) and by who touched it (the loader, the binary, libc, the kernel). Issue 20.

    perf record -e page-faults -c 1 -d -o pf.data -- env -i $PWD/target/release/health
    python3 bench/coldstart/fault_map.py pf.data $PWD/target/release/health
"""
import collections, re, subprocess, sys, struct

pdata, binpath = sys.argv[1], sys.argv[2]
data = open(binpath, "rb").read()
e_shoff, = struct.unpack_from("<Q", data, 0x28)
e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)
secs = []
for i in range(e_shnum):
    name, typ, flags, addr, offset, size, link, info, align, entsize = struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize)
    secs.append([name, addr, size, flags])
so = struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + e_shstrndx * e_shentsize)[4]
for s in secs:
    o = so + s[0]
    s[0] = data[o:data.index(b"\0", o)].decode()

out = subprocess.run(["perf", "script", "-i", pdata, "--show-mmap-events", "-F", "comm,tid,ip,dso,addr"], capture_output=True, text=True).stdout
maps = []  # (start, end, pgoff, name)
base = None
cnt = collections.Counter()
total = 0
started = False
binname = binpath.split("/")[-1]
for line in out.splitlines():
    if "PERF_RECORD_MMAP" in line:
        m = re.search(r"\[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ (0x[0-9a-f]+|0) .*?\]: (\S+) (.*)$", line)
        if m:
            st, ln, pg, prot, name = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), m.group(4), m.group(5).strip()
            maps.append((st, st + ln, pg, name, prot))
            if name.endswith("/" + binname) and pg == 0:
                base = st
                started = True
        continue
    if not started:
        continue
    m = re.match(r"\s*\S+\s+\d+\s+([0-9a-f]+)\s+\((.*?)\)\s+([0-9a-f]+)\s+\((.*?)\)", line)
    if not m:
        continue
    addr = int(m.group(1), 16); ip = int(m.group(3), 16)
    ipdso = m.group(4).split("/")[-1]
    region = "?"
    for st, en, pg, name, prot in reversed(maps):
        if st <= addr < en:
            region = name.split("/")[-1] or name
            if name.endswith("/" + binname):
                va = addr - base
                region = "bin:?"
                for s in secs:
                    if s[1] and s[1] <= va < s[1] + s[2] and s[3] & 2:
                        region = "bin:" + s[0]
                        break
            break
    if addr >= 0xffff000000000000:
        region = "kernel addr"
    who = "ld.so" if "ld-linux" in ipdso else ("bin" if ipdso == binname else ("kernel" if "kernel" in ipdso else ipdso))
    cnt[(region, who)] += 1
    total += 1
print(binpath, "faults after exec:", total)
for (r, w), n in cnt.most_common(30):
    print(f"  {n:5d}  {r:28s} by {w}")
