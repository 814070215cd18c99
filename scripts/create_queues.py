#!/usr/bin/env python3
"""Create every AWS::SQS::Queue of template.yaml in a local SQS-compatible server (moto).

Like scripts/create_tables.py for the tables: the template is the only definition. Each queue is
named ``<prefix>-<name>`` (the logical id in kebab case: ErasureQueue -> local-erasure-queue) and
created with the template's VisibilityTimeout, MessageRetentionPeriod and RedrivePolicy (its
``!GetAtt Other.Arn`` resolved to the local queue's ARN, so dead-letter queues come first).
Prints one ``VAR=url`` line per queue on stdout, the variable the functions read (ErasureQueue ->
ERASURE_QUEUE_URL, ErasureDeadLetterQueue -> ERASURE_DEAD_LETTER_QUEUE_URL). Idempotent: an
existing queue is kept. Progress goes to stderr.

    python scripts/create_queues.py --endpoint-url http://127.0.0.1:5005 [--prefix local]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from create_tables import ROOT, load_template  # noqa: E402

# Template properties that map to a queue attribute of the same name, as plain values.
PLAIN_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
                    "MaximumMessageSize", "ReceiveMessageWaitTimeSeconds")


def kebab(logical_id: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical_id).lower()


def env_var(logical_id: str) -> str:
    base = logical_id[: -len("Queue")] if logical_id.endswith("Queue") else logical_id
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).upper() + "_QUEUE_URL"


def arn_target(value: Any) -> str | None:
    """The logical id of ``!GetAtt X.Arn``, else None."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2 and target[1] == "Arn":
            return target[0]
    return None


def creation_order(queues: dict[str, dict[str, Any]]) -> list[str]:
    """Dead-letter queues before the queues that redrive to them."""
    order: list[str] = []

    def visit(logical_id: str, path: tuple[str, ...]) -> None:
        if logical_id in order:
            return
        if logical_id in path:
            raise SystemExit(f"create_queues: redrive cycle through {logical_id}")
        target = arn_target(queues[logical_id].get("RedrivePolicy", {}).get("deadLetterTargetArn"))
        if target:
            if target not in queues:
                raise SystemExit(f"create_queues: {logical_id} redrives to unknown {target}")
            visit(target, path + (logical_id,))
        order.append(logical_id)

    for logical_id in queues:
        visit(logical_id, ())
    return order


def attributes(logical_id: str, props: dict[str, Any], arns: dict[str, str]) -> dict[str, str]:
    attrs = {}
    for name in PLAIN_ATTRIBUTES:
        if name in props:
            if isinstance(props[name], dict):
                raise SystemExit(f"create_queues: {logical_id}.{name} must be a plain value")
            attrs[name] = str(props[name])
    redrive = props.get("RedrivePolicy")
    if redrive:
        target = arn_target(redrive.get("deadLetterTargetArn"))
        if not target:
            raise SystemExit(f"create_queues: {logical_id}.RedrivePolicy needs !GetAtt <Queue>.Arn")
        attrs["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": arns[target],
            "maxReceiveCount": int(redrive["maxReceiveCount"]),
        })
    return attrs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL"),
        help="local SQS endpoint (default: $AWS_ENDPOINT_URL_SQS or $AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--prefix", default="local", help="queue name prefix (default: local)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args()
    if not args.endpoint_url:
        parser.error("--endpoint-url (or AWS_ENDPOINT_URL) is required")

    template = load_template(Path(args.template))
    queues = {
        logical_id: res.get("Properties", {}) or {}
        for logical_id, res in template.get("Resources", {}).items()
        if res.get("Type") == "AWS::SQS::Queue"
    }
    if not queues:
        raise SystemExit(f"create_queues: no AWS::SQS::Queue in {args.template}")
    client = boto3.client(
        "sqs",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    arns: dict[str, str] = {}
    for logical_id in creation_order(queues):
        name = f"{args.prefix}-{kebab(logical_id)}"
        try:
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
            print(f"create_queues: {name} exists, kept", file=sys.stderr)
        except client.exceptions.QueueDoesNotExist:
            url = client.create_queue(
                QueueName=name, Attributes=attributes(logical_id, queues[logical_id], arns)
            )["QueueUrl"]
            print(f"create_queues: {name} created", file=sys.stderr)
        arns[logical_id] = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        print(f"{env_var(logical_id)}={url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
