#!/usr/bin/env bash
# Set-up and demo: installs what is missing, builds softvt, runs `softvt demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
build/softvt demo
