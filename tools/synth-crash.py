#!/usr/bin/env python3
"""Writes a synthetic crashed machine for salvage's capture tests and benchmarks.

Output directory:
  manifest.json      what is where: machine, RAM size, reservation, elfcorehdr, ranges,
                     notes, and the QEMU -device loader arguments that place it all
  range-<n>.bin      the "old memory" of each PT_LOAD range (what the dump must equal)
  elfcorehdr.bin     the ELF core header kexec would have built (ELF64 or ELF32)

Memory contents mix what a real machine has: random pages (incompressible), zero pages,
repeated patterns, text-like pages (compress well) and half-random pages. The per-CPU
crash notes (NT_PRSTATUS) and the VMCOREINFO note live inside the first range, where a
real kernel keeps them, and the PT_NOTE entries point at them by physical address. Like
kexec-tools on arm64, an extra PT_LOAD for the kernel text duplicates part of the first
RAM range; salvage must dump those bytes once.

Deterministic for a given --seed.
"""
import argparse
import json
import os
import random
import struct

PAGE = 4096
# Per architecture: QEMU machine, RAM base, ELF e_machine, class, prstatus size,
# where QEMU puts the image and the DTB (docs/toolchain.md section 5), and the layout of
# the ranges.
MACHINES = {
    "aarch64": dict(ram_base=0x40000000, ram_mib=4096, e_machine=183, elf_class=64, prstatus=392,
                    image=0x40200000, dtb=0x48000000,
                    ranges=[(0x41000000, 6), (0x50000000, 4), (0x110000000, 2)],
                    kernel_vaddr=0xFFFF800008000000),
    "riscv64": dict(ram_base=0x80000000, ram_mib=4096, e_machine=243, elf_class=64, prstatus=376,
                    image=0x80200000, dtb=0xBFE00000,
                    ranges=[(0x81000000, 6), (0x90000000, 4), (0x110000000, 2)],
                    kernel_vaddr=0xFFFFFFFF80000000),
    # QEMU raspi3b (arm64, 1 GiB board: QEMU sets /memory to 0..0x3c000000); an image with
    # text_offset 0 is loaded at 0x200000, the DTB at 0x08000000 (docs/toolchain.md
    # section 5).
    "raspi3b": dict(ram_base=0x0, ram_mib=960, e_machine=183, elf_class=64, prstatus=392,
                    image=0x200000, dtb=0x08000000,
                    ranges=[(0x01000000, 6), (0x10000000, 4), (0x30000000, 2)],
                    kernel_vaddr=0xFFFF800008000000),
    "arm": dict(ram_base=0x40000000, ram_mib=2048, e_machine=40, elf_class=32, prstatus=148,
                image=0x40010000, dtb=0x48000000,
                ranges=[(0x41000000, 6), (0x50000000, 4), (0x60000000, 2)],
                kernel_vaddr=0xC0008000),
    # QEMU raspi2b (32-bit Cortex-A7; /memory 0..0x3c000000 as on raspi3b): a zImage is
    # loaded at 0x10000, the DTB at 0x08000000 (docs/toolchain.md section 5).
    "raspi2b": dict(ram_base=0x0, ram_mib=960, e_machine=40, elf_class=32, prstatus=148,
                    image=0x10000, dtb=0x08000000,
                    ranges=[(0x01000000, 6), (0x10000000, 4), (0x30000000, 2)],
                    kernel_vaddr=0xC0008000),
    # QEMU raspi0 (ARM1176, ARMv6; /memory 0..0x1c000000), loaded as raspi2b.
    "raspi0": dict(ram_base=0x0, ram_mib=448, e_machine=40, elf_class=32, prstatus=148,
                   image=0x10000, dtb=0x08000000,
                   ranges=[(0x01000000, 6), (0x10000000, 4), (0x18000000, 2)],
                   kernel_vaddr=0xC0008000),
}
RESERVATION_SIZE = 0x400000  # 4 MiB around the image: salvage, its DTB copy, the elfcorehdr


