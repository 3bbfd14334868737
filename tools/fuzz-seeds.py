#!/usr/bin/env python3
"""Regenerates the fuzz targets' seed corpora, host-tests/fuzz-corpus/<target>/.

Every seed is an input salvage really reads, made by salvage's own code or taken from
real machines:
  - dump streams (every record type and encoding, ELF32 and ELF64, 4 KiB and 64 KiB
    pages, skipped pages, a damaged line, no trailer, no header), disk images holding
    dumps behind MBR, GPT (512- and 4096-byte sectors) and extents (complete, truncated,
    interrupted), and the SD dump file's extent maps: host-tests/fuzz/make-seeds.cc,
    with the stream encoder, the block sink and the partition-table test layouts;
  - vmcores: `salvage convert` of those streams, with their program headers moved up
    (salvage leaves room for 8192, which would make every seed 450 KiB);
  - elfcorehdrs (ELF64 and ELF32) and the crash DTBs salvage load makes: `salvage load
    --dry-run --root` over the /proc and /sys fixture trees of host-tests/data (copied
    from QEMU machines running Debian), with QEMU's virt DTBs;
  - DTBs: QEMU virt for aarch64 (EL1, and EL2 with GICv3), arm and riscv64 (dumped with
    dumpdtb), Debian's Raspberry Pi DTBs (build/pi-dtbs), the host tests' fixtures;
  - /proc/iomem and /proc/cmdline of the fixture trees; salvage.conf files.

Usage: tools/fuzz-seeds.py [BUILD_DIR [IMAGE_BUILD_DIR]]
  BUILD_DIR (default: build): where salvage and the generator are built;
  IMAGE_BUILD_DIR (default: BUILD_DIR): a build whose aarch64 and arm images salvage
  load places (for the elfcorehdrs), e.g. one tools/test.sh made.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "host-tests" / "fuzz-corpus"
DATA = ROOT / "host-tests" / "data"


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def put(target, name, data):
    """Writes a seed, unless the target already has one with the same bytes."""
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if any(f.read_bytes() == data for f in d.iterdir()):
        return
    (d / name).write_bytes(data)


def compact_vmcore(data):
    """The same ELF core file with its program headers right after the ELF header and
    the notes and loads packed behind them (offsets rewritten)."""
    cls = data[4]
    if cls == 2:
        eh_fmt, ph_fmt = "<16sHHIQQQIHHHHHH", "<IIQQQQQQ"
    else:
        eh_fmt, ph_fmt = "<16sHHIIIIIHHHHHH", "<IIIIIIII"
    eh = list(struct.unpack_from(eh_fmt, data, 0))
    phoff, phentsize, phnum = eh[5], eh[9], eh[10]
    phdrs = [list(struct.unpack_from(ph_fmt, data, phoff + i * phentsize)) for i in range(phnum)]
    ehsize = struct.calcsize(eh_fmt)
    out = bytearray(ehsize + phnum * phentsize)
    moved = {}
    for ph in phdrs:
        # 64: p_type p_flags p_offset p_vaddr p_paddr p_filesz ...; 32: p_type p_offset ...
        off_i, size_i = (2, 5) if cls == 2 else (1, 4)
        old, size = ph[off_i], ph[size_i]
        if (old, size) not in moved:
            while len(out) % 8:
                out.append(0)
            moved[(old, size)] = len(out)
            out += data[old:old + size]
        ph[off_i] = moved[(old, size)]
    eh[5] = ehsize
    struct.pack_into(eh_fmt, out, 0, *eh)
    for i, ph in enumerate(phdrs):
        struct.pack_into(ph_fmt, out, ehsize + i * phentsize, *ph)
    return bytes(out)


def dump_qemu_dtbs(tmp):
    machines = [
        ("qemu-virt-aarch64", "qemu-system-aarch64", ["-M", "virt,dumpdtb={}", "-cpu", "cortex-a53", "-m", "1G", "-smp", "2"]),
        ("qemu-virt-aarch64-el2-gicv3", "qemu-system-aarch64",
         ["-M", "virt,virtualization=on,gic-version=3,dumpdtb={}", "-cpu", "cortex-a57", "-m", "2G"]),
        ("qemu-virt-arm", "qemu-system-arm", ["-M", "virt,dumpdtb={}", "-m", "512M"]),
        ("qemu-virt-riscv64", "qemu-system-riscv64", ["-M", "virt,dumpdtb={}", "-m", "1G", "-smp", "2"]),
    ]
    out = {}
    for name, qemu, args in machines:
        raw = tmp / f"{name}.raw.dtb"
        args = [a.format(raw) for a in args]
        run(qemu, *args, "-nic", "none", "-nographic", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dtb = tmp / f"{name}.dtb"
        run("dtc", "-q", "-I", "dtb", "-O", "dtb", "-o", dtb, raw)  # without QEMU's 1 MiB padding
        out[name] = dtb
    return out


def main():
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build").resolve()
    images = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else build
    run("cmake", "--build", build, "--target", "salvage-fuzz-seeds", "salvage")
    salvage = build / "loader" / "salvage"
    generated = ["stream-decoder", "receiver", "inspect", "extract", "blockdump", "dump-file", "elfcore", "dtb",
                 "iomem", "crashkernel", "config"]
    for t in generated:
        shutil.rmtree(CORPUS / t, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        run(build / "host-tests" / "salvage-fuzz-seeds", tmp / "gen")
        gen = tmp / "gen"
        for f in sorted((gen / "stream").iterdir()):
            for t in ("stream-decoder", "receiver", "inspect"):
                put(t, f.name, f.read_bytes())
            vm = tmp / f"{f.name}.vmcore"
            rc = subprocess.run([salvage, "convert", "-f", "-o", vm, f], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode
            if rc in (0, 3):
                put("inspect", f"vmcore-{f.name}", compact_vmcore(vm.read_bytes()))
        for t in ("extract", "blockdump", "dump-file"):
            for f in sorted((gen / t).iterdir()):
                put(t, f.name, f.read_bytes())

        # DTBs.
        qemu = dump_qemu_dtbs(tmp)
        for name, dtb in qemu.items():
            put("dtb", name + ".dtb", dtb.read_bytes())
        pi = build / "pi-dtbs"
        if (pi / ".done-v1").exists():
            for f in sorted(pi.glob("*.dtb")):
                put("dtb", "debian-" + f.name, f.read_bytes())
        else:
            print("fuzz-seeds: no Raspberry Pi DTBs in", pi, "(tools/setup.sh fetches them); left out")
        for dts in sorted(DATA.glob("*.dts")):
            dtb = tmp / (dts.stem + ".dtb")
            run("dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts)
            put("dtb", "fixture-" + dtb.name, dtb.read_bytes())

        # elfcorehdrs and crash DTBs from salvage load over the fixture trees.
        for arch, tree, dtb, extra in (("aarch64", "proc-arm64-virt", "qemu-virt-aarch64", []),
                                       ("arm", "proc-armhf-virt", "qemu-virt-arm", []),
                                       ("arm", "proc-armhf-virt", "qemu-virt-arm", ["--elf64"])):
            image = images / f"image-{arch}" / "boot" / "salvage.img"
            purgatory = images / f"image-{arch}" / "purgatory" / "purgatory.bin"
            if not image.exists() or not purgatory.exists():
                print(f"fuzz-seeds: no {arch} image in {images}; its elfcorehdr is left out")
                continue
            out = tmp / f"dry-{arch}{''.join(extra)}"
            run(salvage, "load", "--dry-run", "--root", DATA / tree, "--arch", arch, "--dtb", qemu[dtb],
                "--image", image, "--purgatory", purgatory, "--out", out, *extra, stdout=subprocess.DEVNULL)
            cls = "elf64" if (arch == "aarch64" or extra) else "elf32"
            hdr = next(out.glob("*-elfcorehdr-*.bin")).read_bytes()
            put("elfcore", f"{tree}-{cls}", hdr)
            put("inspect", f"elfcorehdr-{tree}-{cls}", hdr)
            if not extra:
                put("dtb", f"salvage-load-{dtb}.dtb", next(out.glob("*-dtb-*.bin")).read_bytes())

    # Text: /proc/iomem, /proc/cmdline, salvage.conf.
    for tree in sorted(DATA.glob("proc-*")):
        put("iomem", tree.name, (tree / "proc" / "iomem").read_bytes())
        cmdline = (tree / "proc" / "cmdline").read_bytes().strip()
        # crashkernel-fuzz.cc: u64 RAM, u8 options, the text.
        put("crashkernel", tree.name, struct.pack("<QB", 4 << 30, 3) + cmdline)
    for i, (ram, flags, text) in enumerate((
            (1 << 30, 1, b"512M-2G:64M,2G-:128M@16M"),
            (8 << 30, 3, b"crashkernel=256M,high crashkernel=72M,low quiet"),
            (2 << 30, 2, b"crashkernel=1M crashkernel=64M,cma root=/dev/mmcblk0p2"),
            (512 << 20, 0, b"0x100000@0x7f000000"),
            (16 << 30, 3, b"crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M"))):
        put("crashkernel", f"example-{i}", struct.pack("<QB", ram, flags) + text)
    put("config", "dist-salvage.conf", (ROOT / "loader" / "dist" / "salvage.conf").read_bytes())
    put("config", "sd-file.conf", b"export USE_SALVAGE=yes\nSALVAGE_SINK=sd-file\nSALVAGE_FILE='/var/crash/salvage.dump'\n"
        b"SALVAGE_FILE_SIZE=1536M # enough for 1 GiB\nSALVAGE_AFTER=reboot\n")
    put("config", "quoted.conf", b"SALVAGE_SINK=\"virtio-blk@0xa003e00\"\r\nSALVAGE_TARGET=gpt-name:salvage-dump\n"
        b"SALVAGE_APPEND=\"salvage.debug=report \\\"x\\\" \\$HOME \\`y\\`\"\nSALVAGE_DTB=/boot/dtbs/bcm2837-rpi-3-b.dtb\n"
        b"SALVAGE_IMAGE=/usr/lib/salvage/salvage.img\nSALVAGE_PURGATORY=\nUSE_SALVAGE=0\n")
    for t in generated:
        n = len(list((CORPUS / t).iterdir())) if (CORPUS / t).exists() else 0
        size = sum(f.stat().st_size for f in (CORPUS / t).iterdir()) if n else 0
        print(f"fuzz-seeds: {t}: {n} seeds, {size // 1024} KiB")


if __name__ == "__main__":
    main()
