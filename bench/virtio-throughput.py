#!/usr/bin/env python3
"""Benchmark: a dump of a 1 GiB synthetic crashed machine into virtio-blk in QEMU.

Prints, per architecture and virtio-mmio transport:
  - the image size with the virtio-blk driver (file, and memory footprint);
  - the dump's throughput: dumped memory / time of the stream (measured by the image);
  - a plain memory copy of the same pages in the same guest (salvage.debug=copy-bench),
    and the dump's throughput as a fraction of it: the figure the issue asks for;
  - stream bytes on disk per dumped byte.
Then the dump is read back with `salvage extract` and compared byte for byte (by the
test script this uses), so the figure is for a correct dump.

Usage: bench/virtio-throughput.py [--arch aarch64|arm|riscv64|all] [--mib 1024] [--transport legacy|modern]
Needs a build (tools/test.sh or cmake --build --preset default).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from common import BASE_MIB, BUILD, ROOT, image_sizes


def seconds(text, pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def bench(arch, mib, transport):
    work = tempfile.mkdtemp(prefix=f"salvage-vbench-{arch}-")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "host-tests", "qemu", "disk-test.py"),
                        "--arch", arch, "--target", "disk", "--transport", transport,
                        "--scale", f"{mib / BASE_MIB:.4f}", "--disk-mib", str(max(64, mib // 2 + 64)),
                        "--extra-options", "salvage.debug=copy-bench",
                        "--image", os.path.join(BUILD, f"image-{arch}", "boot", "salvage.img"),
                        "--salvage", os.path.join(BUILD, "loader", "salvage"),
                        "--synth", os.path.join(ROOT, "tools", "synth-crash.py"), "--workdir", work],
                       capture_output=True, text=True)
    serial = os.path.join(work, "serial.txt")
    out = open(serial, errors="replace").read() if os.path.exists(serial) else ""
    subprocess.run(["rm", "-rf", work])
    if "SALVAGE: PASS" not in r.stdout:
        raise SystemExit(f"bench: the {arch} dump failed:\n{r.stdout}{r.stderr}\n{out[-2000:]}")
    copy_mib = int(re.search(r"copy-bench: copied (\d+) MiB", out).group(1))
    copy_s = seconds(out, r"copy-bench: copied \d+ MiB in ([\d.]+) s")
    dump_s = seconds(out, r"stream took ([\d.]+) s")
    m = re.search(r"dump complete: (\d+) pages .*?, (\d+) stream bytes", out)
    pages, stream_bytes = int(m.group(1)), int(m.group(2))
    f, mem = image_sizes(arch)
    dumped = pages * 4096
    return dict(arch=arch, transport=transport, file=f, mem=mem, mib=dumped >> 20,
                dump_rate=dumped / dump_s / 2**20, copy_rate=copy_mib / copy_s, dump_s=dump_s, copy_s=copy_s,
                ratio=stream_bytes / dumped)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="aarch64", choices=["aarch64", "arm", "riscv64", "all"])
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--transport", default="modern", choices=["legacy", "modern"])
    a = ap.parse_args()
    arches = ["aarch64", "arm", "riscv64"] if a.arch == "all" else [a.arch]
    print(f"{'arch':8} {'transport':9} {'image file':>10} {'image mem':>10} {'dumped':>9} {'dump':>16} "
          f"{'plain copy':>17} {'dump/copy':>9} {'stream/dumped':>13}")
    for arch in arches:
        r = bench(arch, a.mib, a.transport)
        print(f"{r['arch']:8} {r['transport']:9} {r['file']:>10,} {r['mem']:>10,} {r['mib']:>5} MiB "
              f"{r['dump_rate']:>7.1f} MiB/s {r['dump_s']:>5.1f}s {r['copy_rate']:>7.1f} MiB/s {r['copy_s']:>5.2f}s "
              f"{r['dump_rate'] / r['copy_rate']:>9.3f} {r['ratio']:>13.3f}", flush=True)


if __name__ == "__main__":
    main()
