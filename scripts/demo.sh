#!/usr/bin/env bash
# Install what the demo needs, then run it: http://127.0.0.1:8000
# Extra arguments go to `trafficcast demo`, e.g. --replay ../shared/data/los-loop --speed 60
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install.sh"
cd "$ROOT"
exec .venv/bin/trafficcast demo "$@"
