#!/usr/bin/env bash
# Interpreter speed: runs the fixed integer workload bench/workload_long64.asm
# (about 100 million guest instructions) under `softvt run --flat --accel
# interp`, the same loop natively on the host CPU, and under QEMU's TCG when
# qemu-system-x86_64 is available, and prints instructions per second and
# the ratios. It reports; it never asserts a timing.
#
# Usage: bench/interp_speed.sh [ITERATIONS]   (default 5000000 = ~100M insns)
# Environment: SOFTVT (default build/softvt), NO_QEMU=1 to skip QEMU,
# NO_INSTALL=1 to never apt-get install QEMU.
set -uo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-5000000}
SOFTVT=${SOFTVT:-build/softvt}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SRC=bench/workload_long64.asm

need() { command -v "$1" >/dev/null 2>&1 || { echo "interp_speed: '$1' is required but not installed" >&2; exit 2; }; }
need nasm
need ld
need awk
[ -x "$SOFTVT" ] || { echo "interp_speed: no softvt binary at '$SOFTVT' (build it, or set SOFTVT)" >&2; exit 2; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.1f", n / t / 1e6; else printf "n/a" }'; }
ratio() {  # a / b, or n/a when either is missing
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then printf "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1f", a / b; else printf "n/a" }'
}

# Instructions the flat image executes: 20 per iteration, 8 of setup, the HLT.
FLAT_INSNS=$(( 20 * ITER + 9 ))
echo "workload: $SRC, $ITER iterations x 20 instructions (+9) = $FLAT_INSNS guest instructions"
echo

# ---- softvt (interp) ---------------------------------------------------------------
nasm -f bin -DITERATIONS="$ITER" -o "$WORK/w.bin" "$SRC" || exit 2
t0=$(now)
"$SOFTVT" run --flat "$WORK/w.bin" --mode long64 --accel interp --max-insns $(( FLAT_INSNS * 2 )) \
  --dump-state "$WORK/state.json" 2>"$WORK/softvt.err"
rc=$?
t1=$(now)
SOFTVT_TIME=$(elapsed "$t0" "$t1")
exit_reason=$(sed -n 's/.*"exit": "\([^"]*\)".*/\1/p' "$WORK/state.json" 2>/dev/null)
insns_hex=$(sed -n 's/.*"insns": "\(0x[0-9a-f]*\)".*/\1/p' "$WORK/state.json" 2>/dev/null)
SOFTVT_INSNS=$(( ${insns_hex:-0} ))
SOFTVT_MIPS=n/a
if [ "$rc" -ne 0 ] || [ -z "$exit_reason" ]; then
  echo "softvt interp: the run failed (status $rc): $(head -c 300 "$WORK/softvt.err")"
elif [ "$exit_reason" != "hlt" ] || [ "$SOFTVT_INSNS" -ne "$FLAT_INSNS" ]; then
  detail=$(sed -n 's/.*"detail": "\([^"]*\)".*/\1/p' "$WORK/state.json")
  echo "softvt interp: did not complete the workload: exit=$exit_reason${detail:+ ($detail)} after $SOFTVT_INSNS of $FLAT_INSNS instructions"
  echo "               (the instructions it uses may not all be implemented yet); no rate"
else
  SOFTVT_MIPS=$(rate "$SOFTVT_INSNS" "$SOFTVT_TIME")
  echo "softvt interp: $SOFTVT_INSNS instructions in ${SOFTVT_TIME} s = $SOFTVT_MIPS M instructions/s"
fi

# ---- native ----------------------------------------------------------------------------------
# The same loop as a Linux executable; run with 20x the iterations so the
# time is long enough to measure, then scaled.
NATIVE_ITER=$(( ITER * 20 ))
NATIVE_INSNS=$(( 20 * NATIVE_ITER + 8 + 3 ))   # setup, loop, mov/xor/syscall
nasm -f elf64 -DNATIVE -DITERATIONS="$NATIVE_ITER" -o "$WORK/native.o" "$SRC" && ld -o "$WORK/native" "$WORK/native.o" || exit 2
t0=$(now)
"$WORK/native"
t1=$(now)
NATIVE_TIME=$(elapsed "$t0" "$t1")
NATIVE_MIPS=$(rate "$NATIVE_INSNS" "$NATIVE_TIME")
echo "native (host): $NATIVE_INSNS instructions in ${NATIVE_TIME} s = $NATIVE_MIPS M instructions/s"

