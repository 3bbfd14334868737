#!/usr/bin/env python3
"""Benchmark: a serial capture of a 256 MiB synthetic crashed machine in QEMU.

Prints, per architecture:
  - the image size (file, and memory footprint incl. .bss/stacks/page tables);
  - stream bytes per dumped byte on the synthetic machine's mixed content
    (zero pages, random, patterns, text, half-random);
  - the time from the image's entry (SalvageMain) to the trailer, measured by the image
    itself with the architecture's counter, and the wall time QEMU took;
  - the line rate that implies (stream bytes / stream time).
QEMU's UARTs have no baud rate, so the serial figures measure salvage's own cost per
byte (encoding, compression, UART polling) under TCG, not a real line.

Usage: bench/serial-capture.py [--arch aarch64|arm|riscv64|all] [--mib 256]
Needs a build (tools/test.sh or cmake --build --preset default).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from common import BASE_MIB, BUILD, ROOT, image_sizes


def bench(arch, mib):
    work = tempfile.mkdtemp(prefix=f"salvage-bench-{arch}-")
    scale = mib / BASE_MIB
    r = subprocess.run([sys.executable, os.path.join(ROOT, "host-tests", "qemu", "capture-test.py"),
                        "--arch", arch, "--mode", "serial", "--scale", f"{scale:.4f}",
                        "--image", os.path.join(BUILD, f"image-{arch}", "boot", "salvage.img"),
                        "--salvage", os.path.join(BUILD, "loader", "salvage"),
                        "--synth", os.path.join(ROOT, "tools", "synth-crash.py"), "--workdir", work],
                       capture_output=True, text=True)
    if "SALVAGE: PASS" not in r.stdout:
        raise SystemExit(f"bench: the {arch} capture failed:\n{r.stdout}{r.stderr}")
    wall = float(re.search(r", ([\d.]+) s\)", r.stdout).group(1))
    log = open(os.path.join(work, "recv.log"), errors="replace").read()
    m = re.search(r"dump complete: (\d+) pages \((\d+) zero, (\d+) lz4, (\d+) raw\), (\d+) stream bytes for (\d+) MiB", log)
    t = re.search(r"stream took ([\d.]+) s; entry to trailer ([\d.]+) s", log)
    pages, zero, lz4, raw, stream_bytes = (int(m.group(i)) for i in range(1, 6))
    dumped = pages * 4096
    f, mem = image_sizes(arch)
    subprocess.run(["rm", "-rf", work])
    return dict(arch=arch, file=f, mem=mem, pages=pages, zero=zero, lz4=lz4, raw=raw, stream=stream_bytes,
                ratio=stream_bytes / dumped, stream_s=float(t.group(1)), entry_s=float(t.group(2)), wall=wall,
                mib=dumped >> 20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="aarch64", choices=["aarch64", "arm", "riscv64", "all"])
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    arches = ["aarch64", "arm", "riscv64"] if a.arch == "all" else [a.arch]
    print(f"{'arch':8} {'image file':>10} {'image mem':>10} {'dumped':>8} {'zero/lz4/raw pages':>20} "
          f"{'stream/dumped':>13} {'entry->trailer':>14} {'rate':>10} {'QEMU wall':>9}")
    for arch in arches:
        r = bench(arch, a.mib)
        rate = r["stream"] / r["stream_s"] / 1e6 if r["stream_s"] else 0
        print(f"{r['arch']:8} {r['file']:>10,} {r['mem']:>10,} {r['mib']:>5} MiB "
              f"{r['zero']:>6}/{r['lz4']:>6}/{r['raw']:>6} {r['ratio']:>13.3f} {r['entry_s']:>12.2f} s "
              f"{rate:>6.2f} MB/s {r['wall']:>7.1f} s", flush=True)


if __name__ == "__main__":
    main()
