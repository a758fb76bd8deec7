#!/usr/bin/env bash
# Install everything the tests need (Python package, web build, Chromium, poppler,
# docker compose and promtool to check deploy/, Java 17 for Spark),
# then run lint, type checks, the web unit tests and the whole pytest suite.
# Kafka (from Maven Central), PostgreSQL and Redis (from Debian) are installed
# and started by the pytest fixtures through scripts/services/ on first use.
# Extra arguments go to pytest, e.g. -m "not slow".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/install.sh
scripts/install-chromium.sh
scripts/install-poppler.sh
scripts/install-deploy-tools.sh
scripts/install-java.sh >/dev/null
echo "==> installing pyspark (the spark extra; tests/spark, not needed by the demo)"
.venv/bin/python -m pip install --quiet -e ".[dev,spark]"

echo "==> ruff"
.venv/bin/ruff check src tests bench
echo "==> mypy"
.venv/bin/mypy
echo "==> web unit tests"
(cd web && npm test --silent)
echo "==> pytest"
exec .venv/bin/pytest "$@"
