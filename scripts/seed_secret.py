#!/usr/bin/env python3
"""Create or update the application secret in a local Secrets Manager (moto).

The secret holds the JSON document the functions read through SECRET_ID:

    {"ghlClientSecret": ..., "stripeSecretKey": ..., "stripeWebhookSecret": ..., "tokenEncryptionKey": ...}

Each value comes from the caller's environment when set, else from a development default:

    GHL_CLIENT_SECRET      dev-ghl-client-secret
    STRIPE_SECRET_KEY      sk_test_dev_local_not_a_real_key
    STRIPE_WEBHOOK_SECRET  whsec_dev_local_webhook_secret
    TOKEN_ENCRYPTION_KEY   6465762d6f6e6c792d6b65792d646f2d6e6f742d7573652d696e2d70726f6421
                           (64 hex characters = the bytes of "dev-only-key-do-not-use-in-prod!")

The defaults are public: they are for a laptop and for tests only. Sign local Stripe test events
with STRIPE_WEBHOOK_SECRET's value (e.g. `stripe listen` prints a whsec_ to export before `make dev`).

Prints ``SECRET_ID=<name>`` on stdout; progress goes to stderr. Never prints secret values.

    python scripts/seed_secret.py --endpoint-url http://127.0.0.1:5005 [--name ghl-workflow-analyzer/local]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

import boto3
from botocore.exceptions import ClientError

DEV_DEFAULTS = {
    # JSON key           environment variable       development default
    "ghlClientSecret": ("GHL_CLIENT_SECRET", "dev-ghl-client-secret"),
    "stripeSecretKey": ("STRIPE_SECRET_KEY", "sk_test_dev_local_not_a_real_key"),
    "stripeWebhookSecret": ("STRIPE_WEBHOOK_SECRET", "whsec_dev_local_webhook_secret"),
    "tokenEncryptionKey": (
        "TOKEN_ENCRYPTION_KEY",
        "6465762d6f6e6c792d6b65792d646f2d6e6f742d7573652d696e2d70726f6421",
    ),
}


def secret_document() -> dict[str, str]:
    doc = {}
    for key, (var, default) in DEV_DEFAULTS.items():
        value = os.environ.get(var) or default
        source = "environment" if os.environ.get(var) else "dev default"
        print(f"seed_secret: {key} from {source} ({var})", file=sys.stderr)
        doc[key] = value
    if not re.fullmatch(r"[0-9a-fA-F]{64}", doc["tokenEncryptionKey"]):
        raise SystemExit("seed_secret: TOKEN_ENCRYPTION_KEY must be 64 hex characters (32 bytes)")
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or os.environ.get("AWS_ENDPOINT_URL"),
        help="local Secrets Manager endpoint (default: $AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--name", default="ghl-workflow-analyzer/local")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args()
    if not args.endpoint_url:
        parser.error("--endpoint-url (or AWS_ENDPOINT_URL) is required")

    client = boto3.client(
        "secretsmanager",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    value = json.dumps(secret_document())
    try:
        client.create_secret(
            Name=args.name,
            Description="GHL Workflow Analyzer local development secret",
            SecretString=value,
        )
        print(f"seed_secret: {args.name} created", file=sys.stderr)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceExistsException":
            raise
        client.put_secret_value(SecretId=args.name, SecretString=value)
        print(f"seed_secret: {args.name} updated", file=sys.stderr)
    print(f"SECRET_ID={args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
