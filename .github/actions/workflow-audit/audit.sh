#!/usr/bin/env bash
# The commands the workflow-audit Action runs (action.yml), in one script so that
# shared/analyzer/tests/action.rs runs exactly them against the repo's own sample exports.
#
# Audits every *.json under AUDIT_PATH (exported workflows, bodies or bundles; *.fixed.json
# skipped) with the workflow-audit binary WORKFLOW_AUDIT:
#   MODE=audit (default): one SARIF log per file, merged into SARIF_FILE (one run, so code
#     scanning takes it in one upload); each file compared with its baseline
#     BASELINE_DIR/<path under AUDIT_PATH> when there is one, and failed per FAIL_ON
#     (default new:high: only findings the baseline does not have; a file without a baseline
#     has nothing old, so every finding of it is new).
#   MODE=baseline: writes BASELINE_DIR/<path under AUDIT_PATH> (the --format json output) for
#     every file, to commit.
# Exit status: 0 nothing reached FAIL_ON, 1 something did (after writing SARIF_FILE), 2 a file
# could not be audited. GitHub annotations (::error) name the failing files.
set -uo pipefail

bin=${WORKFLOW_AUDIT:?WORKFLOW_AUDIT is the workflow-audit binary}
src=${AUDIT_PATH:?AUDIT_PATH is the folder of exported workflows}
src=${src%/}
mode=${MODE:-audit}
baselines=${BASELINE_DIR:-}
baselines=${baselines%/}
fail_on=${FAIL_ON:-new:high}
sarif_file=${SARIF_FILE:-workflow-audit.sarif}
config=${CONFIG:-}

if [ ! -d "$src" ]; then
  echo "::error::workflow-audit: $src is not a folder"
  exit 2
fi
mapfile -d '' files < <(find "$src" -type f -name '*.json' ! -name '*.fixed.json' -print0 | sort -z)
if [ "${#files[@]}" -eq 0 ]; then
  echo "::error::workflow-audit: no *.json under $src"
  exit 2
fi
config_args=()
if [ -n "$config" ]; then
  config_args=(--config "$config")
fi

if [ "$mode" = baseline ]; then
  : "${baselines:?BASELINE_DIR is where baselines are written}"
  for file in "${files[@]}"; do
    rel=${file#"$src"/}
    mkdir -p "$(dirname "$baselines/$rel")"
    "$bin" "$file" --format json "${config_args[@]}" > "$baselines/$rel" || {
      echo "::error file=$file::workflow-audit could not audit $file"
      exit 2
    }
    echo "baseline $baselines/$rel"
  done
  exit 0
fi

parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT
status=0
n=0
for file in "${files[@]}"; do
  rel=${file#"$src"/}
  args=("$file" --format sarif "${config_args[@]}")
  threshold=$fail_on
  if [ -n "$baselines" ] && [ -f "$baselines/$rel" ]; then
    args+=(--baseline "$baselines/$rel")
  else
    # Nothing to compare with: every finding is new.
    threshold=${fail_on#new:}
  fi
  args+=(--fail-on "$threshold")
  n=$((n + 1))
  "$bin" "${args[@]}" > "$parts/$(printf '%05d' "$n").sarif"
  rc=$?
  case $rc in
    0) echo "ok $file" ;;
    1) echo "::error file=$file::workflow-audit: findings at --fail-on $threshold in $file"
       status=1 ;;
    *) echo "::error file=$file::workflow-audit could not audit $file (exit $rc)"
       exit 2 ;;
  esac
done

# One run: the driver (the same for every file) and every file's artifacts and results.
jq -s '{
  "$schema": .[0]["$schema"],
  version: .[0].version,
  runs: [{
    tool: .[0].runs[0].tool,
    artifacts: [.[].runs[0].artifacts[]],
    results: [.[].runs[0].results[]],
    properties: {files: [.[].runs[0] | {uri: .artifacts[0].location.uri} + .properties]}
  }]
}' "$parts"/*.sarif > "$sarif_file" || exit 2
echo "wrote $sarif_file ($n files)"
exit "$status"
