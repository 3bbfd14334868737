#!/usr/bin/env bash
# The main job, for now: build everything from nothing and boot the salvage image in
# QEMU (aarch64 virt, with an elfcorehdr and usable-memory-range injected into the DTB
# as a kexec loader would), showing its boot report. Capturing a real dump comes with
# the next issues; this script will grow into that.
#
# Usage: tools/demo.sh [aarch64|arm|riscv64]     (default: aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-aarch64}
case "$arch" in aarch64|arm|riscv64) ;; *) echo "demo: unknown architecture '$arch' (aarch64, arm or riscv64)" >&2; exit 2;; esac
tools/setup.sh build
cmake --preset default >/dev/null
cmake --build --preset default
echo
echo "demo: booting build/image-$arch/boot/salvage.img in QEMU ($arch virt); its serial console follows"
echo
python3 host-tests/qemu/boot-test.py --arch "$arch" --mode report --show \
  --image "build/image-$arch/boot/salvage.img" --elf "build/image-$arch/boot/salvage.elf"
