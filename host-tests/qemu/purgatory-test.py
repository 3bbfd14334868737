#!/usr/bin/env python3
"""The purgatory in QEMU: it is booted as the "kernel"; the salvage image and a DTB are
placed in memory by -device loader; the purgatory's parameter block (filled here as
`salvage load` will: entry, DTB, console, and the SHA-256 of each segment) says where.

Modes:
  intact   every segment matches: the purgatory jumps, and salvage's boot report shows
           the DTB and the load address it was handed.
  damaged  one byte of the loaded image differs from what the digest was taken of (a
           stray write into the reservation): the purgatory names that segment on the
           console and does not jump (salvage never prints).

Prints "SALVAGE: PASS|FAIL <arch> purgatory-<mode>" and exits 0 only on PASS."""
import argparse
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys

from salvage_qemu import Fail, find, verdict
from salvage_qemu.qemu import EARLYCON, QEMU, boot, dump_dtb, patch_params

IMAGE_AT = {"aarch64": 0x44000000, "arm": 0x44000000, "riscv64": 0x84000000}
DTB_AT = {"aarch64": 0x4C000000, "arm": 0x4C000000, "riscv64": 0x8C000000}


# The parameter block's offsets, from its one definition (the #defines of params.h).
HERE = os.path.dirname(os.path.abspath(__file__))
PARAMS_H = os.path.join(HERE, "..", "..", "purgatory", "include", "salvage", "purgatory", "params.h")
P = {m.group(1): m.group(2) for m in re.finditer(r"^#define SALVAGE_PURGATORY_(\w+) (\S+)", open(PARAMS_H).read(), re.M)}
BLOCK = int(P["PARAMS_OFFSET"], 0)
MAGIC = P["MAGIC"].strip('"').encode()


def fill_params(purgatory, entry, dtb, arch, segments):
    kind, base = EARLYCON[arch]
    block = b""
    for addr, data in segments:
        block += struct.pack("<QQ", addr, len(data)) + hashlib.sha256(data).digest()
    assert len(block) <= int(P["MAX_SEGMENTS"], 0) * int(P["SEGMENT_SIZE"], 0)
    # version, segment count, entry, DTB, console kind, reg_shift, reg_io_width, reserved,
    # console base; the footprint the build wrote after them stays.
    params = struct.pack("<II QQ IBBH Q", 1, len(segments), entry, dtb, kind, 0, 1, 0, base)
    assert int(P["VERSION"], 0) + len(params) == int(P["FOOTPRINT"], 0)
    patch_params(purgatory, MAGIC, [(BLOCK + int(P["VERSION"], 0), params), (BLOCK + int(P["SEGMENTS"], 0), block)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=sorted(QEMU))
    ap.add_argument("--mode", required=True, choices=["intact", "damaged"])
    ap.add_argument("--image", required=True)
    ap.add_argument("--purgatory", required=True)
    a = ap.parse_args()
    return verdict(f"{a.arch} purgatory-{a.mode}", lambda work: run(a, work), prefix=f"salvage-purgatory-{a.arch}-",
                   errors=(Fail, subprocess.CalledProcessError))


def run(a, work):
    arch = a.arch
    dtb = os.path.join(work, "crash.dtb")
    dump_dtb(arch, dtb, ["-kernel", a.image, "-append", "salvage.debug=report"], timeout=30)
    image_data = open(a.image, "rb").read()
    dtb_data = open(dtb, "rb").read()
    purg = os.path.join(work, "purgatory.bin")
    shutil.copy(a.purgatory, purg)
    fill_params(purg, IMAGE_AT[arch], DTB_AT[arch], arch, [(IMAGE_AT[arch], image_data), (DTB_AT[arch], dtb_data)])
    loaded = os.path.join(work, "image-in-memory.img")
    damaged_at = len(image_data) // 2
    with open(loaded, "wb") as f:
        f.write(image_data if a.mode == "intact" else
                image_data[:damaged_at] + bytes([image_data[damaged_at] ^ 0x40]) + image_data[damaged_at + 1:])
    out_path = os.path.join(work, "serial.txt")
    args = ["-kernel", purg, "-device", f"loader,file={loaded},addr=0x{IMAGE_AT[arch]:x},force-raw=on",
            "-device", f"loader,file={dtb},addr=0x{DTB_AT[arch]:x},force-raw=on"]
    if a.mode == "intact":
        out, secs = boot(arch, args, out_path)
        m = find(r"^salvage: load-address 0x([0-9a-f]+)$", out, "salvage's boot report")
        if int(m.group(1), 16) != IMAGE_AT[arch]:
            raise Fail(f"salvage ran at 0x{m.group(1)}, the purgatory was to jump to 0x{IMAGE_AT[arch]:x}")
        m = find(r"^salvage: dtb 0x([0-9a-f]+) size", out, "the DTB line")
        if int(m.group(1), 16) != DTB_AT[arch]:
            raise Fail(f"salvage got the DTB at 0x{m.group(1)}, the purgatory was to pass 0x{DTB_AT[arch]:x}")
        find(r"^salvage: debug: stopping after the boot report", out, "the end of the boot report")
        return f" (jumped to 0x{IMAGE_AT[arch]:x} with the DTB at 0x{DTB_AT[arch]:x}, {secs:.1f} s)"
    marker = "purgatory: something wrote into the crash reservation; not jumping into it"
    out, secs = boot(arch, args, out_path, expect_exit=False, stop_marker=marker)
    find(rf"^purgatory: segment 0x0000000000000000 at 0x{IMAGE_AT[arch]:016x} \(0x{len(image_data):016x} bytes\) is damaged",
            out, "the message naming the damaged segment")
    if "segment 0x0000000000000001" in out:
        raise Fail("the intact DTB segment was reported damaged")
    if "salvage:" in out:
        raise Fail("salvage ran although its image was damaged")
    return f" (segment 0 named, no jump, {secs:.1f} s)"


if __name__ == "__main__":
    sys.exit(main())
