#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for development and tests, on 127.0.0.1 only.
#
#   scripts/services/postgres.sh start    # install if missing, init once, start; prints the URL
#   scripts/services/postgres.sh stop     # stop by PID (pg_ctl stop -m fast), wait until gone
#   scripts/services/postgres.sh status   # exit 0 if running, else 1
#   scripts/services/postgres.sh url      # print postgresql://postgres@127.0.0.1:PORT/trafficcast
#   scripts/services/postgres.sh pid      # print the server's PID if running, else exit 1
#   scripts/services/postgres.sh destroy  # stop and delete the cluster and its state
#
# State: ${TRAFFICCAST_SERVICES_DIR:-<repo>/.services}/postgres (port, data, log). The port is
# picked at first start and kept, so stop+start comes back on the same URL with the same data.
# PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` OS user. If that
# user cannot reach the state folder (e.g. under /root or pytest's 0700 temp folders), the data
# folder goes to ~postgres/trafficcast/<hash of the state path> and the state folder records it.
set -euo pipefail
SERVICE_NAME=postgres
# shellcheck source=scripts/services/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DB_NAME=trafficcast
STATE="$(state_dir postgres)"
PORT_FILE="$STATE/port"
ROOT_FILE="$STATE/pgroot"

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# run_pg CMD...: run CMD as the cluster's owner (the postgres OS user when we are root).
run_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_root: print the folder that holds data/ and postgres.log (chosen once, then recorded).
pg_root() {
    if [[ -s "$ROOT_FILE" ]]; then
        cat "$ROOT_FILE"
        return 0
    fi
    local root="$STATE"
    if is_root && ! runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
        local home hash
        home="$(getent passwd postgres | cut -d: -f6)"
        [[ -n "$home" ]] || home=/var/lib/postgresql
        hash="$(printf '%s' "$STATE" | sha256sum | cut -c1-16)"
        root="$home/trafficcast/$hash"
        log "user postgres cannot reach $STATE: cluster data goes to $root"
        if [[ -e "$root" ]]; then
            # Left over by an earlier state folder of the same path that was deleted by hand.
            local stale
            stale="$(pidfile_pid "$root/data/postmaster.pid")"
            if [[ -n "$stale" ]] && pid_alive "$stale" postgres; then
                die "$root is in use by postmaster pid $stale (stop it first)"
            fi
            log "removing the stale cluster in $root"
            rm -rf "$root"
        fi
    fi
    printf '%s\n' "$root" >"$ROOT_FILE"
    printf '%s\n' "$root"
}

# pg_bin: print the newest /usr/lib/postgresql/*/bin, installing Debian's postgresql if absent.
pg_bin() {
    local bin
    bin="$(find_pg_bin)"
    if [[ -z "$bin" ]]; then
        log "PostgreSQL server binaries not found: installing Debian's postgresql"
        apt_install postgresql
        bin="$(find_pg_bin)"
        [[ -n "$bin" ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
    fi
    printf '%s\n' "$bin"
}

find_pg_bin() {
    local candidates=() dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]] && candidates+=("$dir")
    done
    ((${#candidates[@]} > 0)) || return 0
    printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1
}

data_dir() { printf '%s/data\n' "$(pg_root)"; }

postmaster_pid() {
    local data
    data="$(data_dir)"
    pidfile_pid "$data/postmaster.pid"
}

running() {
    local pid
    pid="$(postmaster_pid)"
    [[ -n "$pid" ]] && pid_alive "$pid" postgres
}

url() {
    [[ -s "$PORT_FILE" ]] || die "no port yet: run start first"
    printf 'postgresql://postgres@127.0.0.1:%s/%s\n' "$(cat "$PORT_FILE")" "$DB_NAME"
}

init_cluster() {
    local bin="$1" root="$2" port="$3"
    local data="$root/data"
    log "initdb $data (port $port)"
    mkdir -p "$data"
    if is_root; then
        chown postgres:postgres "$data"
    fi
    chmod 700 "$data"
    run_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
        >"$STATE/initdb.log" 2>&1 || {
        tail -n 30 "$STATE/initdb.log" >&2
        die "initdb failed"
    }
    cat >"$STATE/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  trust
EOF
    cat >"$STATE/trafficcast.conf" <<EOF
# Written by scripts/services/postgres.sh: a test cluster on 127.0.0.1 only.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
fsync = on
logging_collector = off
log_min_messages = warning
EOF
    run_pg tee "$data/pg_hba.conf" <"$STATE/pg_hba.conf" >/dev/null
    run_pg tee "$data/trafficcast.conf" <"$STATE/trafficcast.conf" >/dev/null
    printf "include 'trafficcast.conf'\n" | run_pg tee -a "$data/postgresql.conf" >/dev/null
}

start() {
    local port root data bin
    port="$(kept_port "$PORT_FILE")"
    if running; then
        log "already running (pid $(postmaster_pid)) on 127.0.0.1:$port"
        url
        return 0
    fi
    bin="$(pg_bin)"
    root="$(pg_root)"
    data="$root/data"
    mkdir -p "$root"
    touch "$root/postgres.log"
    if is_root; then chown postgres:postgres "$root/postgres.log"; fi
    [[ -s "$data/PG_VERSION" ]] || init_cluster "$bin" "$root" "$port"
    if port_open "$port"; then
        die "port $port (kept in $PORT_FILE) is taken by another process"
    fi
    log "starting PostgreSQL $(cat "$data/PG_VERSION") on 127.0.0.1:$port"
    # A stale postmaster.pid (after a crash or SIGKILL) is handled by postgres itself.
    if ! run_pg "$bin/pg_ctl" start -D "$data" -l "$root/postgres.log" -w -t 120 \
        -o "-p $port" >&2; then
        tail -n 30 "$root/postgres.log" >&2 || true
        die "pg_ctl start failed"
    fi
    local tries=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -t 2; do
        tries=$((tries + 1))
        ((tries < 60)) || {
            tail -n 30 "$root/postgres.log" >&2 || true
            die "PostgreSQL did not accept connections on 127.0.0.1:$port"
        }
        sleep 0.5
    done
    local exists
    exists="$("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")"
    if [[ "$exists" != "1" ]]; then
        log "creating database $DB_NAME"
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME" >&2
    fi
    log "running (pid $(postmaster_pid))"
    url
}

stop() {
    local pid data bin
    if ! running; then
        log "not running"
        return 0
    fi
    pid="$(postmaster_pid)"
    data="$(data_dir)"
    bin="$(find_pg_bin)"
    log "stopping pid $pid"
    if [[ -z "$bin" ]] || ! run_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >&2; then
        log "pg_ctl stop failed: signalling pid $pid"
        kill -INT "$pid" 2>/dev/null || true
    fi
    kill_pid "$pid" postgres 30 || die "pid $pid would not die"
    log "stopped"
}

destroy() {
    stop
    local root
    root="$(pg_root)"
    if [[ "$root" != "$STATE" ]]; then
        rm -rf "$root"
    fi
    rm -rf "$STATE"
    log "destroyed $STATE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
        if running; then
            log "running (pid $(postmaster_pid))"
            exit 0
        fi
        log "not running"
        exit 1
        ;;
    url) url ;;
    pid)
        running || exit 1
        postmaster_pid
        ;;
    destroy) destroy ;;
    *) usage "$0" ;;
esac
