#!/usr/bin/env bash
# Recording overhead: runs the fixed integer workload bench/workload_long64.asm
# (20 instructions per iteration: ALU, loads and stores, a data-dependent
# branch, the loop branch) under `softvt run --flat` without recording, with
# --record, with --record --record-regs, and with --record --record-regs
# --record-mem, and prints each run's time, the slowdown factor against the
# run without recording, and the trace's size in bytes per million
# instructions. Each configuration runs REPEAT times and the fastest run
# counts (the host is shared). It reports; it never asserts a timing.
#
# Usage: bench/trace_overhead.sh [ITERATIONS]   (default 1000000 = ~20M insns)
# Environment: SOFTVT (default build/softvt), REPEAT (default 3).
set -uo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-1000000}
REPEAT=${REPEAT:-3}
SOFTVT=${SOFTVT:-build/softvt}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

command -v nasm >/dev/null 2>&1 || { echo "trace_overhead: nasm is required" >&2; exit 2; }
[ -x "$SOFTVT" ] || { echo "trace_overhead: no softvt binary at '$SOFTVT' (build it, or set SOFTVT)" >&2; exit 2; }

now() { date +%s.%N; }
INSNS=$(( 20 * ITER + 9 ))
nasm -f bin -DITERATIONS="$ITER" -o "$WORK/w.bin" bench/workload_long64.asm || exit 2
echo "workload: bench/workload_long64.asm, $ITER iterations = $INSNS guest instructions; best of $REPEAT runs"
echo

# $1 = label, rest = extra options; sets BEST (seconds) and BYTES.
measure() {
  local label=$1; shift
  BEST=
  for _ in $(seq "$REPEAT"); do
    rm -f "$WORK/t.trace"
    local t0 t1 s
    t0=$(now)
    "$SOFTVT" run --flat "$WORK/w.bin" --dump-state "$WORK/state.json" "$@" 2>"$WORK/err" || {
      echo "$label: the run failed: $(head -c 300 "$WORK/err")"; exit 1; }
    t1=$(now)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    BEST=$(awk -v a="${BEST:-$s}" -v b="$s" 'BEGIN { print (b < a) ? b : a }')
  done
  local got
  got=$(( $(sed -n 's/.*"insns": "\(0x[0-9a-f]*\)".*/\1/p' "$WORK/state.json") ))
  [ "$got" -eq "$INSNS" ] || { echo "$label: ran $got instructions, expected $INSNS"; exit 1; }
  BYTES=0
  [ -f "$WORK/t.trace" ] && BYTES=$(stat -c %s "$WORK/t.trace")
}

measure "no recording"
BASE=$BEST
printf "%-36s %8s s  %5s x  %12s bytes  %10s bytes/M insns\n" "no recording" "$BASE" "1.00" "-" "-"
report() {
  local label=$1; shift
  measure "$label" "$@"
  printf "%-36s %8s s  %5s x  %12s bytes  %10s bytes/M insns\n" "$label" "$BEST" \
    "$(awk -v a="$BEST" -v b="$BASE" 'BEGIN { printf "%.2f", a / b }')" "$BYTES" \
    "$(awk -v n="$BYTES" -v i="$INSNS" 'BEGIN { printf "%.0f", n / (i / 1e6) }')"
}
report "--record" --record "$WORK/t.trace"
report "--record --record-regs" --record "$WORK/t.trace" --record-regs
report "--record --record-regs --record-mem" --record "$WORK/t.trace" --record-regs --record-mem
exit 0
