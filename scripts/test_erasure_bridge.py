#!/usr/bin/env python3
"""The local erasure event source (scripts/erasure_bridge.py) against moto. Run by `make test`.

Creates the queues of template.yaml (scripts/create_queues.py, a private prefix) in the moto of
AWS_ENDPOINT_URL, puts a stand-in worker on a free port that answers like the erasure worker
(`batchItemFailures` for the bodies it is told to fail, an error for a body "crash"), and checks:

  - a batch is delivered as an SQS event and only the acknowledged messages are deleted;
  - a failed invocation (HTTP 500, or an answer that is not a batch response) deletes nothing;
  - a message failing every delivery moves to the dead-letter queue after the template's
    maxReceiveCount, as SQS does, and nothing else does.

The erasure worker itself is proven by the Rust integration tests (tests/integration/erasure.rs).

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python3 scripts/test_erasure_bridge.py
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok      " if ok else "FAILED  ") + what, flush=True)
    if not ok:
        failures.append(what)


class Worker(http.server.BaseHTTPRequestHandler):
    """Answers like the erasure worker; records every event it received."""

    events: list[dict] = []
    crash = False

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        event = json.loads(body)
        Worker.events.append(event)
        if Worker.crash:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"errorType":"Panic","errorMessage":"boom"}')
            return
        failed = [
            {"itemIdentifier": r["messageId"]} for r in event["Records"] if "fail" in r["body"]
        ]
        answer = json.dumps({"batchItemFailures": failed}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


def bridge(queue_url: str, invoke_url: str) -> None:
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "erasure_bridge.py"), "--once",
         "--queue-url", queue_url, "--invoke-url", invoke_url, "--visibility-timeout", "1",
         "--invoke-timeout", "10"],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def counts(sqs, url: str) -> tuple[int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("AWS_ENDPOINT_URL (moto) is required", file=sys.stderr)
        return 2
    prefix = "bridge" + secrets.token_hex(3)
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "create_queues.py"), "--prefix", prefix],
        check=True, capture_output=True, text=True,
    ).stdout
    urls = dict(line.split("=", 1) for line in out.split())
    queue, dead = urls["ERASURE_QUEUE_URL"], urls["ERASURE_DEAD_LETTER_QUEUE_URL"]
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"))
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])[
        "Attributes"]["RedrivePolicy"])
    max_receives = int(redrive["maxReceiveCount"])
    check(redrive["deadLetterTargetArn"].endswith(f"{prefix}-erasure-dead-letter-queue"),
          "the queue redrives to the template's dead-letter queue")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Worker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    invoke = f"http://127.0.0.1:{server.server_address[1]}/2015-03-31/functions/erasure/invocations"

    for body in ['{"job":"a"}', '{"job":"b"}', '{"job":"fail"}']:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    bridge(queue, invoke)
    delivered = [r["body"] for e in Worker.events for r in e["Records"]]
    check(sorted(delivered) == sorted(['{"job":"a"}', '{"job":"b"}', '{"job":"fail"}']),
          f"one delivery of the three messages as an SQS event ({len(Worker.events)} event(s))")
    check(all(r["eventSource"] == "aws:sqs" and r["receiptHandle"] for e in Worker.events
              for r in e["Records"]), "records carry eventSource and receiptHandle")
    check(sum(counts(sqs, queue)) == 1, "only the reported failure stays on the queue")

    time.sleep(1.5)
    Worker.crash = True
    Worker.events.clear()
    bridge(queue, invoke)
    check(len(Worker.events) == 1 and sum(counts(sqs, queue)) == 1,
          "a crashed invocation deletes nothing")
    Worker.crash = False

    for _ in range(max_receives + 1):
        time.sleep(1.5)
        bridge(queue, invoke)
    check(sum(counts(sqs, queue)) == 0, "the queue is empty once the failing message moved")
    moved = sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10).get("Messages", [])
    check([m["Body"] for m in moved] == ['{"job":"fail"}'],
          f"the message failing every delivery is in the dead-letter queue after {max_receives} receives")

    server.shutdown()
    for url in (queue, dead):
        sqs.delete_queue(QueueUrl=url)
    if failures:
        print(f"test_erasure_bridge: {len(failures)} failed", file=sys.stderr)
        return 1
    print("test_erasure_bridge: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
