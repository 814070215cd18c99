#!/usr/bin/env python3
"""Own, stop and account for every process a local stack (`make dev`, `make test`) started.

scripts/lib.sh uses it; see "The stack" there and "Stopping" in docs/LOCAL_STACK.md. Linux only
(it reads /proc), standard library only, so it runs before the venv exists.

A stack is every process carrying ``LOCAL_STACK_ID=<id>`` in its environment (lib.sh exports it, so
everything the script starts inherits it) plus every process in a session led by one of them (the
script starts each long-running child in a session of its own with setsid; cargo lambda watch puts
each function in a process group of its own inside its session).

    stack.py supervise --id ID --parent PID [--grace S]
        Run in the background by lib.sh (stack_init), a child of the script. Takes a session of its
        own at once, so no signal sent to the script's process group (Ctrl-C, a SIGTERM to the group,
        a hangup) reaches it. Stops the stack when the script asks (SIGUSR1; SIGUSR2 skips the grace
        period) or when the script is gone, however it ended, SIGKILL included (PR_SET_PDEATHSIG, and
        the parent pid checked twice a second). Then exits.

    stack.py stop --id ID [--grace S]
        The same stop, in the foreground.

    stack.py ps --id ID
        List the stack's live processes (pid, session, command); exit 1 when there is one.

    stack.py claim --fd FD --file F --port N --owner PID [--wait S]
        Take the flock of the open file FD (lib.sh: stack_claim_port). Every process of the stack
        inherits the descriptor, so the lock is free only once the whole previous stack is gone.
        When another stack holds it: exit 2 at once if that stack's script is running (F says
        "<pid> running"), else wait up to S seconds for it to finish stopping, then exit 3 naming
        the processes that still hold it.

Stopping: SIGTERM to every process of the stack, SIGKILL to whatever is left after the grace period
(default 5 s), repeated over fresh scans of /proc until nothing of the stack is left (a process it
spawns meanwhile is caught by the next scan), at most 10 s past the grace period.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = {signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def say(msg: str) -> None:
    """One timestamped line on stderr (the supervisor's log file); never fails."""
    try:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} [{os.getpid()}] {msg}\n")
        sys.stderr.flush()
    except OSError:
        pass


