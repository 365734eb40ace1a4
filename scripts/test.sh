#!/usr/bin/env bash
# Builds softvt and runs every test; ends with one line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
if [ ! -d build ]; then meson setup build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }; fi
ninja -C build || { echo "0 passed, 1 failed"; exit 1; }
# The Debian kernel and initramfs images the boot tests use (Debian packages,
# cached outside git; see scripts/guest-images).
SOFTVT_IMAGE_CACHE=$(scripts/guest-images --print-dir) || { echo "0 passed, 1 failed"; exit 1; }
export SOFTVT_IMAGE_CACHE
log=$(mktemp)
meson test -C build --print-errorlogs --num-processes 2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
count() { grep -E "^$1:" "$log" | tail -1 | awk '{print $NF}'; }
ok=$(count "Ok"); fail=$(count "Fail"); skip=$(count "Skipped"); tout=$(count "Timeout"); upass=$(count "Unexpected Pass")
failed=$(( ${fail:-0} + ${tout:-0} + ${upass:-0} ))
rm -f "$log"
echo "${ok:-0} passed, ${failed} failed, ${skip:-0} skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
