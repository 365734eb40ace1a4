#!/usr/bin/env bash
# Cost of reverse execution in the gdb stub (docs/decisions.md "Reverse
# execution in gdb"): a loop of N million instructions that stores its
# counter each iteration runs under `softvt run --flat --gdb` and, as a
# multiboot kernel, under `softvt run --kernel --gdb` (the PC machine);
# gdb (batch mode) times `continue` to its end, two `reverse-stepi`s, a
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
# The same loop as a PC kernel (32-bit, multiboot), ending in CLI; HLT.
cat > "$WORK/loop_pc.asm" <<ASM
%include "common.inc"
MULTIBOOT_HEADER
section .text
global _start
_start:
  mov ecx, $ITER
l: inc eax
  mov [0x200000], eax
  dec ecx
  jnz l
  cli
  hlt
ASM
nasm -f elf32 -I tests/kernels/ -o "$WORK/loop_pc.o" "$WORK/loop_pc.asm" &&
  ld -m elf_i386 --no-warn-rwx-segments -T tests/kernels/kernel.ld -o "$WORK/loop_pc.elf" "$WORK/loop_pc.o" || exit 2
now() { date +%s.%N; }
# Seconds from $1 to $2.
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# session NAME WATCH-EXPRESSION SOFTVT-ARGS...: the timed gdb session.
session() {
  local name=$1 watch=$2
  shift 2
  "$SOFTVT" run "$@" --gdb "tcp:127.0.0.1:$PORT" --wait-gdb >/dev/null 2>&1 &
  sleep 0.3
  eval gdb -batch -nx -ex "'set architecture i386:x86-64'" -ex "'target remote 127.0.0.1:$PORT'" \
    "$(mark)" -ex continue "$(mark)" -ex reverse-stepi "$(mark)" -ex reverse-stepi "$(mark)" \
    -ex "'watch $watch'" -ex reverse-continue "$(mark)" -ex kill 2>/dev/null |
    grep -E '^[0-9]+\.[0-9]+$' > "$WORK/marks"
  wait
  mapfile -t m < "$WORK/marks"
  if [ "${#m[@]}" -lt 5 ]; then echo "gdb_reverse: the $name gdb session did not complete" >&2; exit 1; fi
  printf '%s under gdb: continue to the end   %s s\n' "$name" "$(span ${m[0]} ${m[1]})"
  printf '%s            reverse-stepi         %s s\n' "$name" "$(span ${m[1]} ${m[2]})"
  printf '%s            reverse-stepi again   %s s\n' "$name" "$(span ${m[2]} ${m[3]})"
  printf '%s            reverse-continue      %s s (to the previous write of a watched variable)\n' \
    "$name" "$(span ${m[3]} ${m[4]})"
}
mark() { echo "-ex 'shell date +%s.%N'"; }
t0=$(now); "$SOFTVT" run --flat "$WORK/loop.bin" >/dev/null; t1=$(now)
printf 'flat plain run (%s M instructions): %s s\n' "$MILLIONS" "$(span $t0 $t1)"
session flat '*(long*)0x20000' --flat "$WORK/loop.bin"
t0=$(now); "$SOFTVT" run --kernel "$WORK/loop_pc.elf" -m 64 --serial none >/dev/null; t1=$(now)
printf 'PC plain run (%s M instructions): %s s\n' "$MILLIONS" "$(span $t0 $t1)"
session PC '*(int*)0x200000' --kernel "$WORK/loop_pc.elf" -m 64 --serial none
