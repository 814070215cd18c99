#!/usr/bin/env python3
"""Create every AWS::DynamoDB::Table of template.yaml in a local DynamoDB-compatible server (moto).

The template is the only definition of the tables: key schema, attribute definitions, global and
local secondary indexes and the TTL attribute are read from it, so local tables never drift from
the deployed ones. Tables are on-demand (PAY_PER_REQUEST) and named ``<prefix>-<name>`` where
<name> is the logical id without its ``Table`` suffix in kebab case (SessionsTable -> local-sessions,
RateLimitsTable -> local-rate-limits).

Prints one ``VAR=name`` line per table on stdout (SessionsTable -> SESSIONS_TABLE=local-sessions),
the variable names the functions read. Idempotent: an existing table is left as it is (its TTL is
still switched on when the template asks for one). Progress goes to stderr.

    python scripts/create_tables.py --endpoint-url http://127.0.0.1:5005 [--prefix local]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form intrinsic tags.

    ``!Ref X`` becomes ``{"Ref": "X"}``, ``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``,
    any other ``!Name v`` becomes ``{"Fn::Name": v}`` (``!Sub``, ``!If``, ``!Equals``, ``!Join``, ...).
    """


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


def is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (
        "Ref" in value or next(iter(value)).startswith("Fn::")
    )


def plain(value: Any, what: str) -> Any:
    """Return value when it contains no intrinsic function; the readers of the template rely on it."""
    if is_intrinsic(value):
        raise SystemExit(f"create_tables: {what} uses an intrinsic function; keep it a plain value")
    if isinstance(value, dict):
        return {k: plain(v, f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{what}[{i}]") for i, v in enumerate(value)]
    return value


def kebab(logical_id: str) -> str:
    base = logical_id[: -len("Table")] if logical_id.endswith("Table") else logical_id
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", base).lower()


def env_var(logical_id: str) -> str:
    return kebab(logical_id).replace("-", "_").upper() + "_TABLE"


def table_request(name: str, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
    req: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": plain(props["AttributeDefinitions"], f"{logical_id}.AttributeDefinitions"),
        "KeySchema": plain(props["KeySchema"], f"{logical_id}.KeySchema"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            indexes = plain(props[key], f"{logical_id}.{key}")
            # Provisioned throughput / contributor insights settings do not apply on demand.
            req[key] = [
                {k: v for k, v in idx.items() if k in ("IndexName", "KeySchema", "Projection")}
                for idx in indexes
            ]
    return req


def ttl_attribute(logical_id: str, props: dict[str, Any]) -> str | None:
    spec = props.get("TimeToLiveSpecification")
    if not spec:
        return None
    spec = plain(spec, f"{logical_id}.TimeToLiveSpecification")
    return spec["AttributeName"] if spec.get("Enabled", False) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"),
        help="local DynamoDB endpoint (default: $AWS_ENDPOINT_URL_DYNAMODB or $AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--prefix", default="local", help="table name prefix (default: local)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args()

    if not args.endpoint_url:
        # Refuse to talk to real AWS by accident.
        parser.error("--endpoint-url (or AWS_ENDPOINT_URL) is required")

    template = load_template(Path(args.template))
    tables = {
        logical_id: res.get("Properties", {})
        for logical_id, res in template.get("Resources", {}).items()
        if res.get("Type") == "AWS::DynamoDB::Table"
    }
    if not tables:
        raise SystemExit(f"create_tables: no AWS::DynamoDB::Table in {args.template}")

    client = boto3.client(
        "dynamodb",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )

    for logical_id, props in tables.items():
        name = f"{args.prefix}-{kebab(logical_id)}"
        try:
            client.describe_table(TableName=name)
            print(f"create_tables: {name} exists, kept", file=sys.stderr)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            client.create_table(**table_request(name, logical_id, props))
            client.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
            print(f"create_tables: {name} created", file=sys.stderr)
        ttl = ttl_attribute(logical_id, props)
        if ttl:
            current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl, "Enabled": True},
                )
        print(f"{env_var(logical_id)}={name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
