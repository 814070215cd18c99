#!/usr/bin/env bash
# `make ghl-webhook EVENT=events/ghl/uninstall.json`: signs a HighLevel lifecycle payload the way
# HighLevel does (X-GHL-Signature: base64 Ed25519 over the raw body) with the local test key and
# posts it to the ghl-webhook function of a running `make dev`.
#
#   EVENT  the payload file (default events/ghl/install.json)
#   PORT   where `make dev` listens (9000)
#
# The payload gets a fresh webhookId and timestamp = now (deliveries older than 5 minutes are
# refused), unless REPLAY=1 re-sends the last posted body as it was (shows the idempotency replay).
# The key pair is .local/ghl-webhook-ed25519.pem (scripts/ghl_webhook_key.py creates it once);
# `make dev` sets GHL_WEBHOOK_PUBLIC_KEY to its public half unless you set that variable yourself.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

EVENT="${EVENT:-events/ghl/install.json}"
PORT="${PORT:-9000}"
URL="http://127.0.0.1:$PORT/webhooks/ghl"
[[ -f "$EVENT" ]] || die "no such event file: $EVENT"
command -v curl >/dev/null || die "curl is required"
ensure_venv

mkdir -p "$LOCAL_DIR"
BODY_FILE="$LOCAL_DIR/ghl-webhook-last-body.json"
if [[ "${REPLAY:-0}" != 1 || ! -f "$BODY_FILE" ]]; then
    python - "$EVENT" "$BODY_FILE" <<'PY'
import datetime, json, sys, uuid
source, body_path = sys.argv[1:3]
try:
    event = json.load(open(source))
except ValueError as err:
    sys.exit(f"ghl_webhook: {source} is not JSON: {err}")
event["webhookId"] = str(uuid.uuid4())
now = datetime.datetime.now(datetime.timezone.utc)
event["timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
open(body_path, "wb").write(json.dumps(event, separators=(",", ":")).encode())
print(f"ghl_webhook: posting {event.get('type')} {event['webhookId']} to the local stack", file=sys.stderr)
PY
fi
SIGNATURE="$(python scripts/ghl_webhook_key.py sign "$BODY_FILE")"

curl -sS -X POST "$URL" \
    -H 'content-type: application/json' \
    -H "x-ghl-signature: $SIGNATURE" \
    --data-binary "@$BODY_FILE" \
    -w '\nHTTP %{http_code}\n'