def stat(pid: int):
    """(state, session) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0], int(fields[3])


def environ_has(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160]
    except OSError:
        return "?"


def members(stack_id: str, sessions: set, exclude: set) -> dict:
    """Live processes of the stack, {pid: session}; adds the sessions its processes lead to `sessions`."""
    entry = f"LOCAL_STACK_ID={stack_id}".encode()
    while True:
        known = len(sessions)
        found = {}
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in exclude:
                continue
            pid = int(name)
            st = stat(pid)
            if st is None or st[0] in (b"Z", b"X"):  # gone, or a zombie: holds nothing any more
                continue
            sid = st[1]
            if sid in sessions:
                found[pid] = sid
            elif environ_has(pid, entry):
                found[pid] = sid
                if sid == pid:
                    sessions.add(sid)
        if len(sessions) == known:  # else a session found late: scan again for its earlier members
            return found


def stop(stack_id: str, grace: float, exclude: set, hurry=None) -> bool:
    """Stop every process of the stack; True when none is left. `hurry()` -> True skips the grace."""
    start = time.monotonic()
    deadline = start + grace
    sessions: set = set()
    termed: set = set()
    seen: dict = {}
    killed: set = set()
    while True:
        procs = members(stack_id, sessions, exclude)
        now = time.monotonic()
        if not procs:
            say(f"stopped {len(seen)} process(es) in {now - start:.2f} s"
                + (f", {len(killed)} with SIGKILL" if killed else ""))
            for pid, cmd in seen.items():
                say(f"    {pid}{' (SIGKILL)' if pid in killed else ''} {cmd}")
            return True
        for pid in procs:
            if pid not in seen:
                seen[pid] = cmdline(pid)
            sig = signal.SIGKILL if now >= deadline else signal.SIGTERM
            if sig == signal.SIGTERM and pid in termed:
                continue
            try:
                os.kill(pid, sig)
            except OSError:
                continue
            (killed if sig == signal.SIGKILL else termed).add(pid)
        if now > deadline + 10:
            for pid in procs:
                say(f"could not stop {pid}: {seen.get(pid, '?')}")
            return False
        if hurry is not None and hurry(0.05):
            deadline = min(deadline, time.monotonic())
        elif hurry is None:
            time.sleep(0.05)


def set_pdeathsig(sig: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the parent pid is polled anyway


def cmd_supervise(args) -> int:
    # Block the signals first, then make them default (they may arrive ignored from lib.sh): blocked,
    # they wait for sigtimedwait instead of killing or being lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    set_pdeathsig(signal.SIGUSR1)
    exclude = {os.getpid(), args.parent}
    say(f"supervising stack {args.id} of pid {args.parent}")
    reason = None
    hurried = False
    while reason is None:
        if os.getppid() != args.parent:
            reason = "the script is gone"
            break
        info = signal.sigtimedwait(STOP_SIGNALS, 0.5)
        if info is not None and os.getppid() != args.parent:
            reason = "the script is gone"
        elif info is not None:
            hurried = info.si_signo == signal.SIGUSR2
            reason = "asked by the script" if info.si_signo in (signal.SIGUSR1, signal.SIGUSR2) else (
                f"signal {signal.Signals(info.si_signo).name}")
    say(f"stopping stack {args.id}: {reason}")

    def hurry(timeout: float) -> bool:
        info = signal.sigtimedwait(STOP_SIGNALS, timeout)
        return info is not None and info.si_signo != signal.SIGUSR1

    ok = stop(args.id, 0.0 if hurried else args.grace, exclude, hurry)
    return 0 if ok else 1


def cmd_stop(args) -> int:
    return 0 if stop(args.id, args.grace, {os.getpid(), os.getppid()}) else 1


def cmd_ps(args) -> int:
    procs = members(args.id, set(), {os.getpid()})
    for pid, sid in sorted(procs.items()):
        print(f"{pid:>7} {sid:>7} {cmdline(pid)}")
    return 1 if procs else 0


def holders(path: str) -> list:
    real = os.path.realpath(path)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{name}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{name}/fd/{fd}") == real:
                    found.append(f"{name} {cmdline(int(name))}")
                    break
            except OSError:
                continue
    return found


# How long a stack must be seen running (not stopping) before a claim is refused: a stack that was
# just sent SIGTERM marks itself stopping only once bash runs its trap, which waits for the
# foreground command of the moment (a readiness probe, a sleep); on a loaded machine that took
# longer than a second `make dev` needs to get here.
RUNNING_GRACE = 3.0


def cmd_claim(args) -> int:
    deadline = time.monotonic() + args.wait
    waiting = False
    running_since = None
    while True:
        try:
            fcntl.flock(args.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            pass
        try:
            with open(args.file) as f:
                owner, state = (f.read().split() + ["?", "?"])[:2]
        except OSError:
            owner, state = "?", "?"
        st = stat(int(owner)) if owner.isdigit() else None
        alive = st is not None and st[0] not in (b"Z", b"X")
        if state == "running" and alive:
            running_since = running_since or time.monotonic()
            if time.monotonic() - running_since >= RUNNING_GRACE:
                print(f"error: port {args.port} belongs to a local stack that is running (script pid {owner}): "
                      f"stop it first, or choose other ports (PORT=..., MOTO_PORT=...)", file=sys.stderr)
                return 2
            time.sleep(0.1)
            continue
        running_since = None
        if not waiting:
            print(f"==> waiting for the previous local stack on port {args.port} (script pid {owner}) "
                  f"to finish stopping (at most {args.wait:g} s)", file=sys.stderr)
            waiting = True
        if time.monotonic() >= deadline:
            left = holders(args.file)
            print(f"error: the previous local stack on port {args.port} is still not gone after "
                  f"{args.wait:g} s; processes still holding it:", file=sys.stderr)
            for line in left or ["(none found: try again)"]:
                print(f"    {line}", file=sys.stderr)
            return 3
        time.sleep(0.1)
    os.ftruncate(args.fd, 0)
    os.pwrite(args.fd, f"{args.owner} running\n".encode(), 0)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("supervise")
    p.add_argument("--id", required=True)
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--grace", type=float, default=float(os.environ.get("STACK_GRACE", "5")))
    p = sub.add_parser("stop")
    p.add_argument("--id", required=True)
    p.add_argument("--grace", type=float, default=float(os.environ.get("STACK_GRACE", "5")))
    p = sub.add_parser("ps")
    p.add_argument("--id", required=True)
    p = sub.add_parser("claim")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--owner", type=int, required=True)
    p.add_argument("--wait", type=float, default=30.0)
    args = parser.parse_args()
    return {"supervise": cmd_supervise, "stop": cmd_stop, "ps": cmd_ps, "claim": cmd_claim}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
