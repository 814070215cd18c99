# shellcheck shell=bash
# Helpers shared by scripts/dev.sh and scripts/test.sh. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"   # logs and generated files of the local stack (gitignored)

if [[ -t 2 ]]; then
    log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
else
    log() { printf '==> %s\n' "$*" >&2; }
fi
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Make sure .venv exists and is current, and put its bin/ first on PATH.
ensure_venv() {
    # shellcheck source=scripts/venv.sh
    source "$ROOT/scripts/venv.sh"
}

# Print a TCP port on 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_in_use() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

# Process groups started by start_group, stopped by stop_groups (from the traps).
STARTED_PIDS=()

# start_group LOGFILE CMD ARGS...: run CMD in the background in a new session (its own process group,
# so stopping it also stops whatever it spawned), output to LOGFILE; sets LAST_PID.
start_group() {
    local logfile="$1"; shift
    setsid "$@" >"$logfile" 2>&1 < /dev/null &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# Stop every process group start_group started: TERM, wait up to 10 s, then KILL.
stop_groups() {
    local pid i
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        # Whatever of the group is still there after 10 s (or outlived its leader) is killed.
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    STARTED_PIDS=()
}

# run_fg CMD ARGS...: run CMD to completion with this terminal's output and return its status, but
# in its own process group and waited for with `wait`, so a Ctrl-C or SIGTERM reaches this script's
# trap at once (bash defers traps while a plain foreground command runs, and ignores SIGINT when
# the command exits normally on it) and stop_groups can stop CMD with everything it spawned.
run_fg() {
    local pid status p kept=()
    setsid "$@" </dev/null &
    pid=$!
    STARTED_PIDS+=("$pid")
    if wait "$pid"; then status=0; else status=$?; fi
    for p in "${STARTED_PIDS[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
    STARTED_PIDS=("${kept[@]}")
    return "$status"
}

# start_moto PORT NAME: start moto_server on 127.0.0.1:PORT, logging to .local/moto-NAME.log, and wait
# until it answers (30 s at most).
start_moto() {
    local port="$1" logfile="$LOCAL_DIR/moto-$2.log" i
    mkdir -p "$LOCAL_DIR"
    if port_in_use "$port"; then
        die "port $port is already in use (another moto or make dev?); pick another with MOTO_PORT=..."
    fi
    log "starting moto on 127.0.0.1:$port (log: ${logfile#"$ROOT"/})"
    start_group "$logfile" moto_server -H 127.0.0.1 -p "$port"
    MOTO_PID=$LAST_PID
    for ((i = 0; i < 300; i++)); do
        if python3 -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || { cat "$logfile" >&2; die "moto_server exited during start-up"; }
        sleep 0.1
    done
    cat "$logfile" >&2
    die "moto_server did not answer on port $port within 30 s"
}

# Credentials and region for the local AWS endpoints: dummies, so nothing can reach a real account.
export_local_aws() {
    local endpoint="$1"
    export AWS_ENDPOINT_URL="$endpoint"
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SECRETS_MANAGER
    export AWS_EC2_METADATA_DISABLED=true
}
