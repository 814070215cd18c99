#!/usr/bin/env python3
"""Create or update the application's secrets in a local Secrets Manager (moto).

One secret per purpose, as template.yaml has them, each a JSON object with its field; each
function reads only the ones whose id variable it is given (shared/core/src/secrets.rs):

    id variable               secret name (under --name)    field
    GHL_CLIENT_SECRET_ID      <name>/ghl-client             ghlClientSecret
    TOKEN_KEY_SECRET_ID       <name>/token-key              tokenEncryptionKey
    STRIPE_API_KEY_SECRET_ID  <name>/stripe-api-key         stripeSecretKey
    STRIPE_WEBHOOK_SECRET_ID  <name>/stripe-webhook         stripeWebhookSecret

Each value comes from the caller's environment when set, else from a development default:

    GHL_CLIENT_SECRET      dev-ghl-client-secret
    STRIPE_SECRET_KEY      sk_test_dev_local_not_a_real_key
    STRIPE_WEBHOOK_SECRET  whsec_dev_local_webhook_secret
    TOKEN_ENCRYPTION_KEY   6465762d6f6e6c792d6b65792d646f2d6e6f742d7573652d696e2d70726f6421
                           (64 hex characters = the bytes of "dev-only-key-do-not-use-in-prod!")

The defaults are public: they are for a laptop and for tests only. Sign local Stripe test events
with STRIPE_WEBHOOK_SECRET's value (e.g. `stripe listen` prints a whsec_ to export before `make dev`).

Prints one ``<ID_VARIABLE>=<secret name>`` line per secret on stdout (`make dev` gives all four to
every function: locally there is no IAM); progress goes to stderr. Never prints secret values.

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

SECRETS = [
    # id variable, name suffix, JSON field, environment variable, development default
    ("GHL_CLIENT_SECRET_ID", "ghl-client", "ghlClientSecret", "GHL_CLIENT_SECRET", "dev-ghl-client-secret"),
    (
        "TOKEN_KEY_SECRET_ID",
        "token-key",
        "tokenEncryptionKey",
        "TOKEN_ENCRYPTION_KEY",
        "6465762d6f6e6c792d6b65792d646f2d6e6f742d7573652d696e2d70726f6421",
    ),
    ("STRIPE_API_KEY_SECRET_ID", "stripe-api-key", "stripeSecretKey", "STRIPE_SECRET_KEY",
     "sk_test_dev_local_not_a_real_key"),
    ("STRIPE_WEBHOOK_SECRET_ID", "stripe-webhook", "stripeWebhookSecret", "STRIPE_WEBHOOK_SECRET",
     "whsec_dev_local_webhook_secret"),
]


def value_of(field: str, var: str, default: str) -> str:
    value = os.environ.get(var) or default
    source = "environment" if os.environ.get(var) else "dev default"
    print(f"seed_secret: {field} from {source} ({var})", file=sys.stderr)
    if field == "tokenEncryptionKey" and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise SystemExit("seed_secret: TOKEN_ENCRYPTION_KEY must be 64 hex characters (32 bytes)")
    return value


def put(client, name: str, value: str) -> None:
    try:
        client.create_secret(Name=name, Description="GHL Workflow Analyzer local development secret",
                             SecretString=value)
        print(f"seed_secret: {name} created", file=sys.stderr)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceExistsException":
            raise
        client.put_secret_value(SecretId=name, SecretString=value)
        print(f"seed_secret: {name} updated", file=sys.stderr)


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
    for id_var, suffix, field, var, default in SECRETS:
        name = f"{args.name}/{suffix}"
        put(client, name, json.dumps({field: value_of(field, var, default)}))
        print(f"{id_var}={name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
