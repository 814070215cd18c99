#!/usr/bin/env bash
# `make dev`: the whole backend on this machine, no AWS account, no Docker.
#
#   1. .venv with the pinned cargo-lambda, moto and cfn-lint (scripts/venv.sh)
#   2. moto_server on 127.0.0.1:$MOTO_PORT (DynamoDB + Secrets Manager + SQS)
#   3. the tables and queues of template.yaml (scripts/create_tables.py, scripts/create_queues.py)
#      and the secret (scripts/seed_secret.py)
#   4. cargo build --workspace, so the first request does not wait for a compile
#   5. the erasure queue's event source (scripts/erasure_bridge.py: batches to the erasure worker
#      through watch's invoke endpoint; log: .local/erasure-bridge-$PORT.log)
#   6. cargo lambda watch on 127.0.0.1:$PORT, routing like API Gateway (Cargo.toml's router)
#
# Settings (environment of the caller wins; docs/LOCAL_STACK.md):
#   PORT (9000) MOTO_PORT (5005) STAGE (dev) ENABLE_TEST_ROUTES (true in dev: the /test/* routes)
#   FRONTEND_URL (http://localhost:5173)
#   GHL_CLIENT_ID (dev-client-id) GHL_REDIRECT_URI (http://localhost:$PORT/auth/callback)
#   GHL_API_BASE_URL GHL_AUTH_URL STRIPE_API_BASE_URL (the real services)
#   STRIPE_PRICE_ID (price_1QJsamplePrice0001, the price of events/stripe/) LOG_LEVEL (info)
#   TABLE_PREFIX (local)
#   GHL_CLIENT_SECRET STRIPE_SECRET_KEY STRIPE_WEBHOOK_SECRET TOKEN_ENCRYPTION_KEY (secret; dev defaults)
#   GHL_WEBHOOK_PUBLIC_KEY (the public half of .local/ghl-webhook-ed25519.pem, which
#   `make ghl-webhook` signs with; scripts/ghl_webhook_key.py) GHL_WEBHOOK_TOLERANCE_SECS (3900)
#   UNINSTALL_RESULTS_RETENTION_DAYS (0)
#   SKIP_BUILD=1 skips step 4.
# Stopping (docs/LOCAL_STACK.md, "Stopping"): Ctrl-C, SIGTERM (to this script, to make or to the
# process group), SIGHUP, any exit, even a SIGKILL of this script, stop watch, the functions and
# moto; the ports are free again within a few seconds. A second `make dev` on the same ports waits
# for a first one that is still stopping, and refuses while it runs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PORT="${PORT:-9000}"
MOTO_PORT="${MOTO_PORT:-5005}"
TABLE_PREFIX="${TABLE_PREFIX:-local}"

# Ctrl-C, SIGTERM (to the script, to `make`, or to the process group), SIGHUP and every exit stop
# the whole stack before the script ends; if the script dies anyway, its supervisor does it (lib.sh).
stack_traps "stopping the local stack"
[[ "$PORT" != "$MOTO_PORT" ]] || die "PORT and MOTO_PORT must differ"
# Both ports stay this stack's until every process of it is gone: a second `make dev` on them waits
# for a first one that is still stopping, and refuses while it runs.
stack_claim_port "$PORT"
stack_claim_port "$MOTO_PORT"
stack_init "dev-$PORT"

ensure_venv
port_in_use "$PORT" && die "port $PORT is already in use; choose another with PORT=..."

start_moto "$MOTO_PORT" "dev-$MOTO_PORT"
export_local_aws "http://127.0.0.1:$MOTO_PORT"

log "creating the tables of template.yaml"
out="$(python scripts/create_tables.py --prefix "$TABLE_PREFIX")"
mapfile -t TABLE_VARS <<<"$out"
log "creating the queues of template.yaml"
out="$(python scripts/create_queues.py --prefix "$TABLE_PREFIX")"
mapfile -t QUEUE_VARS <<<"$out"
log "seeding the secret"
out="$(python scripts/seed_secret.py --name "ghl-workflow-analyzer/$TABLE_PREFIX")"
mapfile -t SECRET_VARS <<<"$out"
# HighLevel signs its webhooks with a key only it holds: locally, a key pair of our own.
GHL_WEBHOOK_PUBLIC_KEY="${GHL_WEBHOOK_PUBLIC_KEY:-$(python scripts/ghl_webhook_key.py public)}"

