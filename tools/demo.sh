#!/usr/bin/env bash
# The main job: from nothing, build what it needs, then crash a real Linux kernel in QEMU
# and capture it with salvage. Debian bookworm's arm64 kernel boots in qemu-system-aarch64
# (-M virt, 2 CPUs, 512 MiB) with the smallest crashkernel= salvage fits in; its busybox
# initramfs runs `salvage load` (the static arm64 build) and `echo c > /proc/sysrq-trigger`.
# After the panic the kernel jumps through salvage's purgatory into the image, which
# streams the crashed kernel's memory over the serial line (a TCP socket on 127.0.0.1)
# into `salvage recv`. The vmcore is then read by Debian's arm64 makedumpfile (under
# qemu-aarch64-static), and the tail of the crashed kernel's log is shown, read from it.
#
# Usage: tools/demo.sh                      the real crash (above)
#        tools/demo.sh synthetic [ARCH]     a synthetic crashed machine instead, on
#                                           aarch64 (default), arm or riscv64
# The files stay in build/demo-crash/ (vmcore, dmesg.txt, recv.log) or build/demo-<arch>/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-crash}
case "$mode" in
  crash) ;;
  synthetic)
    arch=${2:-aarch64}
    case "$arch" in aarch64|arm|riscv64) ;; *) echo "demo: unknown architecture '$arch' (aarch64, arm or riscv64)" >&2; exit 2;; esac ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "demo: unknown mode '$mode' (run tools/demo.sh --help)" >&2; exit 2 ;;
esac
tools/setup.sh build
cmake --preset default >/dev/null
# Only what the demo runs (tools/test.sh builds the rest): the host command, the image
# and purgatory, and for the real crash the board's static salvage.
if [ "$mode" = synthetic ]; then
  cmake --build --preset default --target salvage "image-$arch"
else
  cmake --build --preset default --target salvage image-aarch64 salvage-linux-aarch64
fi
echo
if [ "$mode" = synthetic ]; then
  echo "demo: capturing a synthetic crashed $arch machine over the serial line (QEMU virt)"
  echo
  rm -rf "build/demo-$arch"
  exec python3 host-tests/qemu/capture-test.py --arch "$arch" --mode serial --show --workdir "build/demo-$arch" \
    --image "build/image-$arch/boot/salvage.img" --salvage build/loader/salvage --synth tools/synth-crash.py
fi
echo "demo: crashing Debian's arm64 kernel ($(cat build/crash-kit/arm64/release)) in QEMU; salvage captures it over the serial line"
echo
rm -rf build/demo-crash
python3 host-tests/qemu/crash-test.py --loader load --sink serial --workdir build/demo-crash --show \
  --kit build/crash-kit/arm64 --image build/image-aarch64/boot/salvage.img \
  --purgatory build/image-aarch64/purgatory/purgatory.bin \
  --salvage-arm64 build/salvage-linux-aarch64/loader/salvage --salvage build/loader/salvage
