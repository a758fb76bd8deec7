#!/usr/bin/env bash
# A throwaway single-node Apache Kafka (KRaft: combined broker+controller, no ZooKeeper) for
# development and tests, on 127.0.0.1 only.
#
#   scripts/services/kafka.sh start    # fetch jars if missing, format once, start; prints HOST:PORT
#   scripts/services/kafka.sh stop     # SIGTERM by PID (SIGKILL after 30 s), wait until the port is free
#   scripts/services/kafka.sh status   # exit 0 if running, else 1
#   scripts/services/kafka.sh url      # print the bootstrap address 127.0.0.1:PORT
#   scripts/services/kafka.sh pid      # print the server's PID if running, else exit 1
#   scripts/services/kafka.sh destroy  # stop and delete the state folder (data included)
#
# The broker's jars come from Maven Central through scripts/services/kafka/pom.xml
# (mvn dependency:copy-dependencies) into ${TRAFFICCAST_CACHE:-~/.cache/trafficcast}/kafka-<version>/libs,
# once per version. State: ${TRAFFICCAST_SERVICES_DIR:-<repo>/.services}/kafka (ports, config,
# data, logs, pid). Both ports are picked at first start and kept, so a stop+start (a broker
# restart) comes back on the same address with the same topics and messages.
# After start, if the project venv has trafficcast.bus.topics, it creates the project's topics.
set -euo pipefail
SERVICE_NAME=kafka
# shellcheck source=scripts/services/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_VERSION="${TRAFFICCAST_KAFKA_VERSION:-4.1.1}"
LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
POM="$SERVICES_LIB_DIR/kafka/pom.xml"
VENV_PY="$REPO_ROOT/.venv/bin/python"
STATE="$(state_dir kafka)"
PORT_FILE="$STATE/port"
CPORT_FILE="$STATE/controller-port"
PID_FILE="$STATE/kafka.pid"
LOG_FILE="$STATE/server.log"
READY_TIMEOUT="${TRAFFICCAST_KAFKA_READY_TIMEOUT:-180}"
PID_PATTERN=kafka.Kafka

kafka_pid() { pidfile_pid "$PID_FILE"; }

running() {
    local pid
    pid="$(kafka_pid)"
    [[ -n "$pid" ]] && pid_alive "$pid" "$PID_PATTERN"
}

url() {
    [[ -s "$PORT_FILE" ]] || die "no port yet: run start first"
    printf '127.0.0.1:%s\n' "$(cat "$PORT_FILE")"
}

# java_major JAVA: print the feature version of a java binary (8 for 1.8, 17 for 17.0.x).
java_major() {
    local v
    v="$("$1" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
    v="${v#1.}"
    printf '%s\n' "${v%%[.+-]*}"
}

# java_bin: print a Java >= 17 (Kafka 4 brokers need it), installing OpenJDK 17 if absent.
java_bin() {
    local candidate
    for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
        /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-21-openjdk-*/bin/java; do
        [[ -n "$candidate" && -x "$candidate" ]] || continue
        if (($(java_major "$candidate") >= 17)); then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    log "no Java >= 17 found: installing openjdk-17-jre-headless"
    apt_install openjdk-17-jre-headless
    for candidate in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
        [[ -x "$candidate" ]] && printf '%s\n' "$candidate" && return 0
    done
    die "openjdk-17-jre-headless installed but no java 17 binary found"
}

# fetch_libs: resolve the broker's jars with Maven into $LIBS (skipped when already complete).
fetch_libs() {
    if [[ -f "$LIBS/.complete" ]]; then
        return 0
    fi
    if ! command -v mvn >/dev/null 2>&1; then
        log "mvn not found: installing Debian's maven"
        java_bin >/dev/null
        apt_install maven
    fi
    local tmp
    mkdir -p "$(dirname "$LIBS")"
    tmp="$(mktemp -d "$(dirname "$LIBS")/libs.tmp.XXXXXX")"
    log "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIBS (first time only)"
    local started=$SECONDS
    if ! JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(java_bin)")")")" \
        mvn -B -q -Dstyle.color=never -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
        rm -rf "$tmp"
        die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
    fi
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || {
        rm -rf "$tmp"
        die "mvn finished but no kafka_2.13 jar was copied"
    }
    touch "$tmp/.complete"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    log "resolved $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - started)) s"
}

write_config() {
    local port="$1" cport="$2"
    cat >"$STATE/server.properties" <<EOF
# Written by scripts/services/kafka.sh: single-node KRaft broker+controller on 127.0.0.1 only.
node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:$cport
log.dirs=$STATE/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    cat >"$STATE/log4j2.properties" <<EOF
# Written by scripts/services/kafka.sh: the broker logs to server.log in the state folder.
status = warn
name = trafficcast-kafka
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG_FILE
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
EOF
}

