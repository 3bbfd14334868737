#!/usr/bin/env python3
"""Checks a built salvage image without running it:
  - it is a static PIE whose only dynamic relocations are the architecture's RELATIVE
    type (the entry code applies those and traps on anything else; seed 001 shows what
    other types cost a loader);
  - the Linux image header at offset 0 is right: arm64 magic "ARM\\x64" with image_size =
    the whole memory footprint and flags 0xa; RISC-V magic "RSC\\x05" and image_size;
    zImage magic 0x016f2818 with end = the file size, and an extension tag table
    (magic2 0x45454545) whose KRNL_SIZE tag, read as kexec-tools' zImage loader reads it
    (find_extension_tag), gives the memory footprint;
  - the boot parameter block sits at 0x40;
  - the raw image is the ELF's file contents.
Prints "SALVAGE: PASS image <arch> ..." with the sizes, or "SALVAGE: FAIL ..."."""
import argparse
import os
import re
import struct
import subprocess
import sys

RELATIVE = {"aarch64": "R_AARCH64_RELATIVE", "arm": "R_ARM_RELATIVE", "riscv64": "R_RISCV_RELATIVE"}


def symbols(elf):
    out = subprocess.run(["llvm-nm-16", elf], check=True, capture_output=True, text=True).stdout
    return {p[2]: int(p[0], 16) for p in (l.split() for l in out.splitlines()) if len(p) == 3}


def zimage_krnl_size(img):
    """The size a zImage's KRNL_SIZE tag gives (edata at size_ptr + bss_size), walked as
    kexec-tools 2.0.25 does (kexec/arch/arm/kexec-zImage-arm.c, find_extension_tag:
    magic2 0x45454545 at 0x34, the table's offset at 0x38, tags of {size in words, id}
    until a size of 0 or the end of the file); None without one."""
    magic2, offset = struct.unpack_from("<II", img, 0x34)
    if magic2 != 0x45454545:
        return None
    while offset + 8 <= len(img):
        words, tag = struct.unpack_from("<II", img, offset)
        if words == 0 or offset + words * 4 >= len(img):
            return None
        if tag == 0x5A534C4B and words >= 4:
            size_ptr, bss = struct.unpack_from("<II", img, offset + 8)
            if size_ptr + 4 > len(img):
                return None
            return struct.unpack_from("<I", img, size_ptr)[0] + bss
        offset += words * 4
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=sorted(RELATIVE))
    ap.add_argument("--elf", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--purgatory", action="store_true",
                    help="check a purgatory.bin: relocations and its parameter block, no Linux header")
    a = ap.parse_args()
    problems = []
    relocs = subprocess.run(["llvm-readelf-16", "-r", a.elf], check=True, capture_output=True, text=True).stdout
    types = re.findall(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+(R_\w+)", relocs, re.M)
    other = sorted(set(t for t in types if t != RELATIVE[a.arch]))
    if other:
        problems.append(f"relocation types other than {RELATIVE[a.arch]}: {', '.join(other)}")
    hdr = subprocess.run(["llvm-readelf-16", "-h", a.elf], check=True, capture_output=True, text=True).stdout
    if "DYN" not in hdr:
        problems.append("the ELF is not position-independent (type is not DYN)")
    syms = symbols(a.elf)
    mem_size = syms["_end"] - syms["__image_start"]
    file_size = syms["_edata"] - syms["__image_start"]
    with open(a.image, "rb") as f:
        img = f.read()
    if len(img) != file_size:
        problems.append(f"raw image is {len(img)} bytes, the ELF's contents end at {file_size}")
    if a.purgatory:
        # The parameter block's offsets, from its one definition (the #defines of params.h).
        params_h = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "purgatory", "include", "salvage",
                                "purgatory", "params.h")
        p = dict(re.findall(r"^#define SALVAGE_PURGATORY_(\w+) (\S+)", open(params_h).read(), re.M))
        block, magic = int(p["PARAMS_OFFSET"], 0), p["MAGIC"].strip('"').encode()
        footprint = struct.unpack_from("<I", img, block + int(p["FOOTPRINT"], 0))[0]
        if img[block:block + len(magic)] != magic:
            problems.append(f"no purgatory parameter block at 0x{block:x}")
        elif footprint != mem_size:
            problems.append(f"recorded footprint 0x{footprint:x} != memory footprint 0x{mem_size:x}")
    elif a.arch == "aarch64":
        if img[0x38:0x3C] != b"ARM\x64":
            problems.append("no arm64 Image magic at 0x38")
        size, flags = struct.unpack_from("<QQ", img, 0x10)
        if size != mem_size:
            problems.append(f"image_size 0x{size:x} != memory footprint 0x{mem_size:x}")
        if flags != 0xA:
            problems.append(f"flags 0x{flags:x}, want 0xa (LE, 4K, anywhere)")
    elif a.arch == "riscv64":
        if img[0x38:0x3C] != b"RSC\x05" or img[0x30:0x35] != b"RISCV":
            problems.append("no RISC-V Image magic at 0x30/0x38")
        size = struct.unpack_from("<Q", img, 0x10)[0]
        if size != mem_size:
            problems.append(f"image_size 0x{size:x} != memory footprint 0x{mem_size:x}")
    else:
        magic, start, end, endian = struct.unpack_from("<IIII", img, 0x24)
        if magic != 0x016F2818 or endian != 0x04030201:
            problems.append("no zImage magic at 0x24 / endianness marker at 0x30")
        if end - start != len(img):
            problems.append(f"zImage end-start 0x{end - start:x} != file size 0x{len(img):x}")
        krnl_size = zimage_krnl_size(img)
        if krnl_size is None:
            problems.append("no zImage KRNL_SIZE extension tag (magic2 at 0x34, table offset at 0x38)")
        elif krnl_size != mem_size:
            problems.append(f"zImage KRNL_SIZE tag: text+data + bss = 0x{krnl_size:x} != memory footprint 0x{mem_size:x}")
    if not a.purgatory and img[0x40:0x48] != b"SLVGBOOT":
        problems.append("no boot parameter block at 0x40")
    elif not a.purgatory:
        footprint = struct.unpack_from("<I", img, 0x64)[0]
        if footprint != mem_size:
            problems.append(f"boot parameter footprint 0x{footprint:x} != memory footprint 0x{mem_size:x}")
    if problems:
        print(f"SALVAGE: FAIL {'purgatory' if a.purgatory else 'image'} {a.arch}: " + "; ".join(problems))
        return 1
    print(f"SALVAGE: PASS {'purgatory' if a.purgatory else 'image'} {a.arch}: file {len(img)} bytes, memory {mem_size} bytes, "
          f"{len(types)} {RELATIVE[a.arch]} relocations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
