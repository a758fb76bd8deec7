#!/usr/bin/env bash
# Debian's poppler-utils (pdftoppm, pdftotext): the report tests render the PDF pages.
set -euo pipefail
if command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "==> installing poppler-utils from apt"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq poppler-utils >/dev/null
