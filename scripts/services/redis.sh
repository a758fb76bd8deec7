#!/usr/bin/env bash
# A throwaway Redis for development and tests, on 127.0.0.1 only, without persistence.
#
#   scripts/services/redis.sh start    # install if missing, start daemonized; prints the URL
#   scripts/services/redis.sh stop     # stop by PID, wait until gone
#   scripts/services/redis.sh status   # exit 0 if running, else 1
#   scripts/services/redis.sh url      # print redis://127.0.0.1:PORT/0
#   scripts/services/redis.sh pid      # print the server's PID if running, else exit 1
#   scripts/services/redis.sh destroy  # stop and delete the state folder
#
# State: ${TRAFFICCAST_SERVICES_DIR:-<repo>/.services}/redis (port, redis.conf, pid, log). The
# port is picked at first start and kept, so stop+start comes back on the same URL.
set -euo pipefail
SERVICE_NAME=redis
# shellcheck source=scripts/services/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STATE="$(state_dir redis)"
PORT_FILE="$STATE/port"
PID_FILE="$STATE/redis.pid"

redis_pid() { pidfile_pid "$PID_FILE"; }

running() {
    local pid
    pid="$(redis_pid)"
    [[ -n "$pid" ]] && pid_alive "$pid" redis-server
}

url() {
    [[ -s "$PORT_FILE" ]] || die "no port yet: run start first"
    printf 'redis://127.0.0.1:%s/0\n' "$(cat "$PORT_FILE")"
}

redis_bin() {
    local bin=""
    if [[ -x /usr/bin/redis-server ]]; then
        bin=/usr/bin/redis-server
    elif command -v redis-server >/dev/null 2>&1; then
        bin="$(command -v redis-server)"
    else
        log "redis-server not found: installing Debian's redis-server"
        apt_install redis-server
        bin=/usr/bin/redis-server
        [[ -x "$bin" ]] || die "redis-server installed but $bin is missing"
    fi
    printf '%s\n' "$bin"
}

# ping PORT: true if Redis answers PING with PONG.
ping() {
    local reply
    reply="$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 line <&3 || exit 1
        printf '%s' "$line"
    )" || return 1
    [[ "$reply" == "+PONG"* ]]
}

start() {
    local port bin
    port="$(kept_port "$PORT_FILE")"
    if running; then
        log "already running (pid $(redis_pid)) on 127.0.0.1:$port"
        url
        return 0
    fi
    bin="$(redis_bin)"
    if port_open "$port"; then
        die "port $port (kept in $PORT_FILE) is taken by another process"
    fi
    rm -f "$PID_FILE"
    cat >"$STATE/redis.conf" <<EOF
# Written by scripts/services/redis.sh: a test Redis on 127.0.0.1 only, no persistence.
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
supervised no
pidfile $PID_FILE
logfile $STATE/redis.log
loglevel notice
dir $STATE
save ""
appendonly no
databases 16
EOF
    log "starting $("$bin" --version | awk '{print $3}') on 127.0.0.1:$port"
    "$bin" "$STATE/redis.conf" </dev/null >&2 || {
        tail -n 30 "$STATE/redis.log" >&2 || true
        die "redis-server failed to start"
    }
    local tries=0
    until ping "$port" && running; do
        tries=$((tries + 1))
        ((tries < 100)) || {
            tail -n 30 "$STATE/redis.log" >&2 || true
            die "Redis did not answer PING on 127.0.0.1:$port"
        }
        sleep 0.1
    done
    log "running (pid $(redis_pid))"
    url
}

stop() {
    local pid port
    if ! running; then
        log "not running"
        return 0
    fi
    pid="$(redis_pid)"
    log "stopping pid $pid"
    kill_pid "$pid" redis-server 30 || die "pid $pid would not die"
    port="$(cat "$PORT_FILE")"
    wait_port_closed "$port" 10 || die "port $port still open after stop"
    rm -f "$PID_FILE"
    log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
        if running; then
            log "running (pid $(redis_pid))"
            exit 0
        fi
        log "not running"
        exit 1
        ;;
    url) url ;;
    pid)
        running || exit 1
        redis_pid
        ;;
    destroy)
        stop
        rm -rf "$STATE"
        log "destroyed $STATE"
        ;;
    *) usage "$0" ;;
esac
