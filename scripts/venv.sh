#!/usr/bin/env bash
# Create or refresh the project-local virtualenv (.venv) with the pinned tools of
# requirements-dev.txt. Reinstalls only when requirements-dev.txt changed since the
# last successful install (a copy of it is kept as the stamp file .venv/.requirements.stamp).
#
#   scripts/venv.sh            ensure the venv, print nothing when it is current
#   source scripts/venv.sh     same, and put .venv/bin first on PATH in the caller
#
# PYTHON selects the interpreter used to create it (default: python3, 3.9+).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail   # run as a script; when sourced, leave the caller's shell options alone
fi

_venv_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_venv_dir="$_venv_root/.venv"
_venv_req="$_venv_root/requirements-dev.txt"
_venv_stamp="$_venv_dir/.requirements.stamp"

if [[ ! -x "$_venv_dir/bin/python" ]]; then
    echo "venv: creating $_venv_dir" >&2
    "${PYTHON:-python3}" -m venv "$_venv_dir" ||
        { echo "venv: could not create $_venv_dir (python3 -m venv)" >&2; return 1 2>/dev/null || exit 1; }
    rm -f "$_venv_stamp"
fi

if ! cmp -s "$_venv_req" "$_venv_stamp"; then
    echo "venv: installing requirements-dev.txt (first run or the file changed)" >&2
    "$_venv_dir/bin/python" -m pip install --disable-pip-version-check --quiet -r "$_venv_req" &&
        cp "$_venv_req" "$_venv_stamp" ||
        { echo "venv: pip install failed" >&2; return 1 2>/dev/null || exit 1; }
fi

# cargo-lambda finds zig through the first python3 on PATH: the venv's must come first.
case ":$PATH:" in
    *":$_venv_dir/bin:"*) ;;
    *) export PATH="$_venv_dir/bin:$PATH" ;;
esac
export VIRTUAL_ENV="$_venv_dir"
