#!/usr/bin/env bash
# Recording overhead: runs the fixed integer workload bench/workload_long64.asm
# (20 instructions per iteration: ALU, loads and stores, a data-dependent
# branch, the loop branch) under `softvt run --flat` without recording, with
# --record, with --record --record-regs, and with --record --record-regs
# --record-mem, and prints each run's time, the slowdown factor against the
# run without recording, and the trace's size in bytes per million
# instructions. Time is the softvt process's CPU time (user + system),
# which a loaded shared host disturbs much less than wall time; each
# configuration runs REPEAT times and the fastest run counts. It reports;
# it never asserts a timing.
#
# Usage: bench/trace_overhead.sh [ITERATIONS]   (default 1000000 = ~20M insns)
# Environment: SOFTVT (default build/softvt), REPEAT (default 7), BEFORE
# (another softvt binary, e.g. one built from an older commit: its
# recording configurations run interleaved with SOFTVT's, against the
# same run without recording, so that before/after come from one
# invocation and one host load; each of its traces is compared byte for
# byte with SOFTVT's of the same configuration, and the script fails if
# they differ).
set -uo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-1000000}
REPEAT=${REPEAT:-7}
SOFTVT=${SOFTVT:-build/softvt}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

command -v nasm >/dev/null 2>&1 || { echo "trace_overhead: nasm is required" >&2; exit 2; }
[ -x "$SOFTVT" ] || { echo "trace_overhead: no softvt binary at '$SOFTVT' (build it, or set SOFTVT)" >&2; exit 2; }

INSNS=$(( 20 * ITER + 9 ))
nasm -f bin -DITERATIONS="$ITER" -o "$WORK/w.bin" bench/workload_long64.asm || exit 2
echo "workload: bench/workload_long64.asm, $ITER iterations = $INSNS guest instructions; best of $REPEAT runs"
echo

# The configurations, run in turn REPEAT times (interleaved, so a change
# in the host's load affects them alike); the fastest run of each counts.
LABELS=("no recording" "--record" "--record --record-regs" "--record --record-regs --record-mem")
OPTS=("" "--record" "--record --record-regs" "--record --record-regs --record-mem")
BINS=("$SOFTVT" "$SOFTVT" "$SOFTVT" "$SOFTVT")
if [ -n "${BEFORE:-}" ]; then
  [ -x "$BEFORE" ] || { echo "trace_overhead: BEFORE='$BEFORE' is not an executable" >&2; exit 2; }
  for i in 1 2 3; do
    LABELS+=("${LABELS[$i]} (BEFORE)")
    OPTS+=("${OPTS[$i]}")
    BINS+=("$BEFORE")
  done
fi
declare -a BEST BYTES
for _ in $(seq "$REPEAT"); do
  for i in "${!LABELS[@]}"; do
    # Each configuration's trace is kept (the last run's) for the comparison below.
    trace="$WORK/t$i.trace"
    rm -f "$trace"
    opts=${OPTS[$i]/--record/--record $trace}
    TIMEFORMAT='%3U %3S'
    # shellcheck disable=SC2086
    { time "${BINS[$i]}" run --flat "$WORK/w.bin" --dump-state "$WORK/state.json" $opts 2>"$WORK/err"; } \
      2>"$WORK/time" || { echo "${LABELS[$i]}: the run failed: $(head -c 300 "$WORK/err")"; exit 1; }
    s=$(awk '{ printf "%.3f", $1 + $2 }' "$WORK/time")
    BEST[$i]=$(awk -v a="${BEST[$i]:-$s}" -v b="$s" 'BEGIN { print (b < a) ? b : a }')
    got=$(( $(sed -n 's/.*"insns": "\(0x[0-9a-f]*\)".*/\1/p' "$WORK/state.json") ))
    [ "$got" -eq "$INSNS" ] || { echo "${LABELS[$i]}: ran $got instructions, expected $INSNS"; exit 1; }
    BYTES[$i]=0
    [ -f "$trace" ] && BYTES[$i]=$(stat -c %s "$trace")
  done
done

printf "%-45s %8s  %8s  %12s  %14s\n" "configuration" "CPU s" "slowdown" "trace bytes" "bytes/M insns"
for i in "${!LABELS[@]}"; do
  if [ "$i" -eq 0 ]; then
    printf "%-45s %8s  %7sx  %12s  %14s\n" "${LABELS[$i]}" "${BEST[0]}" "1.00" "-" "-"
  else
    printf "%-45s %8s  %7sx  %12s  %14s\n" "${LABELS[$i]}" "${BEST[$i]}" \
      "$(awk -v a="${BEST[$i]}" -v b="${BEST[0]}" 'BEGIN { printf "%.2f", a / b }')" "${BYTES[$i]}" \
      "$(awk -v n="${BYTES[$i]}" -v i="$INSNS" 'BEGIN { printf "%.0f", n / (i / 1e6) }')"
  fi
done
# BEFORE's traces against SOFTVT's: the same run must give the same bytes.
status=0
if [ -n "${BEFORE:-}" ]; then
  echo
  for i in 1 2 3; do
    j=$((i + 3))
    if cmp -s "$WORK/t$i.trace" "$WORK/t$j.trace"; then
      echo "${LABELS[$i]}: the trace is byte for byte BEFORE's"
    else
      echo "${LABELS[$i]}: the trace DIFFERS from BEFORE's: $(cmp "$WORK/t$i.trace" "$WORK/t$j.trace" 2>&1 | head -1)"
      status=1
    fi
  done
fi
exit $status
