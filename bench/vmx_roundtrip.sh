#!/usr/bin/env bash
# VMX round trip: the cost of an L2 -> L1 -> L2 round trip of a CPUID VM
# exit (bench/vmx_roundtrip_long64.asm: the L2 loops on CPUID, the L1's
# handler advances the guest RIP and resumes), in guest instructions and
# host nanoseconds, under softvt and under Bochs (Debian's bochs, the
# reference software VMX model) in the same invocation; and the cost of
# running the whole VM-entry check table once (bench_vmx_entry_checks).
# QEMU's TCG has no VMX, so it is not a peer here. Times are CPU time
# (user + system) of the emulator process, so a loaded machine does not
# skew them; each is the difference between ITERATIONS round trips and
# none, which removes boot and set-up. It reports; it never asserts.
#
# Usage: bench/vmx_roundtrip.sh [ITERATIONS]   (default 200000)
# Environment: SOFTVT (default build/softvt), NO_BOCHS=1 to skip Bochs,
# NO_INSTALL=1 to never apt-get install Bochs.
set -uo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-200000}
SOFTVT=${SOFTVT:-build/softvt}
ENTRY_CHECKS_BENCH=${ENTRY_CHECKS_BENCH:-build/bench_vmx_entry_checks}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SRC=bench/vmx_roundtrip_long64.asm

need() { command -v "$1" >/dev/null 2>&1 || { echo "vmx_roundtrip: '$1' is required but not installed" >&2; exit 2; }; }
need nasm
need awk
[ -x "$SOFTVT" ] || { echo "vmx_roundtrip: no softvt binary at '$SOFTVT' (build it, or set SOFTVT)" >&2; exit 2; }

# cpu_seconds CMD...: runs CMD, prints its user + system CPU seconds (its
# output goes to $WORK/out, $WORK/err).
cpu_seconds() {
  local t="$WORK/time"
  /usr/bin/env time -f "%U %S" -o "$t" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  # GNU time puts "Command exited with non-zero status N" first (Bochs
  # exits with 1 at its shutdown port): the times are the last line.
  tail -n 1 "$t" | awk '{ printf "%.3f", $1 + $2 }'
}
per_trip_ns() { awk -v a="$1" -v b="$2" -v n="$ITER" 'BEGIN { printf "%.0f", (b - a) / n * 1e9 }'; }
ratio() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then printf "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1f", a / b; else printf "n/a" }'
}
[ -x /usr/bin/time ] || { echo "vmx_roundtrip: /usr/bin/time is required (Debian package time)" >&2; exit 2; }

echo "workload: $SRC, $ITER round trips (L2 CPUID -> VM exit -> L1 handler -> VMRESUME)"
echo

# ---- softvt -------------------------------------------------------------------------
insns_of() { sed -n 's/.*"insns": "\(0x[0-9a-f]*\)".*/\1/p' "$1"; }
softvt_run() {  # iterations -> prints CPU seconds; leaves the state in $WORK/state.json
  nasm -f bin -i tests/guest/ -DITERATIONS="$1" -o "$WORK/v.bin" "$SRC" || exit 2
  cpu_seconds "$SOFTVT" run --flat "$WORK/v.bin" --mode long64 --dump-state "$WORK/state.json" --debugcon stderr
}
SOFTVT_NS=n/a
t0=$(softvt_run 0); i0=$(( $(insns_of "$WORK/state.json") ))
t1=$(softvt_run "$ITER"); i1=$(( $(insns_of "$WORK/state.json") ))
if ! grep -q "vmx-roundtrip: done" "$WORK/err"; then
  echo "softvt: the L1 did not finish: $(head -c 300 "$WORK/err")"
else
  GUEST_INSNS=$(awk -v a="$i0" -v b="$i1" -v n="$ITER" 'BEGIN { printf "%.1f", (b - a) / n }')
  SOFTVT_NS=$(per_trip_ns "$t0" "$t1")
  echo "softvt: $GUEST_INSNS guest instructions and $SOFTVT_NS ns of host CPU per round trip" \
       "(${t1} s for $ITER, ${t0} s for none)"