# ---- QEMU TCG --------------------------------------------------------------------------------
QEMU_MIPS=n/a
if [ "${NO_QEMU:-0}" = 1 ]; then
  echo "QEMU TCG: skipped (NO_QEMU=1)"
else
  if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    if [ "${NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "QEMU TCG: qemu-system-x86_64 is missing; installing Debian's qemu-system-x86 (apt-get install -y qemu-system-x86)..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >"$WORK/apt.log" 2>&1 \
        || echo "QEMU TCG: apt-get install failed: $(tail -n 2 "$WORK/apt.log")"
    fi
  fi
  if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "QEMU TCG: not run: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
  else
    # SeaBIOS boots bench/qemu_boot.asm, which loads the image to 0x10000 and
    # enters it in 64-bit mode like the flat runner; the image ends by writing
    # to isa-debug-exit. The boot cost is measured with a 0-iteration image and
    # subtracted.
    qemu_run() {  # image -> prints seconds
      local img=$1 disk="$WORK/disk.img" s0 s1
      cat "$WORK/boot.bin" "$img" >"$disk"
      truncate -s $(( 17 * 512 )) "$disk"
      s0=$(now)
      timeout 600 qemu-system-x86_64 -display none -accel tcg -m 64 -drive file="$disk",format=raw \
        -device isa-debug-exit,iobase=0xf4,iosize=1 -no-reboot -monitor none -serial none >/dev/null 2>&1
      local st=$?
      s1=$(now)
      # isa-debug-exit with value 0 makes QEMU exit with status 1.
      [ "$st" -eq 1 ] || { echo "FAILED(status $st)"; return; }
      elapsed "$s0" "$s1"
    }
    nasm -f bin -DMODE_LONG64 -DIMAGE_SECTORS=16 -o "$WORK/boot.bin" bench/qemu_boot.asm || exit 2
    nasm -f bin -DQEMU_EXIT -DITERATIONS="$ITER" -o "$WORK/wq.bin" "$SRC" || exit 2
    nasm -f bin -DQEMU_EXIT -DITERATIONS=0 -o "$WORK/wq0.bin" "$SRC" || exit 2
    BOOT_TIME=$(qemu_run "$WORK/wq0.bin")
    QEMU_TOTAL=$(qemu_run "$WORK/wq.bin")
    if [[ "$BOOT_TIME" == FAILED* || "$QEMU_TOTAL" == FAILED* ]]; then
      echo "QEMU TCG: the run did not end through isa-debug-exit (boot: $BOOT_TIME, workload: $QEMU_TOTAL)"
    else
      QEMU_TIME=$(elapsed "$BOOT_TIME" "$QEMU_TOTAL")
      QEMU_INSNS=$(( FLAT_INSNS + 2 ))
      QEMU_MIPS=$(rate "$QEMU_INSNS" "$QEMU_TIME")
      echo "QEMU TCG ($(qemu-system-x86_64 --version | head -n 1 | awk '{print $4}')): $QEMU_INSNS instructions in ${QEMU_TIME} s" \
           "(${QEMU_TOTAL} s minus ${BOOT_TIME} s firmware and boot) = $QEMU_MIPS M instructions/s"
    fi
  fi
fi

# ---- ratios ------------------------------------------------------------------------------------
echo
echo "ratios (how many times slower than the host CPU running the same loop natively):"
echo "  softvt interp : $(ratio "$NATIVE_MIPS" "$SOFTVT_MIPS")"
echo "  QEMU TCG      : $(ratio "$NATIVE_MIPS" "$QEMU_MIPS")"
echo "softvt interp time / QEMU TCG time: $(ratio "$QEMU_MIPS" "$SOFTVT_MIPS")"
exit 0
