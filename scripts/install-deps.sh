#!/usr/bin/env bash
# Installs the Debian packages softvt needs that are not installed yet.
# qemu-system-x86 is the peer the `kernels` test compares the test kernels'
# output against and bench/ measures against.
set -euo pipefail
packages=(g++ meson ninja-build pkg-config python3 nasm binutils libzydis-dev libcapstone-dev
          libboost-dev catch2 libxbyak-dev liblzma-dev zlib1g-dev acpica-tools gdb qemu-system-x86)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
