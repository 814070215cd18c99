#!/usr/bin/env python3
"""Cold starts of the release `bootstrap` binaries against a minimal Lambda Runtime API.

For each binary and run: a fresh process is started with the environment Lambda gives a
`provided.al2023` function; this script plays the Runtime API on 127.0.0.1 and records

  init   process start -> its first `GET /2018-06-01/runtime/invocation/next` (the init phase)
  first  process start -> the `POST .../invocation/<id>/response` of the first event
  rss    peak resident memory (VmHWM of /proc/<pid>/status) after the first response

then the process is killed. Side by side, in the same run and interleaved, the bare lambda_http
hello-world of bench/coldstart/hello: by default every function run is paired with a hello-world
run right beside it, and the verdict on "within 1.5x of the hello world" is read from the median of
the per-pair ratios and a distribution-free confidence interval of that median (order statistics),
for wall time and for CPU time (all threads, from /proc/<pid>/task/*/schedstat: far less noisy on a
shared machine). A process costs about 0.1 s of harness time, so `--runs 31` is cheap. Also the
zipped size (deflate level 9, as `zip -9`) of each binary packaged as `bootstrap`.

The functions need a moto server with the tables and the secret (their first request touches
DynamoDB or Secrets Manager like in production); `--moto` takes its URL and this script creates
tables and secret under a fresh prefix with scripts/create_tables.py and scripts/seed_secret.py
(run it with the project venv's python: they need boto3 and PyYAML).

    .venv/bin/python bench/coldstart/coldstart.py --moto http://127.0.0.1:5791 \
        --bin-dir target/release --hello bench/coldstart/hello/target/release/hello --runs 7

With `--tls` instead of `--moto`, the script starts its own moto server behind TLS, as the
functions reach DynamoDB and Secrets Manager in production: a private CA and a certificate for
127.0.0.1 are generated for the run (`openssl`), moto serves that certificate
(`moto_server --ssl-cert/--ssl-key`), and the functions trust the CA through
`TLS_EXTRA_CA_FILE` (shared/core/src/aws.rs), so their first request includes a real TCP + TLS
handshake. `--env AWS_CONNECT_AT_INIT=1` makes the functions open that connection during init
instead (the trade is in docs/PERFORMANCE.md).

Standard library only (besides the two scripts above). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def v2_event(method: str, path: str, body: str | None = None, headers: dict | None = None) -> dict:
    """An API Gateway HTTP API (payload 2.0) event like AWS sends."""
    now_ms = int(time.time() * 1000)
    h = {"host": "api.example.com", "user-agent": "coldstart-bench", "x-forwarded-for": "203.0.113.9"}
    h.update(headers or {})
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "coldstart-bench"},
            "requestId": uuid.uuid4().hex,
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def first_events() -> dict[str, dict]:
    """The first request each binary gets: a real route of the function (see bench/README.md)."""
    return {
        "hello": v2_event("GET", "/hello"),
        "health": json.loads((ROOT / "events/health.json").read_text()),
        "oauth-callback": v2_event("GET", "/auth/status"),
        "analyze": v2_event("POST", "/api/analyze", body="{}", headers={
            "content-type": "application/json", "origin": "http://localhost:5173"}),
        "history": v2_event("GET", "/api/history"),
        "checkout": json.loads((ROOT / "events/subscription-status.json").read_text()),
        # A signed subscription update: verified, claimed, applied, recorded (DynamoDB only; a
        # checkout completion would call api.stripe.com, unreachable here).
        "stripe-webhook": stripe_delivery(0, "LocColdStart01"),
        # HighLevel's signed install sample, outside the freshness window: verified (Ed25519),
        # refused with 401, nothing read or written: the function's route without I/O.
        "ghl-webhook": json.loads((ROOT / "events/ghl-webhook-install.json").read_text()),
        # The SQS worker with one message that is not an erasure job: parsed, reported as a batch
        # item failure, nothing read or written: the worker's path without I/O.
        "erasure": not_a_job(json.loads((ROOT / "events/erasure-sqs.json").read_text())),
    }


def not_a_job(event: dict) -> dict:
    event["Records"] = event["Records"][:1]
    event["Records"][0]["body"] = '{"not": "a job"}'
    return event


class Session:
    """The events one process gets, in order, and when the Runtime API saw each step."""

    def __init__(self, events: list[dict]):
        self.events = events
        self.ids = [str(uuid.uuid4()) for _ in events]
        self.served_at: list[float | None] = [None] * len(events)
        self.done_at: list[float | None] = [None] * len(events)
        self.responses: list[bytes] = [b""] * len(events)
        self.error: bytes | None = None
        self.next_index = 0
        self.finished = threading.Event()
        self.closed = threading.Event()  # set at teardown: releases a held `next`
        self.progress = threading.Condition()
        self.pace_s = 0.0
        self.paced_from = 0.0
        self.pid: int | None = None
        # CPU time of the process (all threads, ns) when event i was handed out / answered.
        self.cpu_served: list[int | None] = [None] * len(events)
        self.cpu_done: list[int | None] = [None] * len(events)

    @property
    def next_at(self):
        return self.served_at[0]

    @property
    def response_at(self):
        return self.done_at[0]

    @property
    def response(self):
        return self.responses[0]


class RuntimeApi(BaseHTTPRequestHandler):
    """The few routes of the Lambda Runtime API a runtime client uses."""

    current: Session | None = None
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to some invocations (a harness artefact, not Lambda's).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        now = time.monotonic()
        if not self.path.startswith("/2018-06-01/runtime/invocation/next"):
            return self._reply(404)
        session = self.current
        with RuntimeApi.lock:
            index = None
            if session is not None and session.next_index < len(session.events):
                index = session.next_index
                session.next_index += 1
        if index is not None and session.pace_s and index > 0:
            # Steady rate: event i is not handed out before start + i * pace.
            due = session.paced_from + index * session.pace_s
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
        if index is not None:
            now = time.monotonic()
            session.served_at[index] = now
            session.cpu_served[index] = cpu_ns(session.pid)
        if index is None:
            # No more work: hold the request (a frozen sandbox) until the process is killed and
            # the session torn down (the thread then ends instead of sleeping on).
            session.closed.wait(600) if session is not None else time.sleep(600)
            return self._reply(410)
        body = json.dumps(session.events[index]).encode()
        self._reply(200, body, {
            "content-type": "application/json",
            "lambda-runtime-aws-request-id": session.ids[index],
            "lambda-runtime-deadline-ms": str(int(time.time() * 1000) + 10_000),
            "lambda-runtime-invoked-function-arn":
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            "lambda-runtime-trace-id": "Root=1-00000000-000000000000000000000000;Sampled=0",
        })

    def do_POST(self):
        now = time.monotonic()
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        session = self.current
        if session is not None:
            parts = self.path.split("/")
            if "/init/error" in self.path:
                session.error = body
                session.finished.set()
            elif len(parts) >= 6 and parts[4] in session.ids:
                index = session.ids.index(parts[4])
                if self.path.endswith("/error"):
                    session.error = body
                    session.finished.set()
                else:
                    session.done_at[index] = now
                    session.cpu_done[index] = cpu_ns(session.pid)
                    session.responses[index] = body
                    with session.progress:
                        session.progress.notify_all()
                    if index == len(session.events) - 1:
                        session.finished.set()
        self._reply(202, b'{"status":"OK"}', {"content-type": "application/json"})


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        # A killed process resets its held `next` connection: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def cpu_ns(pid: int | None) -> int | None:
    """CPU time so far of every thread of `pid` (ns, from the scheduler: exact, unlike the tick
    counts of /proc/<pid>/stat)."""
    if pid is None:
        return None
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended between the listing and the read
    return total


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def zipped_size(binary: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "fn.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(binary, "bootstrap")
        return archive.stat().st_size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it (EC P-256, 1 day)."""
    ca_key, ca_pem = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *cmd: subprocess.run(["openssl", *cmd], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca_pem), "-days", "1", "-subj", "/CN=coldstart bench CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(ext))
    return ca_pem, cert, key


