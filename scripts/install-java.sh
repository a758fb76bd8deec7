#!/usr/bin/env bash
# A Java >= 17 for Spark (the `spark` extra; tests/spark) and Kafka: prints its path.
# Uses JAVA_HOME's, the one on PATH or a Debian OpenJDK 17/21 if one is there; otherwise
# installs Debian's openjdk-17-jre-headless.
set -euo pipefail

major() {
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -n1 |
    awk '{ print ($1 == 1 ? $2 : $1) }'
}

find_java() {
  local candidate
  for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
      /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-21-openjdk-*/bin/java; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    if (($(major "$candidate") >= 17)); then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

if find_java; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "==> installing openjdk-17-jre-headless from apt" >&2
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  openjdk-17-jre-headless >&2
find_java || { echo "openjdk-17-jre-headless installed but no java 17 found" >&2; exit 1; }