def page_contents(rng, kind):
    if kind == "zero":
        return bytes(PAGE)
    if kind == "random":
        return rng.randbytes(PAGE)
    if kind == "pattern":
        b = rng.randrange(1, 256)
        return bytes([b, b ^ 0xFF, (b * 7) & 0xFF, 0x55]) * (PAGE // 4)
    if kind == "text":
        words = [b"kernel", b"panic", b"salvage", b"page", b"struct", b"0x", b"task", b"\n", b"irq", b"mm"]
        out = bytearray()
        while len(out) < PAGE:
            out += rng.choice(words) + b" "
        return bytes(out[:PAGE])
    if kind == "half":
        return rng.randbytes(PAGE // 2) + bytes(PAGE // 2)
    raise ValueError(kind)


KINDS = ["zero", "random", "pattern", "text", "half"]
WEIGHTS = [30, 20, 15, 25, 10]


def make_range(rng, size):
    out = bytearray()
    for _ in range(size // PAGE):
        out += page_contents(rng, rng.choices(KINDS, WEIGHTS)[0])
    return out


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    pad = lambda b: b + bytes((4 - len(b) % 4) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def elf_core_header(m, notes, loads):
    """notes: [(phys, size)], loads: [(phys, vaddr, size)] -> bytes of an ET_CORE header."""
    phnum = len(notes) + len(loads)
    if m["elf_class"] == 64:
        ehsize, phentsize = 64, 56
        ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
        eh = ident + struct.pack("<HHIQQQIHHHHHH", 4, m["e_machine"], 1, 0, ehsize, 0, 0,
                                 ehsize, phentsize, phnum, 0, 0, 0)
        ph = b""
        for phys, size in notes:
            ph += struct.pack("<IIQQQQQQ", 4, 0, phys, 0, 0, size, size, 0)
        for phys, vaddr, size in loads:
            ph += struct.pack("<IIQQQQQQ", 1, 7, phys, vaddr, phys, size, size, 0)
    else:
        ehsize, phentsize = 52, 32
        ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
        eh = ident + struct.pack("<HHIIIIIHHHHHH", 4, m["e_machine"], 1, 0, ehsize, 0, 0,
                                 ehsize, phentsize, phnum, 0, 0, 0)
        ph = b""
        for phys, size in notes:
            ph += struct.pack("<IIIIIIII", 4, phys, 0, 0, size, size, 0, 0)
        for phys, vaddr, size in loads:
            ph += struct.pack("<IIIIIIII", 1, phys, vaddr, phys, size, size, 7, 0)
    return eh + ph


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=sorted(MACHINES))
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--cpus", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every range's size (bench: --scale 21.3 gives ~256 MiB)")
    a = ap.parse_args()
    m = MACHINES[a.arch]
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    ranges = []
    for i, (base, mib) in enumerate(m["ranges"]):
        size = max(PAGE, int(mib * a.scale * 1024 * 1024) // PAGE * PAGE)
        if ranges and base < (1 << 32) and ranges[-1][0] + ranges[-1][1] + 0x1000000 > base:
            # Scaled up: start 16 MiB after the previous range instead.
            base = (ranges[-1][0] + ranges[-1][1] + 0x1000000 + 0xFFFFF) & ~0xFFFFF
        ranges.append([base, size])
    if a.scale > 1 and ranges[0][0] < m["dtb"] + 0x200000 and ranges[0][0] + ranges[0][1] > m["dtb"]:
        # Keep clear of where QEMU puts the DTB: move everything below 4 GiB past it.
        shift = m["dtb"] + 0x1000000 - ranges[0][0]
        ranges = [[b + shift, s] if b < (1 << 32) else [b, s] for b, s in ranges]
    for i in range(len(ranges) - 1):
        if ranges[i][0] + ranges[i][1] > ranges[i + 1][0]:
            raise SystemExit(f"synth: range {i} overlaps range {i + 1} at scale {a.scale}")
    ram_end = m["ram_base"] + m["ram_mib"] * 1024 * 1024
    if ranges[-1][0] + ranges[-1][1] > ram_end:
        raise SystemExit("synth: the ranges do not fit in the machine's RAM")
    data = [make_range(rng, size) for _, size in ranges]

    # Notes inside range 0, page-aligned, at its second page (a real kernel keeps them
    # in per-CPU memory and the kernel image's data).
    notes, off = [], PAGE
    vmcoreinfo = (f"OSRELEASE=6.1.0-salvage-synthetic\nPAGESIZE={PAGE}\nBUILD-ID=5a1a6e\n"
                  f"SYMBOL(_stext)=ffff800008010000\nNUMBER(VA_BITS)=48\nCRASHTIME=1700000000\n").encode()
    note_blobs = []
    for cpu in range(a.cpus):
        desc = bytearray(rng.randbytes(m["prstatus"]))
        struct.pack_into("<I", desc, 0, cpu)  # a recognisable first word: the CPU number
        note_blobs.append(("CORE", 1, bytes(desc)))
    note_blobs.append(("VMCOREINFO", 0, vmcoreinfo))
    for name, ntype, desc in note_blobs:
        blob = note(name, ntype, desc)
        phys = ranges[0][0] + off
        data[0][off:off + len(blob)] = blob
        notes.append({"phys": phys, "size": len(blob), "name": name, "type": ntype})
        off += (len(blob) + 63) // 64 * 64

    # Linear-map virtual addresses, as the kernel's PT_LOADs carry them.
    if m["elf_class"] == 32:
        loads = [(base, (m["kernel_vaddr"] + base - m["ram_base"]) & 0xFFFFFFFF, size) for base, size in ranges]
    else:
        loads = [(base, 0xFFFF000000000000 | base, size) for base, size in ranges]
    # The kernel-text PT_LOAD that duplicates the start of the first range.
    text = (ranges[0][0], m["kernel_vaddr"], min(ranges[0][1], 0x200000))
    hdr = elf_core_header(m, [(n["phys"], n["size"]) for n in notes], [text] + loads)

    reservation = [m["image"] & ~0xFFFFF, RESERVATION_SIZE]
    elfcorehdr_addr = reservation[0] + reservation[1] - PAGE
    if len(hdr) > PAGE:
        raise SystemExit("synth: the core header does not fit in one page")
    usable = [reservation, [m["dtb"], 0x200000]]

    with open(os.path.join(a.out, "elfcorehdr.bin"), "wb") as f:
        f.write(hdr)
    loaders = [f"loader,file={os.path.join(a.out, 'elfcorehdr.bin')},addr=0x{elfcorehdr_addr:x},force-raw=on"]
    files = []
    for i, ((base, size), d) in enumerate(zip(ranges, data)):
        path = os.path.join(a.out, f"range-{i}.bin")
        with open(path, "wb") as f:
            f.write(d)
        files.append(path)
        loaders.append(f"loader,file={path},addr=0x{base:x},force-raw=on")
    manifest = {
        "arch": a.arch, "elf_class": m["elf_class"], "e_machine": m["e_machine"], "page_size": PAGE,
        "ram_base": m["ram_base"], "ram_mib": m["ram_mib"], "cpus": a.cpus,
        "elfcorehdr": [elfcorehdr_addr, len(hdr)], "usable_memory_range": usable,
        "ranges": [{"base": b, "size": s, "file": f} for (b, s), f in zip(ranges, files)],
        "kernel_text_load": {"base": text[0], "vaddr": text[1], "size": text[2]},
        "notes": notes, "vmcoreinfo": vmcoreinfo.decode(), "loader_args": loaders,
        "bytes": sum(s for _, s in ranges),
    }
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"synth: {a.arch} machine, {len(ranges)} ranges, {manifest['bytes'] >> 20} MiB, "
          f"{a.cpus} CPUs, ELF{m['elf_class']} core header at 0x{elfcorehdr_addr:x} in {a.out}")


if __name__ == "__main__":
    main()