def start_tls_moto(directory: Path, moto_server: str) -> tuple[str, Path, subprocess.Popen]:
    """moto behind TLS on a free loopback port; returns its URL, the CA file and the process."""
    ca_pem, cert, key = make_tls_files(directory)
    port = free_port()
    proc = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port), "-c", str(cert),
                             "-k", str(key)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("moto did not start")
    return url, ca_pem, proc


def setup_moto(moto: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ, AWS_ENDPOINT_URL=moto, AWS_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    out = {}
    for cmd in (["scripts/create_tables.py", "--prefix", prefix],
                ["scripts/seed_secret.py", "--name", f"coldstart/{prefix}"]):
        text = subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True).stdout
        for line in text.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def function_env(name: str, binary: Path, api_port: int, env_extra: dict) -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api_port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]coldstart",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "LAMBDA_TASK_ROOT": str(binary.parent),
        "_HANDLER": "bootstrap",
        **env_extra,
    }


def start_process(binary: Path, name: str, session: Session, api_port: int, env_extra: dict):
    # One Runtime API server per process: a killed process's last `next` request, still in
    # flight, can never take the next process's event.
    handler = type("SessionApi", (RuntimeApi,), {"current": session})
    server = QuietServer(("127.0.0.1", 0), handler)
    # A short poll interval: `shutdown()` waits up to one interval, once per process.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                     daemon=True).start()
    session.server = server
    api_port = server.server_address[1]
    env = function_env(name, binary, api_port, env_extra)
    start = time.monotonic()
    proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    session.pid = proc.pid
    return start, proc


