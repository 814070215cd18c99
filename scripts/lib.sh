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

# ---- The stack: everything the script starts, and what stops it -------------------------------------
#
# stack_init exports LOCAL_STACK_ID, which every process started from then on inherits, and starts
# scripts/stack.py supervise: a child of the script in a session of its own, so no signal sent to the
# script's process group (Ctrl-C, SIGTERM to the group, a hangup) reaches it. start_group and run_fg
# run each command in a new session (setsid): terminal signals do not reach them, and stopping finds
# their whole tree. The supervisor stops the stack (SIGTERM to every process carrying the id or in one
# of its sessions, SIGKILL after STACK_GRACE seconds, default 5, rescanning until none is left) when
# stack_stop asks, or by itself when the script is gone however it ended, SIGKILL included.
#
# Why (issue 21): the old traps ran `exit 143` and then cleaned up in the EXIT trap, in the script.
# `make` forwards a SIGTERM it receives to its child, so a SIGTERM to `make dev`'s process group
# reaches the script twice; when the second one landed inside the EXIT trap, before or after its
# `trap - TERM`, it ended the script with the cleanup not done (and a Ctrl-C pressed twice, a closed
# terminal or a SIGKILL did the same), leaving moto and watch running. Now the script only asks; the
# stop itself runs where no signal of the script's can interrupt it.
STACK_SUPERVISOR=""
STACK_LOCKS=()
STACK_STOP_MESSAGE=""
# The commands start_group and run_fg started (the session leaders); kept for the scripts' traps.
STARTED_PIDS=()

# stack_init [NAME]: see above; its log is .local/stack-NAME.log. Idempotent; start_group and run_fg
# call it. Must run in the script's own shell (not in a subshell or a command substitution).
stack_init() {
    [[ -z "$STACK_SUPERVISOR" ]] || return 0
    [[ "${BASHPID:-$$}" == "$$" ]] || die "stack_init: not in the script's main shell"
    local name="${1:-$(basename "$0" .sh)}"
    mkdir -p "$LOCAL_DIR"
    export LOCAL_STACK_ID="$name-$$-$RANDOM$RANDOM"
    # Ignoring INT/TERM/HUP/USR1/USR2 covers the few ms before it has its own session and handlers.
    (
        trap '' INT TERM HUP USR1 USR2
        exec python3 "$ROOT/scripts/stack.py" supervise --id "$LOCAL_STACK_ID" --parent "$$"
    ) >>"$LOCAL_DIR/stack-$name.log" 2>&1 </dev/null &
    STACK_SUPERVISOR=$!
}

# stack_traps MESSAGE: from now on every exit of the script stops the stack first (stack_stop, which
# logs MESSAGE), and Ctrl-C, SIGTERM and SIGHUP stop it and exit with 130, 143, 129. The stop runs
# inside the signal's own trap, not after an `exit`, and only returns once everything is gone.
stack_traps() {
    STACK_STOP_MESSAGE="$1"
    trap 'stack_stop' EXIT
    trap 'stack_stop; exit 130' INT
    trap 'stack_stop; exit 143' TERM
    trap 'stack_stop; exit 129' HUP
}

# stack_stop: ask the supervisor to stop the stack and wait until it has (at most STACK_GRACE + 10 s).
# Safe to call again (from a nested trap) and when nothing was started. While it waits, another Ctrl-C
# only skips the grace period, and SIGTERM, SIGHUP (make sends its child the SIGTERM it gets, so a
# SIGTERM to the group arrives twice) and SIGPIPE (the terminal may be gone) are ignored.
stack_stop() {
    trap 'stack_hurry' INT
    trap '' TERM HUP PIPE
    local pid="$STACK_SUPERVISOR" lock
    if [[ -n "$pid" ]]; then
        for lock in "${STACK_LOCKS[@]}"; do printf '%s stopping\n' "$$" 2>/dev/null >"$lock" || true; done
        [[ -z "$STACK_STOP_MESSAGE" ]] || log "$STACK_STOP_MESSAGE" || true
        # Repeated: the supervisor may not have set up its handlers yet (it then ignores the signal).
        # The sleeps do not carry the stack's id: the supervisor is not to chase them.
        while kill -0 "$pid" 2>/dev/null; do
            kill -USR1 "$pid" 2>/dev/null || true
            LOCAL_STACK_ID="" sleep 0.1 || true
        done
    fi
    STACK_SUPERVISOR=""
    STARTED_PIDS=()
}
stack_hurry() { [[ -z "$STACK_SUPERVISOR" ]] || kill -USR2 "$STACK_SUPERVISOR" 2>/dev/null || true; }

# stack_claim_port PORT: make PORT this script's until every process of its stack is gone: a lock on
# .local/port-PORT.lock, held through a descriptor every process of the stack inherits. If the stack
# of an earlier `make dev` still holds it: refuse when that script is still running (seen so for 3 s:
# a stack just sent SIGTERM marks itself stopping only once its trap runs), else
# wait up to STACK_CLAIM_WAIT seconds (30) for it to be gone. Call it before stack_init, so the
# supervisor holds the lock until it has stopped everything.
stack_claim_port() {
    local port="$1" file="$LOCAL_DIR/port-$1.lock" fd
    mkdir -p "$LOCAL_DIR"
    exec {fd}<>"$file"
    python3 "$ROOT/scripts/stack.py" claim --fd "$fd" --file "$file" --port "$port" --owner "$$" \
        --wait "${STACK_CLAIM_WAIT:-30}" || exit 1
    STACK_LOCKS+=("$file")
}

# start_group LOGFILE CMD ARGS...: run CMD in the background in a new session (see "The stack"),
# output to LOGFILE; sets LAST_PID.
start_group() {
    local logfile="$1"; shift
    stack_init ""
    setsid "$@" >"$logfile" 2>&1 < /dev/null &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# Stop everything the script started (stack_stop; the name the scripts' traps use).
stop_groups() {
    stack_stop
}

# run_fg CMD ARGS...: run CMD to completion with this terminal's output and return its status, but
# in a session of its own and waited for with `wait`, so a Ctrl-C or SIGTERM reaches this script's
# trap at once (bash defers traps while a plain foreground command runs, and ignores SIGINT when
# the command exits normally on it) and the stop finds CMD with everything it spawned.
run_fg() {
    local pid status p kept=()
    stack_init ""
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
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SECRETS_MANAGER AWS_ENDPOINT_URL_SQS
    export AWS_EC2_METADATA_DISABLED=true
}
