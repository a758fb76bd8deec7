#!/usr/bin/env bash
# The validators of deploy/ that the suite runs (tests/deploy/): Docker Compose (its
# `config` command parses and checks the compose file without an engine) and promtool
# (Prometheus config, alert rules and their unit tests). Both are Go programs built
# from the Go module proxy at pinned versions into .cache/tools/bin; a second run
# finds them and returns at once. The Kubernetes schema check is a Python package
# (kubernetes-validate, in the dev extra).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${TRAFFICCAST_TOOLS_DIR:-$ROOT/.cache/tools}/bin"
COMPOSE_MODULE=github.com/docker/compose/v2@v2.40.3
PROMETHEUS_MODULE=github.com/prometheus/prometheus@v0.316.0  # Prometheus 3.x's promtool
mkdir -p "$BIN"

if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "==> installing Go from apt (to build docker compose and promtool)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go >/dev/null
  fi
fi

# Both modules carry go.mod directives (exclude/replace, a go.work) that `go install
# module@version` refuses, so each is built inside a copy of its module source.
build() {  # build MODULE@VERSION PACKAGE OUTPUT
  local module="$1" package="$2" out="$3"
  [ -x "$BIN/$out" ] && return 0
  echo "==> building $out from $module (a few minutes, once)"
  local dir work
  dir="$(go mod download -json "$module" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$BIN/$out.tmp" "$package")
  mv "$BIN/$out.tmp" "$BIN/$out"
}

build "$COMPOSE_MODULE" ./cmd docker-compose
build "$PROMETHEUS_MODULE" ./cmd/promtool promtool
"$BIN/docker-compose" version
"$BIN/promtool" --version | head -1
