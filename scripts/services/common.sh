# shellcheck shell=bash
# Shared helpers for scripts/services/*.sh. Source it; do not run it.
#
# Conventions of every service script:
#   - stdout carries only the service URL (start / url); progress goes to stderr;
#   - state (port, pid, data, logs) lives in ${TRAFFICCAST_SERVICES_DIR:-<repo>/.services}/<name>;
#   - services listen on 127.0.0.1 only and are stopped by PID.

SERVICES_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_LIB_DIR/../.." && pwd)"
SERVICES_DIR="${TRAFFICCAST_SERVICES_DIR:-$REPO_ROOT/.services}"
# shellcheck disable=SC2034  # used by the scripts that source this file
CACHE_DIR="${TRAFFICCAST_CACHE:-$HOME/.cache/trafficcast}"

# log MESSAGE...: progress to stderr, prefixed with the script's name.
log() {
    printf '[%s] %s\n' "${SERVICE_NAME:-services}" "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# state_dir NAME: create and print the state folder of a service (absolute path).
state_dir() {
    local dir="$SERVICES_DIR/$1"
    mkdir -p "$dir"
    (cd "$dir" && pwd)
}

# python_bin: a Python 3 interpreter for small helpers (system python3, else the venv's).
python_bin() {
    if command -v python3 >/dev/null 2>&1; then
        command -v python3
    elif [[ -x "$REPO_ROOT/.venv/bin/python" ]]; then
        printf '%s\n' "$REPO_ROOT/.venv/bin/python"
    else
        die "python3 is needed (to pick free ports)"
    fi
}

# free_port: print a TCP port that is free on 127.0.0.1 right now.
free_port() {
    "$(python_bin)" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# kept_port FILE: print the port stored in FILE, picking and storing a free one first if absent.
# EXCLUDE (optional second argument): a port that must not be chosen.
kept_port() {
    local file="$1" exclude="${2:-}" port
    if [[ -s "$file" ]]; then
        cat "$file"
        return 0
    fi
    port="$(free_port)"
    while [[ -n "$exclude" && "$port" == "$exclude" ]]; do
        port="$(free_port)"
    done
    printf '%s\n' "$port" >"$file"
    printf '%s\n' "$port"
}

# pid_alive PID [PATTERN]: true if PID is a live process (not a zombie) whose
# command line contains PATTERN (when given), so a recycled PID is not mistaken.
pid_alive() {
    local pid="$1" pattern="${2:-}" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/stat" ]]; then
        state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
        [[ "$state" == "Z" ]] && return 1
    fi
    if [[ -n "$pattern" && -r "/proc/$pid/cmdline" ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    fi
    return 0
}

# pidfile_pid FILE: print the PID in the first line of FILE (empty if absent).
pidfile_pid() {
    if [[ -s "$1" ]]; then
        head -n 1 "$1" | tr -d '[:space:]'
    fi
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port_closed PORT SECONDS: wait until nothing listens on PORT.
wait_port_closed() {
    local port="$1" limit="$2" waited=0
    while port_open "$port"; do
        ((waited >= limit * 10)) && return 1
        sleep 0.1
        waited=$((waited + 1))
    done
    return 0
}

# kill_pid PID PATTERN SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL; wait until gone.
kill_pid() {
    local pid="$1" pattern="$2" limit="$3" waited=0
    pid_alive "$pid" "$pattern" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while pid_alive "$pid" "$pattern"; do
        if ((waited >= limit * 10)); then
            log "pid $pid still alive after ${limit}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            waited=0
            while pid_alive "$pid" "$pattern" && ((waited < 100)); do
                sleep 0.1
                waited=$((waited + 1))
            done
            pid_alive "$pid" "$pattern" && return 1
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    return 0
}

# as_root CMD...: run CMD as root (directly when root, else with sudo).
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

_APT_UPDATED=0
# apt_install PKG...: install Debian packages (apt-get update once per script run).
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
    local apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
    if [[ "$_APT_UPDATED" -eq 0 ]]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -q >&2
        _APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q \
        --no-install-recommends "$@" >&2
}

# usage SCRIPT: print the usage and exit 2.
usage() {
    printf 'usage: %s {start|stop|status|url|pid|destroy}\n' "$1" >&2
    exit 2
}
