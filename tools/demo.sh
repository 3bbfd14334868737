#!/usr/bin/env bash
# The main job: from nothing, build everything and capture a crashed machine over a
# serial line in QEMU. A synthetic crashed machine (tools/synth-crash.py: memory with
# zero, random, patterned and text pages, per-CPU crash notes, VMCOREINFO and a kexec-
# style ELF core header) is loaded into QEMU at its physical addresses; salvage boots as
# the capture kernel, streams the memory over the serial line (a TCP socket here) into
# `salvage recv`, which writes the vmcore; the vmcore is checked byte for byte against
# the machine's memory and shown with `salvage inspect`.
#
# Usage: tools/demo.sh [aarch64|arm|riscv64]     (default: aarch64)
# The vmcore stays in build/demo-<arch>/vmcore.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-aarch64}
case "$arch" in aarch64|arm|riscv64) ;; *) echo "demo: unknown architecture '$arch' (aarch64, arm or riscv64)" >&2; exit 2;; esac
tools/setup.sh build
cmake --preset default >/dev/null
cmake --build --preset default
echo
echo "demo: capturing a synthetic crashed $arch machine over the serial line (QEMU virt)"
echo
rm -rf "build/demo-$arch"
python3 host-tests/qemu/capture-test.py --arch "$arch" --mode serial --show --workdir "build/demo-$arch" \
  --image "build/image-$arch/boot/salvage.img" --salvage build/loader/salvage --synth tools/synth-crash.py
