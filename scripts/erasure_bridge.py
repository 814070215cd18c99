#!/usr/bin/env python3
"""The local SQS event source of the erasure worker (`make dev`; docs/LOCAL_STACK.md).

What Lambda's event source mapping does in AWS, for one queue and one function: long-polls the
queue, hands each batch to the function as an SQS event through `cargo lambda watch`'s invoke
endpoint (``POST /2015-03-31/functions/<fn>/invocations``), and deletes only the messages the
function did not list in ``batchItemFailures`` (ReportBatchItemFailures). When the invocation
itself fails (watch still compiling past the timeout, the function erroring or unreachable), it
deletes nothing: every message of the batch comes back after its visibility timeout and, past the
queue's maxReceiveCount, moto moves it to the dead-letter queue, as SQS does.

    python scripts/erasure_bridge.py --queue-url URL --invoke-url URL
        [--batch-size 10] [--wait 5] [--visibility-timeout 60] [--once]

--visibility-timeout overrides the queue's (1800 s in template.yaml) for the received messages, so
a failed job is retried within a minute locally. --once handles what is visible and exits (tests).
Stops on SIGTERM or SIGINT (the stack supervisor's stop) at once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

import boto3


def say(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} erasure-bridge: {msg}", file=sys.stderr, flush=True)


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event Lambda builds from received messages (aws_lambda_events::sqs::SqsEvent)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m.get("Body", ""),
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def failed_ids(status: int, headers, body: bytes, batch: list[dict]) -> set[str]:
    """The message ids to leave on the queue: the reported failures, or all of them when the
    invocation failed or its answer is not a batch response."""
    every = {m["MessageId"] for m in batch}
    if status != 200 or headers.get("X-Amz-Function-Error"):
        return every
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return every
    if not isinstance(answer, dict) or "errorType" in answer or "errorMessage" in answer:
        return every
    failures = answer.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return every
    reported = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    # An identifier that names no message of the batch is a broken answer: keep everything.
    return every if not reported <= every else reported


def invoke(url: str, event: dict, timeout: float) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(
        url,
        data=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def deliver(sqs, args, queue_arn: str, messages: list[dict]) -> tuple[int, int]:
    """One batch to the worker; returns (deleted, left)."""
    event = sqs_event(messages, queue_arn, args.region)
    try:
        status, headers, body = invoke(args.invoke_url, event, args.invoke_timeout)
    except (urllib.error.URLError, OSError) as err:
        say(f"invoke failed ({err}); {len(messages)} message(s) come back after the visibility timeout")
        return 0, len(messages)
    failed = failed_ids(status, headers, body, messages)
    if status != 200:
        say(f"invoke answered {status}: {body[:300]!r}")
    done = [m for m in messages if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        chunk = done[start : start + 10]
        result = sqs.delete_message_batch(
            QueueUrl=args.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
        )
        for f in result.get("Failed", []):
            say(f"delete failed: {f}")
    say(f"batch of {len(messages)}: {len(done)} done and deleted, {len(failed)} left for a retry")
    return len(done), len(failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", default=os.environ.get("ERASURE_QUEUE_URL"))
    parser.add_argument("--invoke-url", required=True)
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--batch-size", type=int, default=10, choices=range(1, 11))
    parser.add_argument("--wait", type=int, default=5, choices=range(0, 21))
    parser.add_argument("--visibility-timeout", type=int, default=60)
    parser.add_argument("--invoke-timeout", type=float, default=900.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    if not args.queue_url or not args.endpoint_url:
        parser.error("--queue-url (ERASURE_QUEUE_URL) and --endpoint-url (AWS_ENDPOINT_URL) are required")

    # The default action of SIGTERM ends the process even inside a long poll; SIGINT likewise.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sqs = boto3.client(
        "sqs",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    queue_arn = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    say(f"polling {args.queue_url} for {args.invoke_url}")
    while True:
        try:
            messages = sqs.receive_message(
                QueueUrl=args.queue_url,
                MaxNumberOfMessages=args.batch_size,
                WaitTimeSeconds=0 if args.once else args.wait,
                VisibilityTimeout=args.visibility_timeout,
                AttributeNames=["All"],
            ).get("Messages", [])
        except Exception as err:  # noqa: BLE001 - moto restarting, a network blip: try again
            say(f"receive failed ({err}); retrying")
            time.sleep(2)
            continue
        if messages:
            deliver(sqs, args, queue_arn, messages)
        elif args.once:
            return 0


if __name__ == "__main__":
    sys.exit(main())
