#!/usr/bin/env bash
# Install everything trafficcast needs to run, into the project folder:
# a Python virtualenv (.venv) with the package and its dev tools, and the
# built web page. Idempotent; safe to run again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"trafficcast needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}")
PY

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
# LightGBM (the forecaster) links GCC's OpenMP runtime, which slim images may lack.
if ! ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1'; then
  echo "==> installing libgomp1 (OpenMP runtime for LightGBM)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libgomp1
fi
echo "==> installing the Python package"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm (Node.js 20) is needed to build the web page" >&2
  exit 1
fi
echo "==> building the web page"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
echo "==> installed"
