#!/usr/bin/env bash
# `make test`: everything CI checks, in order, against a private moto on a free port.
#
#   cargo fmt --all --check
#   cargo clippy --workspace --all-targets -- -D warnings
#   cfn-lint template.yaml
#   cargo test --workspace
#   scripts/test_erasure_bridge.py (the local SQS event source against the same moto)
#   scripts/test_dev_stop.py   (`make dev` stops everything it started, every way it can be stopped)
#
# Every step runs even when an earlier one failed (one run shows every problem); the script exits
# non-zero when any failed. moto is stopped on every exit path, Ctrl-C included. The Rust tests
# create the tables they need from template.yaml themselves, against AWS_ENDPOINT_URL.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -- --nocapture`).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

cleanup() {
    trap - INT TERM EXIT
    if ((${#STARTED_PIDS[@]})); then
        log "stopping moto"
        stop_groups
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_venv

MOTO_PORT="${MOTO_PORT:-$(free_port)}"
start_moto "$MOTO_PORT" test
export_local_aws "http://127.0.0.1:$MOTO_PORT"
log "moto: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"

FAILED=()
step() {
    log "$*"
    local start=$SECONDS
    if run_fg "$@"; then
        log "ok ($((SECONDS - start)) s): $*"
    else
        log "FAILED ($((SECONDS - start)) s): $*"
        FAILED+=("$*")
    fi
}

step cargo fmt --all --check
step cargo clippy --workspace --all-targets -- -D warnings
step cfn-lint template.yaml
step cargo test --workspace "$@"
step python3 scripts/test_erasure_bridge.py
step python3 scripts/test_dev_stop.py

if ((${#FAILED[@]})); then
    printf 'make test: %d step(s) failed:\n' "${#FAILED[@]}" >&2
    printf '    %s\n' "${FAILED[@]}" >&2
    exit 1
fi
log "make test: every step succeeded"