def run_once(binary: Path, name: str, event: dict, api_port: int, env_extra: dict) -> dict:
    inv = Session([event])
    start, proc = start_process(binary, name, inv, api_port, env_extra)
    ok = inv.finished.wait(20)
    rss = vm_hwm_kb(proc.pid) if proc.poll() is None else 0
    proc.kill()
    _, stderr = proc.communicate(timeout=10)
    inv.closed.set()
    inv.server.shutdown()
    inv.server.server_close()
    if not ok or inv.error is not None or inv.next_at is None:
        raise RuntimeError(f"{name}: no response (error={inv.error!r}); stderr:\n"
                           f"{stderr.decode(errors='replace')[-2000:]}")
    answer = json.loads(inv.response or b"{}")
    # An HTTP function answers a statusCode; the SQS worker its failed items ("1 failed").
    status = answer.get("statusCode", f"{len(answer.get('batchItemFailures', []))} failed")
    cpu = lambda ns: ns / 1e6 if ns is not None else float("nan")
    return {"init_ms": (inv.next_at - start) * 1000,
            "first_ms": (inv.response_at - start) * 1000,
            "init_cpu_ms": cpu(inv.cpu_served[0]), "first_cpu_ms": cpu(inv.cpu_done[0]),
            "rss_kb": rss, "status": status}


# ------------------------------------------------------------------------------ warm and soak

STRIPE_WEBHOOK_SECRET = "whsec_dev_local_webhook_secret"  # scripts/seed_secret.py's default


def with_ip(event: dict, n: int) -> dict:
    event = json.loads(json.dumps(event))
    ip = f"198.51.{(n // 250) % 250}.{n % 250 + 1}"
    event["requestContext"]["http"]["sourceIp"] = ip
    event["requestContext"]["requestId"] = uuid.uuid4().hex
    event["requestContext"]["timeEpoch"] = int(time.time() * 1000)
    return event


