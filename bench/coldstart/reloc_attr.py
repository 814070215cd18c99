#!/usr/bin/env python3
"""What a Rust binary's start-up relocations and code consist of, by crate (issue 20).

Reads an unstripped x86-64 ELF (sections, symbols, `.rela.dyn`): classifies every
R_X86_64_RELATIVE pointer (vtable function pointer, panic `Location` whose file path names its
crate, `&str`, pointer into other data), charges each `.data.rel.ro` object to a crate (its
symbol; the path of a `Location`; the crate of the vtable's functions; with `--objdump`, the
function whose code references it) and sums `.text` symbol sizes by crate. Crate of a symbol:
the first path segment of its demangled name (`<X as Y>::f`: X's crate unless X is a std or
primitive type). Standard library, binutils (`c++filt`, `objdump`).

    cargo rustc --release -p health --bin health -- -C strip=none
    python3 bench/coldstart/reloc_attr.py target/release/health --objdump
"""
import bisect
import collections
import re
import struct
import subprocess
import sys

path = sys.argv[1]
use_objdump = "--objdump" in sys.argv
data = open(path, "rb").read()

# ELF64 header
e_shoff, = struct.unpack_from("<Q", data, 0x28)
e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)
secs = []
for i in range(e_shnum):
    off = e_shoff + i * e_shentsize
    name, typ, flags, addr, offset, size, link, info, align, entsize = struct.unpack_from("<IIQQQQIIQQ", data, off)
    secs.append(dict(name_off=name, type=typ, flags=flags, addr=addr, offset=offset, size=size, link=link, entsize=entsize))
shstr = secs[e_shstrndx]
for s in secs:
    o = shstr["offset"] + s["name_off"]
    s["name"] = data[o:data.index(b"\0", o)].decode()
byname = {s["name"]: s for s in secs}

def sec_of(addr):
    for s in secs:
        if s["addr"] and s["addr"] <= addr < s["addr"] + max(s["size"], 1) and s["flags"] & 2:
            return s["name"]
    return "?"

def read_va(addr, n):
    for s in secs:
        if s["addr"] <= addr < s["addr"] + s["size"] and s["type"] != 8:
            o = s["offset"] + addr - s["addr"]
            return data[o:o + n]
    return b""