# Everything the functions receive. Values come from the caller's environment when set. They are
# written to an env file for `cargo lambda watch --env-file` (not --env-var, which splits on commas)
# and exported as well. Never put these in Cargo.toml's [workspace.metadata.lambda.env]: that would
# override the caller's values.
FUNCTION_ENV=(
    "STAGE=${STAGE:-dev}"
    "ENABLE_TEST_ROUTES=${ENABLE_TEST_ROUTES:-$([[ "${STAGE:-dev}" == dev ]] && echo true || echo false)}"
    "FRONTEND_URL=${FRONTEND_URL:-http://localhost:5173}"
    "GHL_CLIENT_ID=${GHL_CLIENT_ID:-dev-client-id}"
    "GHL_REDIRECT_URI=${GHL_REDIRECT_URI:-http://localhost:$PORT/auth/callback}"
    "GHL_API_BASE_URL=${GHL_API_BASE_URL:-https://services.leadconnectorhq.com}"
    "GHL_AUTH_URL=${GHL_AUTH_URL:-https://marketplace.gohighlevel.com/oauth/chooselocation}"
    "STRIPE_API_BASE_URL=${STRIPE_API_BASE_URL:-https://api.stripe.com}"
    "STRIPE_PRICE_ID=${STRIPE_PRICE_ID:-price_1QJsamplePrice0001}"
    "LOG_LEVEL=${LOG_LEVEL:-info}"
    "GHL_APP_ID=${GHL_APP_ID:-6650f2c1a9d3e4b5c6d7e8f9}"
    "GHL_WEBHOOK_PUBLIC_KEY=$GHL_WEBHOOK_PUBLIC_KEY"
    "GHL_WEBHOOK_TOLERANCE_SECS=${GHL_WEBHOOK_TOLERANCE_SECS:-3900}"
    "UNINSTALL_RESULTS_RETENTION_DAYS=${UNINSTALL_RESULTS_RETENTION_DAYS:-0}"
    "${TABLE_VARS[@]}"
    "${QUEUE_VARS[@]}"
    "${SECRET_VARS[@]}"
    "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
    "AWS_REGION=$AWS_REGION"
    "AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION"
    "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
    "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
    "AWS_EC2_METADATA_DISABLED=true"
)
ENV_FILE="$LOCAL_DIR/dev-$PORT.env"   # per port: two `make dev` on different ports do not collide
: >"$ENV_FILE"
for kv in "${FUNCTION_ENV[@]}"; do
    value="${kv#*=}"
    [[ "$value" != *"'"* && "$value" != *$'\n'* ]] || die "${kv%%=*} must not contain a quote or a newline"
    printf "%s='%s'\n" "${kv%%=*}" "$value" >>"$ENV_FILE"
    export "${kv?}"
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --workspace (so the first request does not wait; takes minutes on a clean target)"
    run_fg cargo build --workspace || die "cargo build failed"
fi

# Lambda's SQS event source, locally: a member of the stack, stopped with it.
start_group "$LOCAL_DIR/erasure-bridge-$PORT.log" python scripts/erasure_bridge.py \
    --queue-url "$ERASURE_QUEUE_URL" \
    --invoke-url "http://127.0.0.1:$PORT/2015-03-31/functions/erasure/invocations"
log "erasure bridge: $ERASURE_QUEUE_URL -> erasure (log: .local/erasure-bridge-$PORT.log)"

log "cargo lambda watch on http://127.0.0.1:$PORT (functions' env: ${ENV_FILE#"$ROOT"/})"
for kv in "${FUNCTION_ENV[@]}"; do
    case "$kv" in AWS_SECRET_ACCESS_KEY=* | AWS_ACCESS_KEY_ID=*) ;; *) printf '    %s\n' "$kv" >&2 ;; esac
done
cat >&2 <<EOF

    try:  curl -s http://127.0.0.1:$PORT/health/detailed
    stripe webhook (function URL): http://127.0.0.1:$PORT/lambda-url/stripe-webhook/
    HighLevel webhook: make ghl-webhook EVENT=events/ghl/install.json (signed with the local key)
    stop: Ctrl-C

EOF
# A session of its own: the function processes watch spawns (each in a process group of its own)
# stay in it, and the stop finds them all (lib.sh: run_fg, "The stack").
run_fg cargo lambda watch -A 127.0.0.1 -P "$PORT" --disable-cors --env-file "$ENV_FILE"
