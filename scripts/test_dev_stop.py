#!/usr/bin/env python3
"""`make dev` stops everything it started, every way it can be stopped (issue 21). Run by `make test`.

Each round starts `make dev` (SKIP_BUILD=1, free ports, a private TABLE_PREFIX) in a session of its
own, as a terminal or a supervisor would, waits for a phase of its start-up, stops it one way, and
then fails if any process of its tree is still alive 5 s after `make` exited or if one of its
ports is still taken. The tree is every process carrying DEV_STOP_TEST=<tag> in its environment (set
here, inherited by make and everything below it, whatever sessions or process groups they make)
plus every process of a session one of them leads; the pids seen before the stop are checked too.

Ways (each at least twice: once with watch serving, once early, while the script is still starting
moto or creating the tables, i.e. inside a foreground child or a command substitution):

    ctrl-c       SIGINT to make's process group (what the terminal sends)
    term-group   SIGTERM to the process group (IDE stop buttons, `timeout`, supervisors): the case of
                 the issue, where make passes its own SIGTERM on and the script gets two
    term-make    SIGTERM to make alone
    hangup       the terminal (a pty) closes, then SIGHUP to the group (what the shell does)
    kill-script  SIGKILL to scripts/dev.sh itself: its supervisor stops the stack
    restart      SIGTERM to a first make dev and at once a second one on the same ports: it must
                 wait until nothing of the first is left, then start; a third one started while the
                 second runs must refuse (within seconds); then Ctrl-C

One round waits for GET /health to answer (cargo lambda watch builds the function on its first
request: up to DEV_STOP_HEALTH_WAIT seconds, default 30; if the build takes longer it is stopped
while compiling, which is a function process tree too, and the output says so;
DEV_STOP_REQUIRE_HEALTH=1 makes that a failure). Other rounds with watch serving send one request
and stop once the function's process (cargo run --bin health) exists.

    python3 scripts/test_dev_stop.py [--ways ctrl-c,term-group,...] [--rounds N] [--keep-logs]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = os.path.join(ROOT, ".local")
WAYS = ["ctrl-c", "term-group", "term-make", "hangup", "kill-script", "restart"]
START_TIMEOUT = float(os.environ.get("DEV_STOP_START_TIMEOUT", "90"))
HEALTH_WAIT = float(os.environ.get("DEV_STOP_HEALTH_WAIT", "30"))
COMMAND = ["make", "--no-print-directory", "dev"]
EXIT_TIMEOUT = 30.0  # make must be gone this long after the signal (grace 5 s + margin)
SETTLE = 5.0  # and nothing of its tree this long after make exited

failures: list = []
counter = itertools.count(1)


def now() -> float:
    return time.monotonic()


_ports_given: set = set()
_lock = threading.Lock()


def free_port() -> int:
    """A port free right now and not handed to another run of this test (lanes run side by side)."""
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with _lock:
            if port not in _ports_given:
                _ports_given.add(port)
                return port


def say(line: str) -> None:
    with _lock:
        print(line, flush=True)


def port_taken(port: int) -> bool:
    """True when something listens on 127.0.0.1:port or holds it (binding as the servers do fails)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def proc_stat(pid: int):
    """(state, pgid, sid, starttime) or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0], int(fields[2]), int(fields[3]), int(fields[19])


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:150]
    except OSError:
        return "?"


def tree(tag: str) -> dict:
    """Live processes of a run: {pid: (starttime, cmdline)} (zombies excluded: they hold nothing)."""
    entry = f"DEV_STOP_TEST={tag}".encode()
    sessions: set = set()
    found: dict = {}
    for _ in range(2):  # the second pass catches members of sessions found late in the first
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            st = proc_stat(pid)
            if st is None or st[0] in (b"Z", b"X") or pid == os.getpid():
                continue
            hit = st[2] in sessions
            if not hit:
                try:
                    with open(f"/proc/{pid}/environ", "rb") as f:
                        hit = entry in f.read().split(b"\0")
                except OSError:
                    hit = False
                if hit and st[2] == pid:
                    sessions.add(pid)
            if hit:
                found[pid] = (st[3], cmdline(pid))
    return found


def still_alive(snapshot: dict) -> dict:
    out = {}
    for pid, (start, cmd) in snapshot.items():
        st = proc_stat(pid)
        if st is not None and st[0] not in (b"Z", b"X") and st[3] == start:
            out[pid] = cmd
    return out


class Dev:
    """One `make dev` in a session of its own, output to a log file (or a pty, for `hangup`)."""

    def __init__(self, label: str, port: int, moto_port: int, use_pty: bool = False):
        self.label = label
        self.port, self.moto_port = port, moto_port
        self.tag = f"devstop-{os.getpid()}-{next(counter)}"
        self.log_path = os.path.join(LOCAL, f"{self.tag}.log")
        self.snapshot: dict = {}
        env = dict(os.environ)
        for var in ("LOCAL_STACK_ID", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
            env.pop(var, None)
        env.update(PORT=str(port), MOTO_PORT=str(moto_port), TABLE_PREFIX=self.tag, SKIP_BUILD="1",
                   DEV_STOP_TEST=self.tag)
        self.log = open(self.log_path, "wb")
        self.master = None
        out = self.log
        if use_pty:
            self.master, slave = os.openpty()
            out = slave
        self.proc = subprocess.Popen(
            COMMAND, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started = now()
        if use_pty:
            os.close(slave)
            self.stop_reading = threading.Event()
            self.reader = threading.Thread(target=self._drain, daemon=True)
            self.reader.start()

    def _drain(self):
        while not self.stop_reading.is_set():
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.log.write(data)
                self.log.flush()

    def close_terminal(self):
        self.stop_reading.set()
        self.reader.join()
        os.close(self.master)
        self.master = None

    def output(self) -> str:
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def wait_for(self, phase: str) -> str:
        """Wait for a phase of the start-up; returns what was reached ('health' may become 'function')."""
        deadline = now() + START_TIMEOUT
        while True:
            if self.exited():
                raise Failure(f"make dev exited ({self.proc.returncode}) before '{phase}'")
            if now() > deadline:
                raise Failure(f"'{phase}' not reached within {START_TIMEOUT:g} s")
            if phase == "moto" and listening(self.moto_port):
                return phase
            if phase == "tables" and "==> creating the tables" in self.output():
                return phase
            if phase in ("watch", "function", "health") and listening(self.port):
                break
            time.sleep(0.05)
        if phase == "watch":
            return phase
        result = {}

        def get():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=HEALTH_WAIT) as r:
                    result["status"] = r.status
            except Exception as e:  # noqa: BLE001 (any failure just means "not answered")
                result["error"] = str(e)

        threading.Thread(target=get, daemon=True).start()
        deadline = now() + (HEALTH_WAIT if phase == "health" else START_TIMEOUT)
        function_seen = False
        while now() < deadline:
            if self.exited():
                raise Failure(f"make dev exited ({self.proc.returncode}) while waiting for /health")
            if phase == "health" and result.get("status") == 200:
                return "health"
            function_seen = function_seen or any(
                "--bin health" in cmd for _, cmd in tree(self.tag).values())
            if phase == "function" and function_seen:
                time.sleep(0.3)  # let cargo start its children (rustc or the function itself)
                return "function"
            time.sleep(0.2)
        if phase == "health" and function_seen:
            if os.environ.get("DEV_STOP_REQUIRE_HEALTH") == "1":
                raise Failure(f"/health did not answer within {HEALTH_WAIT:g} s")
            return "function (GET /health still building after %g s)" % HEALTH_WAIT
        raise Failure(f"no function process appeared for GET /health: {result}")

    def script_pid(self):
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = proc_stat(int(name))
                try:
                    with open(f"/proc/{name}/stat", "rb") as f:
                        ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if st and ppid == self.proc.pid and "dev.sh" in cmdline(int(name)):
                    return int(name)
        return None

    def stop(self, way: str):
        self.snapshot = tree(self.tag)
        pgid = self.proc.pid
        if way == "ctrl-c":
            os.killpg(pgid, signal.SIGINT)
        elif way in ("term-group", "restart"):
            os.killpg(pgid, signal.SIGTERM)
        elif way == "term-make":
            os.kill(self.proc.pid, signal.SIGTERM)
        elif way == "hangup":
            self.close_terminal()
            os.killpg(pgid, signal.SIGHUP)
        elif way == "kill-script":
            pid = self.script_pid()
            if pid is None:
                raise Failure("scripts/dev.sh not found under make")
            os.kill(pid, signal.SIGKILL)
        self.signalled = now()

    def check_gone(self, check_ports: bool = True) -> list:
        """Problems after the stop (empty: clean). Waits for make, then for the tree and the ports."""
        problems = []
        try:
            self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            problems.append(f"make still running {EXIT_TIMEOUT:g} s after the signal")
        self.exit_time = now() - self.signalled
        deadline = now() + SETTLE
        while True:
            left = tree(self.tag)
            left.update({p: (0, c) for p, c in still_alive(self.snapshot).items()})
            ports = [p for p in (self.port, self.moto_port) if check_ports and port_taken(p)]
            if (not left and not ports) or now() > deadline:
                break
            time.sleep(0.1)
        self.clean_time = now() - self.signalled
        for pid, (_, cmd) in sorted(left.items()):
            problems.append(f"left running: {pid} {cmd}")
        for port in ports:
            problems.append(f"port {port} still taken")
        return problems

    def force_cleanup(self):
        """After a failure: kill whatever of this run is left, so one failure does not cascade."""
        if self.master is not None:
            self.close_terminal()
        for pid in list(tree(self.tag)) + list(still_alive(self.snapshot)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def remove_files(self, keep_log: bool):
        self.log.close()
        names = [f"dev-{self.port}.env", f"port-{self.port}.lock", f"port-{self.moto_port}.lock"]
        if not keep_log:
            names += [os.path.basename(self.log_path), f"moto-dev-{self.moto_port}.log",
                      f"stack-dev-{self.port}.log"]
        for name in names:
            try:
                os.remove(os.path.join(LOCAL, name))
            except OSError:
                pass


class Failure(Exception):
    pass


def names(snapshot: dict) -> str:
    """"make, dev.sh, stack.py, moto_server, ..." for the processes of a snapshot."""
    out = []
    for _, cmd in sorted(snapshot.values()):
        words = cmd.split()
        prog = next((w for w in words[1:] if not w.startswith("-")), words[0]) if words and (
            os.path.basename(words[0]).startswith(("python", "bash"))) else (words or ["?"])[0]
        out.append(os.path.basename(prog))
    return ", ".join(out) or "nothing"


def report(label: str, dev: Dev, reached: str, problems: list, extra: str = ""):
    status = "ok" if not problems else "FAILED"
    lines = [f"{status:6} {label:20} stopped at {reached}: make exited {dev.proc.returncode} after "
             f"{dev.exit_time:.1f} s, tree and ports clean after {dev.clean_time:.1f} s "
             f"({names(dev.snapshot)}){extra}"]
    lines += [f"         {p}" for p in problems]
    if problems:
        failures.append(label)
        lines.append(f"         log: {os.path.relpath(dev.log_path, ROOT)}, its last lines:")
        # CI keeps only what is printed: the log's tail says why (e.g. which step of dev.sh failed).
        lines += [f"         | {line}" for line in dev.output().splitlines()[-15:]]
    say("\n".join(lines))


def one(way: str, phase: str, keep_logs: bool):
    label = f"{way} @{phase}"
    dev = Dev(label, free_port(), free_port(), use_pty=(way == "hangup"))
    try:
        reached = dev.wait_for(phase)
        dev.stop(way)
        problems = dev.check_gone()
    except Exception as e:  # noqa: BLE001 (Failure, or the test's own error: reported, then cleaned up)
        problems, reached = [str(e) if isinstance(e, Failure) else repr(e)], phase
        dev.exit_time = dev.clean_time = float("nan")
    report(label, dev, reached, problems)
    if problems:
        dev.force_cleanup()
        keep_logs = True
    dev.remove_files(keep_logs)


def restart(phase: str, keep_logs: bool):
    """A first make dev stopped, a second on the same ports at once, a third refused while it runs."""
    port, moto_port = free_port(), free_port()
    first = Dev("restart: first", port, moto_port)
    devs = [first]
    problems = []
    extra = ""
    try:
        first.wait_for(phase)
        first.stop("term-group")
        second = Dev("restart: second", port, moto_port)
        devs.append(second)
        # The second may only start moto once nothing of the first is left (but `make` itself, which
        # exits once its script has).
        deadline = now() + START_TIMEOUT
        while now() < deadline and not second.exited():
            if any("moto_server" in c for _, c in tree(second.tag).values()):
                break
            time.sleep(0.01)
        leftovers = still_alive(first.snapshot)
        leftovers.update({p: c for p, (_, c) in tree(first.tag).items()})
        leftovers.pop(first.proc.pid, None)
        if leftovers:
            problems.append("the second make dev started moto while the first still had: "
                            + "; ".join(f"{p} {c}" for p, c in leftovers.items()))
        problems += [f"first: {p}" for p in first.check_gone(check_ports=False)]
        second.wait_for("watch")
        waited = "waiting for the previous local stack" in second.output()
        extra = (f"; the first (SIGTERM to its group) was clean after {first.clean_time:.1f} s, the "
                 + ("second waited for it" if waited else "first was gone before the second looked")
                 + ", a third was refused")
        third = Dev("restart: third", port, moto_port)
        devs.append(third)
        try:
            third.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            problems.append("a third make dev on the same ports did not refuse within 20 s")
        else:
            if third.proc.returncode == 0 or "is running" not in third.output():
                problems.append(f"the third make dev did not refuse clearly (exit {third.proc.returncode})")
        if not listening(port) or second.exited():
            problems.append("the refused third make dev disturbed the running second one")
        second.stop("ctrl-c")
        problems += [f"second: {p}" for p in second.check_gone()]
        problems += [f"third: left running: {p} {c}" for p, (_, c) in tree(third.tag).items()]
        third.exit_time = third.clean_time = 0.0
    except Exception as e:  # noqa: BLE001 (as in one())
        problems.append(str(e) if isinstance(e, Failure) else repr(e))
    for d in devs:
        if not hasattr(d, "exit_time"):
            d.exit_time = d.clean_time = float("nan")
    # The numbers are the second's (stopped with Ctrl-C); the first's are in `extra`.
    report(f"restart @{phase}", devs[1] if len(devs) > 1 else first, phase, problems, extra)
    for d in devs:
        if problems:
            d.force_cleanup()
        d.remove_files(keep_logs or bool(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--rounds", type=int, default=2, help="rounds per way (default 2)")
    parser.add_argument("--lanes", type=int, default=2, help="runs side by side (default 2)")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--command", help="what to start instead of `make dev` (testing the test)")
    args = parser.parse_args()
    if args.command:
        COMMAND[:] = args.command.split()
    ways = [w for w in args.ways.split(",") if w]
    unknown = set(ways) - set(WAYS)
    if unknown:
        parser.error(f"unknown ways: {', '.join(sorted(unknown))}")
    os.makedirs(LOCAL, exist_ok=True)
    # make must start as a terminal starts a job, with default signal dispositions; this process may
    # itself have been started with SIGINT ignored (a background command of a script), and an ignored
    # signal stays ignored in children (bash could then not trap it). A handled one is reset at exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for s in (signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    # Phases by round: watch serving (one round waits for /health, the others for the function's
    # process), then early in the start-up (moto just up: the script is creating the tables).
    phases = ["function", "moto", "watch", "tables"]
    jobs = []
    health_done = False
    for r in range(args.rounds):
        for way in ways:
            phase = phases[r % len(phases)]
            if way == "restart":
                jobs.append((restart, "watch" if r % 2 == 0 else "moto"))
                continue
            if phase == "function" and not health_done and way in ("term-group", "ctrl-c"):
                phase, health_done = "health", True
            jobs.append((functools.partial(one, way), phase))
    # The health round first: it may wait for cargo to build the function, the other lanes go on.
    jobs.sort(key=lambda job: job[1] != "health")
    start = now()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.lanes) as pool:
        for future in [pool.submit(fn, phase, args.keep_logs) for fn, phase in jobs]:
            future.result()
    took = now() - start
    if failures:
        say(f"make dev stop test: {len(failures)} failed in {took:.0f} s: {', '.join(failures)}")
        return 1
    say(f"make dev stop test: {len(jobs)} stops, every one clean ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
