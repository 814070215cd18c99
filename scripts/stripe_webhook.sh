#!/usr/bin/env bash
# `make stripe-webhook EVENT=events/stripe/checkout.session.completed.json`: signs a Stripe event
# payload the way Stripe does (Stripe-Signature: t=<now>,v1=HMAC-SHA256("<t>.<raw body>")) with the
# local webhook secret and posts it to the stripe-webhook function of a running `make dev`.
#
#   EVENT                  the payload file (default events/stripe/checkout.session.completed.json)
#   PORT                   where `make dev` listens (9000); the function URL is /lambda-url/stripe-webhook/
#   STRIPE_WEBHOOK_SECRET  the signing secret (default: scripts/seed_secret.py's dev default)
#   FRESH=1                give the event a new id and `created` = now, so it is not a replay of an
#                          earlier delivery (without it, posting the same file twice shows idempotency)
#
# The secret and the signature are never printed; the function's answer is.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

EVENT="${EVENT:-events/stripe/checkout.session.completed.json}"
PORT="${PORT:-9000}"
URL="http://127.0.0.1:$PORT/lambda-url/stripe-webhook/"
[[ -f "$EVENT" ]] || die "no such event file: $EVENT"
command -v curl >/dev/null || die "curl is required"

BODY_FILE="$(mktemp)"
HEADER_FILE="$(mktemp)"
trap 'rm -f "$BODY_FILE" "$HEADER_FILE"' EXIT

# Python (stdlib only) writes the exact bytes to send and the signature header; the secret reaches
# it through the environment, never the command line.
STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_dev_local_webhook_secret}" FRESH="${FRESH:-0}" \
python3 - "$EVENT" "$BODY_FILE" "$HEADER_FILE" <<'PY'
import hashlib, hmac, json, os, secrets, sys, time
source, body_path, header_path = sys.argv[1:4]
body = open(source, "rb").read()
try:
    event = json.loads(body)
except ValueError as err:
    sys.exit(f"stripe_webhook: {source} is not JSON: {err}")
if os.environ.get("FRESH") == "1":
    event["id"] = "evt_local_" + secrets.token_hex(8)
    event["created"] = int(time.time())
    body = json.dumps(event, separators=(",", ":")).encode()
now = int(time.time())
key = os.environ["STRIPE_WEBHOOK_SECRET"].encode()
signature = hmac.new(key, f"{now}.".encode() + body, hashlib.sha256).hexdigest()
open(body_path, "wb").write(body)
open(header_path, "w").write(f"stripe-signature: t={now},v1={signature}\n")
print(f"stripe_webhook: posting {event.get('type')} {event.get('id')} to the local stack", file=sys.stderr)
PY

curl -sS -X POST "$URL" \
    -H 'content-type: application/json; charset=utf-8' \
    -H 'user-agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)' \
    -H "@$HEADER_FILE" \
    --data-binary "@$BODY_FILE" \
    -w '\nHTTP %{http_code}\n'
