#!/usr/bin/env bash
# Cost of reverse execution in the gdb stub (docs/decisions.md "Reverse
# execution in gdb"): a loop of N million instructions that stores its
# counter each iteration runs under `softvt run --flat --gdb` and gdb
# (batch mode) times `continue` to its end, two `reverse-stepi`s, a
# `reverse-continue` to the previous write of a watched variable, and the
# plain run without gdb for comparison. It reports; it never asserts.
#
# Usage: bench/gdb_reverse.sh [MILLIONS]   (default 10)
# Environment: SOFTVT (default build/softvt), PORT (default 23999).
set -uo pipefail
cd "$(dirname "$0")/.."
MILLIONS=${1:-10}
SOFTVT=${SOFTVT:-build/softvt}
PORT=${PORT:-23999}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for tool in nasm gdb; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gdb_reverse: '$tool' is required but not installed" >&2; exit 2; }
done
# 4 instructions per iteration.
ITER=$((MILLIONS * 1000000 / 4))
cat > "$WORK/loop.asm" <<ASM
bits 64
org 0x10000
  mov ecx, $ITER
l: inc rax
  mov [0x20000], rax
  dec rcx
  jnz l
  hlt
ASM
nasm -f bin -o "$WORK/loop.bin" "$WORK/loop.asm" || exit 2
now() { date +%s.%N; }
# Seconds from $1 to $2.
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
t0=$(now); "$SOFTVT" run --flat "$WORK/loop.bin" >/dev/null; t1=$(now)
printf 'plain run (%s M instructions): %s s\n' "$MILLIONS" "$(span $t0 $t1)"
"$SOFTVT" run --flat "$WORK/loop.bin" --gdb "tcp:127.0.0.1:$PORT" --wait-gdb 2>/dev/null &
sleep 0.3
mark() { echo "-ex 'shell date +%s.%N'"; }
eval gdb -batch -nx -ex "'set architecture i386:x86-64'" -ex "'target remote 127.0.0.1:$PORT'" \
  "$(mark)" -ex continue "$(mark)" -ex reverse-stepi "$(mark)" -ex reverse-stepi "$(mark)" \
  -ex "'watch *(long*)0x20000'" -ex reverse-continue "$(mark)" -ex kill 2>/dev/null |
  grep -E '^[0-9]+\.[0-9]+$' > "$WORK/marks"
wait
mapfile -t m < "$WORK/marks"
if [ "${#m[@]}" -lt 5 ]; then echo "gdb_reverse: the gdb session did not complete" >&2; exit 1; fi
printf 'under gdb: continue to the end   %s s\n' "$(span ${m[0]} ${m[1]})"
printf '           reverse-stepi         %s s\n' "$(span ${m[1]} ${m[2]})"
printf '           reverse-stepi again   %s s\n' "$(span ${m[2]} ${m[3]})"
printf '           reverse-continue      %s s (to the previous write of a watched variable)\n' \
  "$(span ${m[3]} ${m[4]})"