fi

# ---- Bochs --------------------------------------------------------------------------
BOCHS_NS=n/a
if [ "${NO_BOCHS:-0}" = 1 ]; then
  echo "Bochs: skipped (NO_BOCHS=1)"
else
  if ! command -v bochs >/dev/null 2>&1; then
    if [ "${NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Bochs: not installed; installing Debian's bochs, bochs-term, bochsbios and seabios..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bochs bochs-term bochsbios seabios >"$WORK/apt.log" 2>&1 \
        || echo "Bochs: apt-get install failed: $(tail -n 2 "$WORK/apt.log")"
    fi
  fi
  VGA=/usr/share/bochs/VGABIOS-lgpl-latest
  [ -r "$VGA" ] || VGA=/usr/share/seabios/vgabios-isavga.bin
  if ! command -v bochs >/dev/null 2>&1; then
    echo "Bochs: not run: bochs is not installed (Debian packages bochs bochs-term bochsbios)"
  elif [ ! -r "$VGA" ]; then
    echo "Bochs: not run: no VGA BIOS image (Debian package vgabios or seabios)"
  else
    # bench/qemu_boot.asm boots the image from a disk in 64-bit mode; the
    # image ends by writing "Shutdown" to Bochs's port 8900H. Bochs's
    # Haswell model has VMX; its debugger build is told to continue.
    nasm -f bin -DMODE_LONG64 -DIMAGE_SECTORS=8 -o "$WORK/boot.bin" bench/qemu_boot.asm || exit 2
    cat >"$WORK/bochsrc" <<EOF
megs: 64
cpu: model=corei7_haswell_4770, count=1
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=$VGA
ata0-master: type=disk, path=$WORK/disk.img, mode=flat, cylinders=2, heads=16, spt=63
boot: disk
display_library: term
log: $WORK/bochs.log
port_e9_hack: enabled=1
panic: action=fatal
error: action=report
EOF
    printf 'c\nquit\n' >"$WORK/bochs.rc"
    bochs_run() {  # iterations -> prints CPU seconds
      nasm -f bin -i tests/guest/ -DBOCHS_EXIT -DITERATIONS="$1" -o "$WORK/b.bin" "$SRC" || exit 2
      cat "$WORK/boot.bin" "$WORK/b.bin" >"$WORK/disk.img"
      truncate -s $(( 2 * 16 * 63 * 512 )) "$WORK/disk.img"
      cpu_seconds setsid timeout 1200 bochs -q -f "$WORK/bochsrc" -rc "$WORK/bochs.rc"
    }
    b0=$(bochs_run 0); ok0=$(grep -ac "vmx-roundtrip: done" "$WORK/out")
    b1=$(bochs_run "$ITER"); ok1=$(grep -ac "vmx-roundtrip: done" "$WORK/out")
    if [ "$ok0" != 1 ] || [ "$ok1" != 1 ]; then
      echo "Bochs: the L1 did not finish: $(grep -a "vmx-roundtrip" "$WORK/out" | head -n 1)"
    else
      BOCHS_NS=$(per_trip_ns "$b0" "$b1")
      echo "Bochs ($(bochs --help 2>&1 | sed -n 's/.*Bochs x86 Emulator \([0-9.]*\).*/\1/p' | head -n 1)," \
           "corei7_haswell_4770): $BOCHS_NS ns of host CPU per round trip (${b1} s for $ITER, ${b0} s for none)"
    fi
  fi
fi

# ---- the VM-entry checks alone ---------------------------------------------------------
if [ -x "$ENTRY_CHECKS_BENCH" ]; then
  "$ENTRY_CHECKS_BENCH"
else
  echo "entry checks: not measured ($ENTRY_CHECKS_BENCH not built)"
fi

echo
echo "Bochs time / softvt time per round trip: $(ratio "$BOCHS_NS" "$SOFTVT_NS")"
exit 0
