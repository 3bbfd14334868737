"""What the benchmarks in bench/ share: where the build is, and the image's sizes.

Importing it puts host-tests/qemu on sys.path, so that a bench then imports the QEMU
harness (salvage_qemu, host-tests/qemu/salvage_qemu/__init__.py) with a plain import."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
QEMU_TESTS = os.path.join(ROOT, "host-tests", "qemu")
if QEMU_TESTS not in sys.path:
    sys.path.insert(0, QEMU_TESTS)
BASE_MIB = 12  # tools/synth-crash.py's ranges at --scale 1


def image_sizes(arch):
    """(file bytes, memory footprint bytes) of build/image-<arch>, from tools/check-image.py."""
    img = os.path.join(BUILD, f"image-{arch}", "boot", "salvage.img")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "check-image.py"), "--arch", arch,
                          "--elf", img.replace(".img", ".elf"), "--image", img], capture_output=True, text=True).stdout
    m = re.search(r"file (\d+) bytes, memory (\d+) bytes", out)
    if not m:
        raise SystemExit(f"bench: cannot read the {arch} image's sizes (build first):\n{out}")
    return int(m.group(1)), int(m.group(2))