format_storage() {
    local java="$1" cluster_id
    [[ -f "$STATE/data/meta.properties" ]] && return 0
    if [[ -s "$STATE/cluster-id" ]]; then
        cluster_id="$(cat "$STATE/cluster-id")"
    else
        cluster_id="$("$java" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
        [[ -n "$cluster_id" ]] || die "StorageTool random-uuid printed nothing"
        printf '%s\n' "$cluster_id" >"$STATE/cluster-id"
    fi
    log "formatting $STATE/data (cluster id $cluster_id)"
    "$java" -Dlog4j2.configurationFile="$STATE/log4j2.properties" -cp "$LIBS/*" \
        kafka.tools.StorageTool format --config "$STATE/server.properties" \
        --cluster-id "$cluster_id" --ignore-formatted >&2 ||
        die "kafka.tools.StorageTool format failed"
}

# broker_ready PORT SINCE: true once the broker answers metadata requests (confluent_kafka from
# the project venv), or, without the venv, once the port is open and the log (from byte SINCE
# on) says the server started.
broker_ready() {
    local port="$1" since="$2"
    port_open "$port" || return 1
    if [[ -x "$VENV_PY" ]] && "$VENV_PY" -c 'import confluent_kafka' 2>/dev/null; then
        "$VENV_PY" - "127.0.0.1:$port" <<'EOF' >/dev/null 2>&1
import sys
from confluent_kafka.admin import AdminClient
admin = AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0, "socket.timeout.ms": 3000})
metadata = admin.list_topics(timeout=3)
sys.exit(0 if metadata.brokers and metadata.controller_id >= 0 else 1)
EOF
        return
    fi
    tail -c +"$((since + 1))" "$LOG_FILE" 2>/dev/null | grep -q "Kafka Server started"
}

create_topics() {
    local bootstrap="$1"
    [[ -x "$VENV_PY" ]] || return 0
    if ! "$VENV_PY" -c 'import trafficcast.bus.topics' >/dev/null 2>&1; then
        return 0
    fi
    log "creating the project's topics (python -m trafficcast.bus.topics)"
    (cd "$REPO_ROOT" && "$VENV_PY" -m trafficcast.bus.topics --bootstrap "$bootstrap") >&2 ||
        die "python -m trafficcast.bus.topics --bootstrap $bootstrap failed"
}

start() {
    local port cport java
    port="$(kept_port "$PORT_FILE")"
    cport="$(kept_port "$CPORT_FILE" "$port")"
    if running; then
        log "already running (pid $(kafka_pid)) on 127.0.0.1:$port"
        create_topics "127.0.0.1:$port"
        url
        return 0
    fi
    java="$(java_bin)"
    fetch_libs
    local p
    for p in "$port" "$cport"; do
        port_open "$p" && die "port $p (kept in $STATE) is taken by another process"
    done
    write_config "$port" "$cport"
    format_storage "$java"
    touch "$LOG_FILE"
    local since
    since="$(stat -c %s "$LOG_FILE")"
    log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (controller 127.0.0.1:$cport)"
    (
        cd "$STATE"
        nohup setsid "$java" -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$STATE/log4j2.properties" -Dkafka.logs.dir="$STATE" \
            -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" \
            >>"$STATE/kafka.out" 2>&1 </dev/null &
        printf '%s\n' "$!" >"$PID_FILE"
    )
    local pid started=$SECONDS
    pid="$(kafka_pid)"
    until broker_ready "$port" "$since"; do
        if ! pid_alive "$pid" "$PID_PATTERN"; then
            tail -n 40 "$LOG_FILE" "$STATE/kafka.out" >&2 || true
            die "the broker (pid $pid) exited during startup"
        fi
        if ((SECONDS - started > READY_TIMEOUT)); then
            tail -n 40 "$LOG_FILE" "$STATE/kafka.out" >&2 || true
            die "the broker was not ready within ${READY_TIMEOUT}s"
        fi
        sleep 0.5
    done
    log "running (pid $pid), ready in $((SECONDS - started)) s"
    create_topics "127.0.0.1:$port"
    url
}

stop() {
    local pid
    if ! running; then
        log "not running"
        return 0
    fi
    pid="$(kafka_pid)"
    log "stopping pid $pid"
    kill_pid "$pid" "$PID_PATTERN" 30 || die "pid $pid would not die"
    wait_port_closed "$(cat "$PORT_FILE")" 30 || die "port $(cat "$PORT_FILE") still open after stop"
    wait_port_closed "$(cat "$CPORT_FILE")" 30 || die "port $(cat "$CPORT_FILE") still open after stop"
    rm -f "$PID_FILE"
    log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
        if running; then
            log "running (pid $(kafka_pid))"
            exit 0
        fi
        log "not running"
        exit 1
        ;;
    url) url ;;
    pid)
        running || exit 1
        kafka_pid
        ;;
    destroy)
        stop
        rm -rf "$STATE"
        log "destroyed $STATE"
        ;;
    *) usage "$0" ;;
esac
