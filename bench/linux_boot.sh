#!/usr/bin/env bash
# Linux boot and workload: boots the Debian kernel with the images of
# scripts/guest-images under softvt (interp) and under QEMU TCG in the same
# invocation, and prints, for each, the time from start to guest power-off
# with the marker image and the time between the workload image's
# SOFTVT-WORKLOAD-BEGIN and SOFTVT-WORKLOAD-END lines, then the ratios.
# It reports; it never asserts a timing.
#
# Usage: bench/linux_boot.sh
# Environment: SOFTVT (default build/softvt), SOFTVT_IMAGE_CACHE (default:
# scripts/guest-images --print-dir), NO_QEMU=1 to skip QEMU, MEM (default 256).
set -uo pipefail
cd "$(dirname "$0")/.."
SOFTVT=${SOFTVT:-build/softvt}
MEM=${MEM:-256}
APPEND="console=ttyS0 quiet panic=-1"
[ -x "$SOFTVT" ] || { echo "linux_boot: no softvt binary at '$SOFTVT' (build it, or set SOFTVT)" >&2; exit 2; }
IMAGES=${SOFTVT_IMAGE_CACHE:-$(scripts/guest-images --print-dir)} || { echo "linux_boot: scripts/guest-images failed" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then printf "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'
}

# Runs a command whose serial output goes to stdout; stamps each line with
# the seconds since the start into $WORK/$name.log; prints
# "<total seconds> <exit status>".
timed_run() {
  local name=$1; shift
  local t0 st
  t0=$(now)
  ( timeout 1200 "$@" 2>"$WORK/$name.err"; echo "__EXIT $?" ) | while IFS= read -r line; do
    printf '%s %s\n' "$(elapsed "$t0" "$(now)")" "$line"
  done >"$WORK/$name.log"
  st=$(sed -n 's/^[0-9.]* __EXIT \([0-9]*\)$/\1/p' "$WORK/$name.log")
  echo "$(elapsed "$t0" "$(now)") ${st:-?}"
}
# Time stamp of the first line containing $2 in log $1, or n/a.
stamp() { awk -v m="$2" 'index($0, m) { print $1; found = 1; exit } END { if (!found) print "n/a" }' "$WORK/$1.log"; }

measure() {  # runner-name command-prefix...
  local who=$1; shift
  read -r total st < <(timed_run "$who-marker" "$@" --initrd "$IMAGES/initrd-marker.cpio.gz")
  local marker; marker=$(stamp "$who-marker" SOFTVT-INIT-REACHED)
  if [ "$marker" = n/a ]; then
    echo "$who: marker image: no SOFTVT-INIT-REACHED (status $st); last lines:" >&2
    tail -n 5 "$WORK/$who-marker.log" >&2
    BOOT[$who]=n/a
  else
    BOOT[$who]=$total
    echo "$who: marker image: /init reached at ${marker} s, powered off at ${total} s (status $st)"
  fi
  read -r total st < <(timed_run "$who-workload" "$@" --initrd "$IMAGES/initrd-workload.cpio.gz")
  local b e; b=$(stamp "$who-workload" SOFTVT-WORKLOAD-BEGIN); e=$(stamp "$who-workload" SOFTVT-WORKLOAD-END)
  if [ "$b" = n/a ] || [ "$e" = n/a ]; then
    echo "$who: workload image: markers missing (status $st)" >&2
    WORKLOAD[$who]=n/a
  else
    WORKLOAD[$who]=$(elapsed "$b" "$e")
    echo "$who: workload image: ${WORKLOAD[$who]} s between the markers ($(grep -o 'SOFTVT-WORKLOAD-END.*' "$WORK/$who-workload.log" | head -c 60))"
  fi
}

declare -A BOOT WORKLOAD
# softvt: the same option spelling as QEMU's where it exists.
measure softvt "$SOFTVT" run --kernel "$IMAGES/vmlinuz" --append "$APPEND" -m "$MEM" --serial stdio
if [ "${NO_QEMU:-0}" = 1 ] || ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  echo "qemu: not run (NO_QEMU=1 or qemu-system-x86_64 missing: Debian package qemu-system-x86)"
  BOOT[qemu]=n/a; WORKLOAD[qemu]=n/a
else
  measure qemu qemu-system-x86_64 -accel tcg -m "$MEM" -nographic -no-reboot -monitor none \
    -kernel "$IMAGES/vmlinuz" -append "$APPEND"
fi
echo
echo "boot to power-off: softvt ${BOOT[softvt]} s, QEMU TCG ${BOOT[qemu]} s; softvt/QEMU = $(ratio "${BOOT[softvt]}" "${BOOT[qemu]}")"
echo "workload:          softvt ${WORKLOAD[softvt]} s, QEMU TCG ${WORKLOAD[qemu]} s; softvt/QEMU = $(ratio "${WORKLOAD[softvt]}" "${WORKLOAD[qemu]}")"
exit 0