# symbols
syms = []
st = byname.get(".symtab")
if st:
    strtab = secs[st["link"]]
    for i in range(st["size"] // 24):
        o = st["offset"] + i * 24
        name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", data, o)
        if value == 0:
            continue
        typ = info & 0xF
        if typ not in (1, 2):  # OBJECT, FUNC
            continue
        so = strtab["offset"] + name
        nm = data[so:data.index(b"\0", so)].decode(errors="replace")
        syms.append((value, size, nm, typ))
syms.sort()
# demangle
names = sorted({s[2] for s in syms})
dem = {}
if names:
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.split("\n")
    dem = dict(zip(names, out))
starts = [s[0] for s in syms]

def sym_at(addr):
    i = bisect.bisect_right(starts, addr) - 1
    while i >= 0:
        v, sz, nm, t = syms[i]
        if v <= addr < v + max(sz, 1):
            return syms[i]
        if addr - v > 1 << 20:
            break
        i -= 1
        if i >= 0 and starts[i] != v:
            break
    return None

STD = {"core", "std", "alloc", "compiler_builtins", "hashbrown", "std_detect", "rustc_demangle", "addr2line", "gimli", "miniz_oxide", "object", "panic_unwind", "adler2", "memchr_std"}
PRIM = re.compile(r"^(\[|&|\*|\(|u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64|bool|char|str|dyn |fn|unsafe|extern)")

def first_crate(path):
    path = path.strip()
    while True:
        for p in ("&mut ", "&", "*const ", "*mut ", "dyn ", "unsafe ", "<", "("):
            if path.startswith(p):
                path = path[len(p):]
                break
        else:
            break
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(::|$|<)", path)
    return m.group(1) if m else "?"

def crate_of(sym):
    d = dem.get(sym, sym)
    d = re.sub(r"::h[0-9a-f]{16}$", "", d)
    if d.startswith("<"):
        # <X as Y>::f  or <X>::f
        depth = 0
        inner = ""
        for ch in d[1:]:
            if ch == "<":
                depth += 1
            elif ch == ">":
                if depth == 0:
                    break
                depth -= 1
            inner += ch
        # split at top-level " as "
        depth = 0
        split = None
        for i, ch in enumerate(inner):
            if ch in "<([":
                depth += 1
            elif ch in ">)]":
                depth -= 1
            elif depth == 0 and inner.startswith(" as ", i):
                split = i
                break
        if split is not None:
            x, y = inner[:split], inner[split + 4:]
            cx, cy = first_crate(x), first_crate(y)
            if cx in STD or PRIM.match(x.lstrip("<&*( ")) or cx == "?":
                return cy
            return cx
        return first_crate(inner)
    c = first_crate(d)
    if not re.match(r"^[a-z_][a-z0-9_]*$", c):
        return "(C/other)"
    return c

def crate_of_path(s):
    # panic location file paths
    m = re.search(r"registry/src/[^/]+/([A-Za-z0-9_\-]+?)-\d+\.\d+\.\d+[^/]*/", s)
    if m:
        return m.group(1).replace("-", "_")
    m = re.search(r"git/checkouts/([^/]+?)-[0-9a-f]+/", s)
    if m:
        return m.group(1)
    if s.startswith("/rustc/") or "library/" in s[:60]:
        m = re.search(r"library/([a-z_]+)/", s)
        return m.group(1) if m else "std"
    m = re.match(r"(shared|functions)/([^/]+)/", s)
    if m:
        return m.group(2).replace("-", "_")
    return "?path:" + s[:40]

# text by crate
text = byname[".text"]
tb = collections.Counter()
covered = 0
for v, sz, nm, t in syms:
    if t == 2 and text["addr"] <= v < text["addr"] + text["size"]:
        tb[crate_of(nm)] += sz
        covered += sz

# relocations
rela = byname[".rela.dyn"]
relocs = []
for i in range(rela["size"] // 24):
    off, info, addend = struct.unpack_from("<QQq", data, rela["offset"] + i * 24)
    relocs.append((off, info & 0xFFFFFFFF, addend))
types = collections.Counter(r[1] for r in relocs)

# object starts in .data.rel.ro: symbols, addends pointing into it, code references (optional)
drr = byname[".data.rel.ro"]
lo, hi = drr["addr"], drr["addr"] + drr["size"]
start_owner = {}
for v, sz, nm, t in syms:
    if lo <= v < hi:
        start_owner[v] = ("sym", crate_of(nm), dem.get(nm, nm))
code_refs = collections.defaultdict(list)
if use_objdump:
    p = subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", "-j", ".text", path], stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
    cur = None
    pat = re.compile(r"# ([0-9a-f]+)")
    fpat = re.compile(r"^[0-9a-f]+ <(.*)>:$")
    for line in p.stdout:
        if line.endswith(">:\n"):
            m = fpat.match(line.rstrip())
            if m:
                cur = m.group(1)
            continue
        if "(%rip)" in line:
            m = pat.search(line)
            if m:
                a = int(m.group(1), 16)
                if lo <= a < hi:
                    code_refs[a].append(cur)
    p.wait()
    for a, fns in code_refs.items():
        if a not in start_owner:
            start_owner[a] = ("code", crate_of(fns[0]), dem.get(fns[0], fns[0]))
for off, typ, add in relocs:
    if typ == 8 and lo <= add < hi and add not in start_owner:
        start_owner[add] = ("data", None, None)
ostarts = sorted(start_owner)

def classify(off, add):
    """what kind of pointer sits at off"""
    tsec = sec_of(add)
    if tsec == ".rodata":
        ln = struct.unpack("<Q", read_va(off + 8, 8))[0] if read_va(off + 8, 8) else 0
        if 0 < ln < 4096:
            s = read_va(add, ln)
            try:
                st = s.decode()
            except UnicodeDecodeError:
                st = None
            if st is not None and st.endswith(".rs"):
                return "panic Location (file path)", crate_of_path(st)
            if st is not None:
                return "&str (fmt pieces, static str)", None
        return "pointer to .rodata (other)", None
    if tsec == ".text":
        s = sym_at(add)
        return "fn pointer (vtable/table)", crate_of(s[2]) if s else "?"
    if tsec == ".data.rel.ro":
        return "pointer to .data.rel.ro", None
    return "pointer to " + tsec, None

loc_sec = collections.Counter()
kinds = collections.Counter()
kind_crate = collections.Counter()
obj_crate = collections.Counter()
obj_kind_crate = collections.defaultdict(collections.Counter)
for off, typ, add in relocs:
    if typ != 8:
        continue
    ls = sec_of(off)
    loc_sec[ls] += 1
    k, c = classify(off, add)
    kinds[(ls, k)] += 1
    if c:
        kind_crate[(k, c)] += 1
    # containing object
    if lo <= off < hi:
        i = bisect.bisect_right(ostarts, off) - 1
        owner = start_owner[ostarts[i]] if i >= 0 else ("none", None, None)
        oc = owner[1]
        if k == "panic Location (file path)":
            oc = c
        elif oc is None and k == "fn pointer (vtable/table)":
            oc = c
        oc = oc or "(unattributed)"
        obj_crate[oc] += 1
        obj_kind_crate[oc][k] += 1

print(f"== {path}")
print("sections:", {n: byname[n]["size"] for n in (".text", ".rodata", ".data.rel.ro", ".rela.dyn", ".eh_frame", ".gcc_except_table", ".data", ".bss") if n in byname})
print("reloc types:", dict(types))
print("RELATIVE by location section:", dict(loc_sec.most_common()))
print("\nRELATIVE by (location section, kind):")
for (ls, k), n in kinds.most_common(20):
    print(f"  {n:6d}  {ls:14s} {k}")
print("\n.data.rel.ro relocations by owning crate (top 35):")
tot = sum(obj_crate.values())
for c, n in obj_crate.most_common(35):
    ks = ", ".join(f"{kk.split(' ')[0]}{' '+kk.split(' ')[1] if kk.startswith('fn') or kk.startswith('panic') else ''}:{vv}" for kk, vv in obj_kind_crate[c].most_common(3))
    print(f"  {n:6d} {100*n/tot:5.1f}%  {c:28s} {ks}")
print("\npanic Locations by crate of file (top 25):")
pl = [(n, c) for (k, c), n in kind_crate.items() if k.startswith("panic")]
print("  total", sum(n for n, c in pl))
for n, c in sorted(pl, reverse=True)[:25]:
    print(f"  {n:6d}  {c}")
print("\nfn pointers by crate of target (top 25):")
fp = [(n, c) for (k, c), n in kind_crate.items() if k.startswith("fn")]
print("  total", sum(n for n, c in fp))
for n, c in sorted(fp, reverse=True)[:25]:
    print(f"  {n:6d}  {c}")
print(f"\n.text by crate (symbol sizes; {covered} of {text['size']} bytes covered), top 35:")
for c, n in tb.most_common(35):
    print(f"  {n/1024:8.1f} KiB {100*n/text['size']:5.1f}%  {c}")
