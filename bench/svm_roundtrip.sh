#!/usr/bin/env bash
# SVM round trip: the cost of an L2 -> L1 -> L2 round trip of a CPUID
# #VMEXIT (bench/svm_roundtrip_long64.asm: the L2 loops on CPUID, the L1
# checks the exit code, advances the guest RIP and runs VMRUN again), in
# guest instructions and host nanoseconds, under softvt (--cpu amd) and
# under QEMU TCG (Debian's qemu-system-x86_64 -accel tcg -cpu qemu64,+svm:
# TCG implements SVM) in the same invocation. Times are CPU time (user +
# system) of the emulator process, so a loaded machine does not skew them;
# each is the difference between ITERATIONS round trips and none, which
# removes boot (QEMU: SeaBIOS and bench/qemu_boot.asm) and set-up. It
# reports; it never asserts.
#
# Usage: bench/svm_roundtrip.sh [ITERATIONS]   (default 200000)
# Environment: SOFTVT (default build/softvt), NO_QEMU=1 to skip QEMU,
# NO_INSTALL=1 to never apt-get install QEMU.
set -uo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-200000}
SOFTVT=${SOFTVT:-build/softvt}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SRC=bench/svm_roundtrip_long64.asm

need() { command -v "$1" >/dev/null 2>&1 || { echo "svm_roundtrip: '$1' is required but not installed" >&2; exit 2; }; }
need nasm
need awk
[ -x "$SOFTVT" ] || { echo "svm_roundtrip: no softvt binary at '$SOFTVT' (build it, or set SOFTVT)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "svm_roundtrip: /usr/bin/time is required (Debian package time)" >&2; exit 2; }

# cpu_seconds CMD...: runs CMD, prints its user + system CPU seconds (its
# output goes to $WORK/out, $WORK/err) and leaves its status in $WORK/status.
cpu_seconds() {
  local t="$WORK/time"
  /usr/bin/env time -f "%U %S" -o "$t" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  echo $? >"$WORK/status"
  # GNU time puts "Command exited with non-zero status N" first (QEMU exits
  # with 1 through isa-debug-exit): the times are the last line.
  tail -n 1 "$t" | awk '{ printf "%.3f", $1 + $2 }'
}
per_trip_ns() { awk -v a="$1" -v b="$2" -v n="$ITER" 'BEGIN { printf "%.0f", (b - a) / n * 1e9 }'; }
ratio() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then printf "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1f", a / b; else printf "n/a" }'
}

echo "workload: $SRC, $ITER round trips (L2 CPUID -> #VMEXIT -> L1 -> VMRUN)"
echo

# ---- softvt -------------------------------------------------------------------------
insns_of() { sed -n 's/.*"insns": "\(0x[0-9a-f]*\)".*/\1/p' "$1"; }
softvt_run() {  # iterations -> prints CPU seconds; leaves the state in $WORK/state.json
  nasm -f bin -DITERATIONS="$1" -o "$WORK/s.bin" "$SRC" || exit 2
  cpu_seconds "$SOFTVT" run --flat "$WORK/s.bin" --mode long64 --cpu amd --dump-state "$WORK/state.json" \
    --debugcon stderr
}
SOFTVT_NS=n/a
t0=$(softvt_run 0); i0=$(( $(insns_of "$WORK/state.json") ))
t1=$(softvt_run "$ITER"); i1=$(( $(insns_of "$WORK/state.json") ))
if ! grep -q "svm-roundtrip: done" "$WORK/err"; then
  echo "softvt: the L1 did not finish: $(head -c 300 "$WORK/err")"
else
  GUEST_INSNS=$(awk -v a="$i0" -v b="$i1" -v n="$ITER" 'BEGIN { printf "%.1f", (b - a) / n }')
  SOFTVT_NS=$(per_trip_ns "$t0" "$t1")
  echo "softvt (--cpu amd): $GUEST_INSNS guest instructions and $SOFTVT_NS ns of host CPU per round trip" \
       "(${t1} s for $ITER, ${t0} s for none)"
fi

# ---- QEMU TCG -----------------------------------------------------------------------
QEMU_NS=n/a
if [ "${NO_QEMU:-0}" = 1 ]; then
  echo "QEMU TCG: skipped (NO_QEMU=1)"
else
  if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    if [ "${NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "QEMU TCG: qemu-system-x86_64 is missing; installing Debian's qemu-system-x86..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >"$WORK/apt.log" 2>&1 \
        || echo "QEMU TCG: apt-get install failed: $(tail -n 2 "$WORK/apt.log")"
    fi
  fi
  if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "QEMU TCG: not run: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
  else
    # SeaBIOS boots bench/qemu_boot.asm, which loads the image to 0x10000
    # and enters it in 64-bit mode like the flat runner; the image ends by
    # writing to isa-debug-exit (QEMU then exits with status 1).
    nasm -f bin -DMODE_LONG64 -DIMAGE_SECTORS=8 -o "$WORK/boot.bin" bench/qemu_boot.asm || exit 2
    qemu_run() {  # iterations -> prints CPU seconds; "done" lands in $WORK/debugcon
      nasm -f bin -DQEMU_EXIT -DITERATIONS="$1" -o "$WORK/q.bin" "$SRC" || exit 2
      cat "$WORK/boot.bin" "$WORK/q.bin" >"$WORK/disk.img"
      truncate -s $(( 9 * 512 )) "$WORK/disk.img"
      rm -f "$WORK/debugcon"
      cpu_seconds timeout 1200 qemu-system-x86_64 -display none -accel tcg -cpu qemu64,+svm -m 64 \
        -drive file="$WORK/disk.img",format=raw -device isa-debug-exit,iobase=0xf4,iosize=1 -no-reboot \
        -monitor none -serial none -debugcon file:"$WORK/debugcon"
    }
    q0=$(qemu_run 0); ok0=$(grep -ac "svm-roundtrip: done" "$WORK/debugcon" 2>/dev/null)
    q1=$(qemu_run "$ITER"); ok1=$(grep -ac "svm-roundtrip: done" "$WORK/debugcon" 2>/dev/null)
    if [ "$ok0" != 1 ] || [ "$ok1" != 1 ]; then
      echo "QEMU TCG: the L1 did not finish: $(head -c 300 "$WORK/debugcon" 2>/dev/null) $(head -c 300 "$WORK/err")"
    else
      QEMU_NS=$(per_trip_ns "$q0" "$q1")
      echo "QEMU TCG ($(qemu-system-x86_64 --version | head -n 1 | awk '{print $4}'), qemu64,+svm):" \
           "$QEMU_NS ns of host CPU per round trip (${q1} s for $ITER, ${q0} s for none)"
    fi
  fi
fi

echo
echo "QEMU TCG time / softvt time per round trip: $(ratio "$QEMU_NS" "$SOFTVT_NS")"
exit 0