def stripe_delivery(n: int, location: str) -> dict:
    import hashlib
    import hmac
    sample = json.loads((ROOT / "events/stripe/customer.subscription.updated.json").read_text())
    sample["id"] = f"evt_bench_{uuid.uuid4().hex[:12]}_{n}"
    sample["created"] = int(time.time())
    sample["data"]["object"]["metadata"]["locationId"] = location
    body = json.dumps(sample)
    t = int(time.time())
    sig = hmac.new(STRIPE_WEBHOOK_SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return v2_event("POST", "/", body=body, headers={
        "content-type": "application/json", "stripe-signature": f"t={t},v1={sig}"})


def login(binary: Path, port: int, env: dict, moto: str, accounts_table: str, location: str) -> str:
    """A dev session (POST /test/login on the analyze function), its account made Pro."""
    session = Session([v2_event("POST", "/test/login", body=json.dumps({"locationId": location}),
                                headers={"content-type": "application/json",
                                         "origin": "http://localhost:5173"})])
    _, proc = start_process(binary, "analyze", session, port, env)
    session.finished.wait(20)
    proc.kill()
    proc.communicate(timeout=10)
    session.closed.set()
    session.server.shutdown()
    session.server.server_close()
    answer = json.loads(session.responses[0] or b"{}")
    cookies = answer.get("cookies") or []
    if not cookies:
        raise RuntimeError(f"/test/login gave no cookie: {answer}")
    subprocess.run([sys.executable, "-c", (
        "import boto3,sys; boto3.client('dynamodb', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='test', aws_secret_access_key='test').update_item(TableName=sys.argv[2],"
        " Key={'locationId': {'S': sys.argv[3]}}, UpdateExpression='SET #p = :p, subscriptionStatus = :s',"
        " ExpressionAttributeNames={'#p': 'plan'}, ExpressionAttributeValues={':p': {'S': 'pro'},"
        " ':s': {'S': 'active'}})"), moto, accounts_table, location], check=True)
    return cookies[0].split(";")[0]


def warm_events(cookie: str, location: str) -> dict:
    """name -> (function, event maker): the warm routes measured."""
    workflow = (ROOT / "events/workflows/critical.json").read_text()
    auth = {"cookie": cookie}
    post = {"cookie": cookie, "content-type": "application/json", "origin": "http://localhost:5173"}
    return {
        "hello GET /hello": ("hello", lambda n: with_ip(v2_event("GET", "/hello"), n)),
        "health GET /health": ("health", lambda n: with_ip(first_events()["health"], n)),
        "oauth-callback GET /auth/status": (
            "oauth-callback", lambda n: with_ip(v2_event("GET", "/auth/status", headers=auth), n)),
        "analyze POST /api/analyze (pro, stored)": (
            "analyze", lambda n: with_ip(v2_event("POST", "/api/analyze", body=workflow,
                                                  headers=post), n)),
        "analyze POST /test/analyze (no storage)": (
            "analyze", lambda n: with_ip(v2_event("POST", "/test/analyze",
                                                  body='{"sample":"critical"}', headers=post), n)),
        "history GET /api/history": (
            "history", lambda n: with_ip(v2_event("GET", "/api/history", headers=auth), n)),
        "checkout GET /api/subscription/status": (
            "checkout", lambda n: with_ip(v2_event("GET", "/api/subscription/status",
                                                   headers=auth), n)),
        "stripe-webhook POST / (new event)": (
            "stripe-webhook", lambda n: with_ip(stripe_delivery(n, location), n)),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rss_kb(pid: int, field: str = "VmRSS:") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def run_sequence(binary: Path, name: str, events: list[dict], port: int, env: dict,
                 pace_s: float = 0.0, sample_every: float = 0.0, timeout: float = 600):
    session = Session(events)
    session.pace_s = pace_s
    start, proc = start_process(binary, name, session, port, env)
    session.paced_from = time.monotonic()
    samples = []
    deadline = time.monotonic() + timeout
    while not session.finished.wait(sample_every or 1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        if sample_every:
            samples.append((time.monotonic() - start, rss_kb(proc.pid)))
    final_rss = rss_kb(proc.pid) if proc.poll() is None else 0
    peak = rss_kb(proc.pid, "VmHWM:") if proc.poll() is None else 0
    proc.kill()
    _, stderr = proc.communicate(timeout=10)
    session.closed.set()
    session.server.shutdown()
    session.server.server_close()
    if session.error is not None or any(d is None for d in session.done_at):
        raise RuntimeError(f"{name}: incomplete (error={session.error!r}); stderr:\n"
                           f"{stderr.decode(errors='replace')[-2000:]}")
    return session, samples, final_rss, peak


def warm(args, port: int, env: dict, names: dict, binaries: dict) -> None:
    location = "demo-bench" + uuid.uuid4().hex[:8]  # the dev login: demo accounts only
    cookie = login(binaries["analyze"], port, env, args.moto, names["ACCOUNTS_TABLE"], location)
    print(f"\nWarm path: {args.warm} sequential invocations per route after one warm-up "
          f"(one process, one event at a time, as one Lambda sandbox)\n")
    print("| route | invocations/s | p50 ms | p99 ms | max ms | CPU ms per request | statuses "
          "| RSS after MB |")
    print("|---|---|---|---|---|---|---|---|")
    for route, (fn, make) in warm_events(cookie, location).items():
        if fn not in binaries:
            continue
        events = [make(i) for i in range(args.warm + 1)]
        session, _, final_rss, _ = run_sequence(binaries[fn], fn, events, port,
                                                {} if fn == "hello" else env)
        lat = [(session.done_at[i] - session.served_at[i]) * 1000 for i in range(1, len(events))]
        span = session.done_at[-1] - session.served_at[1]
        statuses: dict = {}
        for body in session.responses[1:]:
            code = json.loads(body or b"{}").get("statusCode")
            statuses[code] = statuses.get(code, 0) + 1
        cpu = [(session.cpu_done[i] - session.cpu_served[i]) / 1e6 for i in range(1, len(events))
               if session.cpu_done[i] is not None and session.cpu_served[i] is not None]
        cpu_p50 = statistics.median(cpu) if cpu else float("nan")
        print(f"| {route} | {len(lat) / span:.0f} | {statistics.median(lat):.2f} "
              f"| {percentile(lat, 0.99):.2f} | {max(lat):.2f} | {cpu_p50:.2f} | {statuses} "
              f"| {final_rss / 1024:.1f} |")


def soak(args, port: int, env: dict, names: dict, binaries: dict) -> None:
    location = "demo-soak" + uuid.uuid4().hex[:8]
    cookie = login(binaries["analyze"], port, env, args.moto, names["ACCOUNTS_TABLE"], location)
    routes = warm_events(cookie, location)
    _, make = routes["analyze POST /api/analyze (pro, stored)"]
    count = int(args.soak * args.rate)
    events = [make(i) for i in range(count)]
    print(f"\nSoak: analyze POST /api/analyze (pro, stored), {args.rate}/s for {args.soak} s "
          f"= {count} invocations, one process\n")
    session, samples, final_rss, peak = run_sequence(
        binaries["analyze"], "analyze", events, port, env, pace_s=1 / args.rate,
        sample_every=10.0, timeout=args.soak + 120)
    lat = [(session.done_at[i] - session.served_at[i]) * 1000 for i in range(len(events))]
    errors = sum(1 for b in session.responses if json.loads(b or b"{}").get("statusCode") != 201)
    print(f"errors (status other than 201): {errors}; p50 {statistics.median(lat):.2f} ms, "
          f"p99 {percentile(lat, 0.99):.2f} ms, max {max(lat):.2f} ms")
    print("RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {kb / 1024:.1f}" for t, kb in samples)
          + f"; final {final_rss / 1024:.1f} MB, peak {peak / 1024:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moto", help="moto URL, e.g. http://127.0.0.1:5791")
    parser.add_argument("--tls", action="store_true",
                        help="start a moto server behind TLS (private CA, see above) instead")
    parser.add_argument("--moto-server", default=str(ROOT / ".venv/bin/moto_server"),
                        help="the moto_server executable --tls starts")
    parser.add_argument("--bin-dir", default=str(ROOT / "target/release"))
    shared_hello = ROOT / "target/release/hello"  # built with CARGO_TARGET_DIR=<workspace>/target
    parser.add_argument("--hello", default=str(shared_hello if shared_hello.exists() else
                                               ROOT / "bench/coldstart/hello/target/release/hello"))
    parser.add_argument("--runs", type=int, default=15,
                        help="rounds of cold starts; each function once per round (about 0.1 s "
                             "per process; 31 rounds of the nine binaries take about a minute)")
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and discarded")
    parser.add_argument("--pairing", choices=("adjacent", "round"), default="adjacent",
                        help="a hello-world run beside every function run (default), or one per "
                             "round")
    parser.add_argument("--seed", type=int, default=20, help="seed of the per-round order")
    parser.add_argument("--goal", type=float, default=1.5, help="the ratio the verdict is against")
    parser.add_argument("--confidence", type=float, default=0.9,
                        help="of the interval of the median ratio")
    parser.add_argument("--functions", default="health,oauth-callback,analyze,history,checkout,"
                                                "stripe-webhook,ghl-webhook,erasure",
                        help="names in --bin-dir; `name@PATH` runs the binary PATH as function "
                             "`name` (e.g. health,health@/tmp/other-build/health: A/B, interleaved)")
    parser.add_argument("--json", help="also write the raw runs here")
    parser.add_argument("--cold", type=int, default=1, help="0 skips the cold starts")
    parser.add_argument("--warm", type=int, default=0, help="warm invocations per route (0: none)")
    parser.add_argument("--soak", type=float, default=0, help="soak seconds (0: none)")
    parser.add_argument("--rate", type=float, default=20, help="soak invocations per second")
    parser.add_argument("--env", action="append", default=[], metavar="K=V",
                        help="extra environment for the functions (repeatable)")
    args = parser.parse_args()
    if not args.moto and not args.tls:
        parser.error("--moto URL or --tls is required")

    tls_extra: dict[str, str] = {}
    moto_proc = None
    tls_dir = None
    if args.tls:
        tls_dir = Path(tempfile.mkdtemp(prefix="coldstart-tls-"))
        args.moto, ca_pem, moto_proc = start_tls_moto(tls_dir, args.moto_server)
        os.environ["AWS_CA_BUNDLE"] = str(ca_pem)  # boto3 in the setup scripts
        tls_extra = {"TLS_EXTRA_CA_FILE": str(ca_pem)}
        print(f"moto behind TLS at {args.moto} (CA {ca_pem})\n")
    try:
        run_all(args, tls_extra)
    finally:
        if moto_proc is not None:
            moto_proc.kill()
            moto_proc.wait()
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)


def run_all(args, tls_extra: dict) -> None:
    prefix = "cs" + uuid.uuid4().hex[:6]
    names = setup_moto(args.moto, prefix)
    function_env = {
        "AWS_ENDPOINT_URL": args.moto,
        "STAGE": "dev",
        "ENABLE_TEST_ROUTES": "true",  # /test/login and /test/analyze (dev stage only)
        "FRONTEND_URL": "http://localhost:5173",
        "GHL_CLIENT_ID": "bench-client",
        "GHL_REDIRECT_URI": "http://localhost:9000/auth/callback",
        "STRIPE_PRICE_ID": "price_bench",
        "LOG_LEVEL": "info",
        # The bench drives thousands of requests from a handful of addresses and accounts.
        "RATE_LIMIT_DEFAULT": "1000000/60",
        "RATE_LIMIT_ANALYZE": "1000000/60",
        **names,
        **tls_extra,
        **dict(kv.split("=", 1) for kv in args.env),
    }
    port = 0  # each process gets its own Runtime API server (start_process)

    binaries = {"hello": Path(args.hello)}
    for fn in filter(None, args.functions.split(",")):
        # `name@/path/to/binary`: that binary as function `name`, in the same rounds as the
        # others (an A/B comparison of two builds of one function, interleaved).
        name, _, path = fn.partition("@")
        binaries[fn] = Path(path) if path else Path(args.bin_dir) / name
    if args.cold:
        cold(args, port, function_env, binaries)
    if args.warm:
        warm(args, port, function_env, names, binaries)
    if args.soak:
        soak(args, port, function_env, names, binaries)


# The functions whose first event does no I/O (no DynamoDB, no Secrets Manager): their first
# response is compared with the hello world's; the others' include round trips to moto.
NO_IO_FIRST = {"hello", "health", "ghl-webhook", "erasure"}


def median_ci(values: list[float], confidence: float) -> tuple[float, float, float]:
    """The median and a distribution-free confidence interval for it: the order statistics
    x_(k) and x_(n+1-k) with the largest k such that 2 P(Binomial(n, 1/2) < k) <= 1 - confidence
    (coverage at least `confidence`; the whole range when n is too small for it)."""
    xs = sorted(values)
    n = len(xs)
    alpha = 1 - confidence
    k, below = 0, 0.0  # below = P(B <= k - 1), B ~ Binomial(n, 1/2)
    while k < n // 2:
        nxt = below + math.comb(n, k) / 2 ** n  # P(B <= k)
        if 2 * nxt > alpha:
            break
        below, k = nxt, k + 1
    if k == 0:  # too few runs for this confidence
        return statistics.median(xs), xs[0], xs[-1]
    return statistics.median(xs), xs[k - 1], xs[n - k]


def quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return q[0], q[2]


def cpu_median(rs: list[dict], key: str) -> float:
    """Median over the runs whose CPU time could be read (a NaN would scramble the order)."""
    values = [r[key] for r in rs if not math.isnan(r[key])]
    return statistics.median(values) if values else float("nan")


def verdict(low: float, high: float, goal: float) -> str:
    if high < goal:
        return "within"
    if low > goal:
        return "over"
    return "undecided"


def cold(args, port: int, function_env: dict, binaries: dict) -> None:
    """Cold starts, paired with the hello world.

    `--pairing adjacent` (the default): every run of a function has its own hello-world run right
    beside it (before it in even rounds, after it in odd ones), functions in a shuffled order per
    round, so load drift on a shared machine hits both halves of a pair alike; the ratio is
    taken per pair and summarised by its median over the runs, with a confidence interval.
    `--pairing round`: one hello-world run per round (the first), as this script did before."""
    events = first_events()
    names = [n for n in binaries if n != "hello"]
    runs: dict[str, list[dict]] = {name: [] for name in binaries}
    pairs: dict[str, list[tuple[dict, dict]]] = {name: [] for name in names}
    rng = random.Random(args.seed)
    base = lambda label: label.partition("@")[0]
    once = lambda name: run_once(binaries[name], base(name), events[base(name)], port,
                                 {} if name == "hello" else function_env)
    load_before = os.getloadavg()
    started = time.monotonic()
    processes = 0
    for round_no in range(-args.warmup, args.runs):
        order = names[:]
        rng.shuffle(order)
        if args.pairing == "round":
            hello = once("hello")
            results = [(name, hello, once(name)) for name in order]
            processes += 1 + len(order)
        else:
            results = []
            for i, name in enumerate(order):
                if (round_no + i) % 2 == 0:
                    hello = once("hello")
                    fn = once(name)
                else:
                    fn = once(name)
                    hello = once("hello")
                results.append((name, hello, fn))
                processes += 2
        if round_no < 0:  # warm-up: page cache, the harness's own first imports
            continue
        for name, hello, fn in results:
            runs[name].append(fn)
            pairs[name].append((hello, fn))
            if not any(h is hello for h in runs["hello"]):
                runs["hello"].append(hello)
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()

    goal, conf = args.goal, args.confidence
    print(f"{args.runs} rounds (+{args.warmup} warm-up), pairing {args.pairing}, {processes} "
          f"processes in {elapsed:.0f} s ({elapsed / max(processes, 1) * 1000:.0f} ms per process, "
          f"{elapsed / max(args.runs + args.warmup, 1):.1f} s per round); load average "
          f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} after\n")
    print(f"Ratios to the hello world, per pair of runs: median [{conf:.0%} confidence interval "
          f"of the median] (interquartile range); verdict against {goal}x: within (the interval "
          f"is under it), over (above it), undecided (it straddles it). Wall = process start to "
          f"the event; CPU = all threads' CPU time at that moment. First response: routes "
          f"without I/O only.\n")
    print("| binary | init wall / hello | verdict | init CPU / hello | verdict "
          "| first response wall / hello | verdict | first response CPU / hello | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for name in names:
        cells = []
        summary[name] = {}
        for key in ("init_ms", "init_cpu_ms", "first_ms", "first_cpu_ms"):
            if key.startswith("first") and base(name) not in NO_IO_FIRST:
                cells += ["(DynamoDB)", ""]
                continue
            ratios = [fn[key] / hello[key] for hello, fn in pairs[name]
                      if hello[key] > 0 and not math.isnan(fn[key] / hello[key])]
            if not ratios:
                cells += ["n/a", ""]
                continue
            mid, low, high = median_ci(ratios, conf)
            q1, q3 = quartiles(ratios)
            v = verdict(low, high, goal)
            summary[name][key] = {"median": mid, "ci": [low, high], "iqr": [q1, q3], "verdict": v,
                                  "ratios": ratios}
            cells += [f"{mid:.2f} [{low:.2f}-{high:.2f}] ({q1:.2f}-{q3:.2f})", v]
        print(f"| {name} | " + " | ".join(cells) + " |")

    print(f"\nAbsolute figures (p50 and min-max over the runs):\n")
    print(f"| binary | runs | init p50 ms (min-max) | first response p50 ms (min-max) "
          f"| CPU ms init / to first response (p50) | first status | peak RSS MB "
          f"| binary MB | zip -9 MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        if not rs:
            continue
        init = [r["init_ms"] for r in rs]
        first = [r["first_ms"] for r in rs]
        rss = max(r["rss_kb"] for r in rs) / 1024
        size = binaries[name].stat().st_size / 1e6
        zsize = zipped_size(binaries[name]) / 1e6
        print(f"| {name} | {len(rs)} "
              f"| {statistics.median(init):.1f} ({min(init):.1f}-{max(init):.1f}) "
              f"| {statistics.median(first):.1f} ({min(first):.1f}-{max(first):.1f}) "
              f"| {cpu_median(rs, 'init_cpu_ms'):.2f} / {cpu_median(rs, 'first_cpu_ms'):.2f} "
              f"| {rs[0]['status']} | {rss:.1f} | {size:.2f} | {zsize:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "runs": runs, "pairs": {n: [[h, f] for h, f in ps] for n, ps in pairs.items()},
            "summary": summary, "pairing": args.pairing, "elapsed_s": elapsed,
            "load_before": load_before, "load_after": load_after}, indent=1))

if __name__ == "__main__":
    main()
