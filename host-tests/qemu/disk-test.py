#!/usr/bin/env python3
"""End-to-end dump to virtio-blk on a synthetic crashed machine (tools/synth-crash.py):
QEMU boots the salvage image with a virtio-blk-device (virtio-mmio, legacy or modern
transport); salvage writes the dump to the target named in /chosen/salvage,options;
after QEMU powers off, `salvage extract` reads the disk image back into a vmcore, which
must equal the machine's memory byte for byte.

Targets:
  disk      the whole disk (salvage.target=disk salvage.confirm=whole-disk).
  gpt       a GPT partition found by name ("salvage-dump"), between two other partitions.
  extents   eight extents scattered over the disk; every byte outside them is a guard
            pattern that must be unchanged afterwards.
  small     a target smaller than the dump: what fits is kept in address order, the
            dump is marked truncated, and extract says so (exit 3).
  busy      the first driver instance leaves requests queued on the virtqueue
            (salvage.debug=virtio-busy) before the real one starts: the dump must still
            be right.
  unconfirmed  salvage.target=disk without salvage.confirm=whole-disk: the image must
            refuse, say why, stop, and leave every sector of the disk as it was.
  notarget  salvage.sink=virtio-blk and no salvage.target at all: the same.

Prints "SALVAGE: PASS|FAIL <arch> disk-<target>-<transport> ..." and exits 0 only on PASS.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import time
import uuid
import zlib

from salvage_qemu import Fail, verdict
from salvage_qemu.dtb import run as fdt_run, set_chosen
from salvage_qemu.qemu import QEMU, dump_dtb, machine_cmd
from salvage_qemu.synth import compare_memory, loader_devices, synth_machine
from salvage_qemu.vmcore import page_at

SECTOR = 512
DISK_MIB = 64
GUARD = bytes(range(256)) * 2  # one sector of guard pattern
PART_NAME = "salvage-dump"
PART_GUID = "5a1a6e00-1234-4abc-8def-0123456789ab"


def guid_bytes(text):
    return uuid.UUID(text).bytes_le


def write_gpt(path, disk_bytes, parts):
    """parts: [(name, first_lba, last_lba, unique_guid)] -> a GPT disk with a protective MBR."""
    sectors = disk_bytes // SECTOR
    with open(path, "r+b") as f:
        mbr = bytearray(512)
        struct.pack_into("<BBBBBBBBII", mbr, 446, 0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1, min(sectors - 1, 0xFFFFFFFF))
        mbr[510:512] = b"\x55\xaa"
        f.seek(0)
        f.write(mbr)
        entries = bytearray(128 * 128)
        linux_data = guid_bytes("0fc63daf-8483-4772-8e79-3d69d8477de4")
        for i, (name, first, last, guid) in enumerate(parts):
            e = linux_data + guid_bytes(guid) + struct.pack("<QQQ", first, last, 0) + name.encode("utf-16le").ljust(72, b"\0")
            entries[i * 128:(i + 1) * 128] = e
        entries_crc = zlib.crc32(bytes(entries))

        def header(current, backup, entries_lba):
            h = bytearray(92)
            struct.pack_into("<8sIIIIQQQQ16sQIII", h, 0, b"EFI PART", 0x10000, 92, 0, 0, current, backup,
                             34, sectors - 34, guid_bytes("11111111-2222-4333-8444-555555555555"),
                             entries_lba, 128, 128, entries_crc)
            struct.pack_into("<I", h, 16, zlib.crc32(bytes(h)))
            return bytes(h).ljust(SECTOR, b"\0")

        f.seek(1 * SECTOR)
        f.write(header(1, sectors - 1, 2))
        f.seek(2 * SECTOR)
        f.write(entries)
        f.seek((sectors - 33) * SECTOR)
        f.write(entries)
        f.seek((sectors - 1) * SECTOR)
        f.write(header(sectors - 1, 1, sectors - 33))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=sorted(QEMU))
    ap.add_argument("--target", required=True, choices=["disk", "gpt", "extents", "small", "busy", "unconfirmed", "notarget"])
    ap.add_argument("--transport", default="legacy", choices=["legacy", "modern"])
    ap.add_argument("--damage-header", action="store_true",
                    help="flip a bit in the dump's header block before extract: it must use the backup "
                         "header block (docs/disk-format.md §2) and still give the whole vmcore")
    ap.add_argument("--image", required=True)
    ap.add_argument("--salvage", required=True)
    ap.add_argument("--synth", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--disk-mib", type=int, default=DISK_MIB)
    ap.add_argument("--extra-options", default="", help="more words for /chosen/salvage,options (bench/)")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    name = f"disk-{a.target}-{a.transport}"
    return verdict(f"{a.arch} {name}", lambda work: run(a, work), a.workdir, prefix=f"salvage-{a.arch}-{name}-")


def run(a, work):
    arch = a.arch
    m = synth_machine(a.synth, arch, work, a.scale)
    disk = os.path.join(work, "disk.img")
    disk_bytes = a.disk_mib << 20
    with open(disk, "wb") as f:
        f.write(GUARD * (disk_bytes // SECTOR))
    total_sectors = disk_bytes // SECTOR

    extents = None
    if a.target in ("disk", "busy"):
        target, extract_args = "disk salvage.confirm=whole-disk", []
    elif a.target in ("unconfirmed", "notarget"):
        target, extract_args = "disk", []
    elif a.target == "gpt":
        first, last = 2048 + 8192, total_sectors - 34 - 8192
        write_gpt(disk, disk_bytes, [("before", 2048, 2048 + 8191, "aaaaaaaa-0000-4000-8000-000000000001"),
                                     (PART_NAME, first, last, PART_GUID),
                                     ("after", last + 1, total_sectors - 34, "aaaaaaaa-0000-4000-8000-000000000002")])
        extents = [(first, last - first + 1)]
        target, extract_args = f"gpt-name:{PART_NAME}", ["--target", f"gpt-name:{PART_NAME}"]
    elif a.target == "extents":
        # Eight scattered extents, 6 MiB in all, each with guard sectors around it.
        extents, lba = [], 4096
        for i in range(8):
            count = 1536 + (i % 3) * 512
            extents.append((lba, count))
            lba += count + 1024 + i * 777
        spec_text = ",".join(f"{s}+{c}" for s, c in extents)
        target, extract_args = f"extents:{spec_text}", ["--extents", spec_text]
    else:  # small: 2 MiB for a 12 MiB machine
        extents = [(8192, 4096)]
        spec_text = f"8192+4096"
        target, extract_args = f"extents:{spec_text}", ["--extents", spec_text]

    ram = f"{m['ram_mib']}M"
    dtb = os.path.join(work, "crash.dtb")
    dump_dtb(arch, dtb, ["-kernel", a.image], ram=ram)
    set_chosen(dtb, m["elfcorehdr"], m["usable_memory_range"])
    options = f"salvage.sink=virtio-blk salvage.target={target}"
    if a.target == "notarget":
        options = "salvage.sink=virtio-blk"
    if a.target == "busy":
        options += " salvage.debug=virtio-busy"
    if a.extra_options:
        options += " " + a.extra_options
    fdt_run(["fdtput", "-t", "s", dtb, "/chosen", "salvage,options", options])

    serial = os.path.join(work, "serial.txt")
    args = machine_cmd(arch, ram=ram) + ["-serial", f"file:{serial}", "-kernel", a.image, "-dtb", dtb,
                           "-drive", f"if=none,id=hd0,file={disk},format=raw",
                           "-device", "virtio-blk-device,drive=hd0"]
    if a.transport == "modern":
        args += ["-global", "virtio-mmio.force-legacy=false"]
    args += loader_devices(m)
    start = time.monotonic()
    r = subprocess.run(args, capture_output=True, text=True, timeout=900)
    secs = time.monotonic() - start
    out = open(serial, errors="replace").read()
    if r.returncode != 0:
        raise Fail(f"QEMU exited {r.returncode}: {r.stderr}\n{out[-3000:]}")
    if a.target in ("unconfirmed", "notarget"):
        return check_refused(a, disk, out, secs)
    if "salvage: done" not in out and a.target != "small":
        raise Fail(f"salvage did not finish:\n{out[-3000:]}")
    want_transport = {"legacy": "version 1", "modern": "version 2"}[a.transport]
    if not re.search(rf"^salvage: virtio-blk .*{want_transport}", out, re.M):
        raise Fail(f"the console does not show a virtio-blk device with {want_transport}:\n{out[-3000:]}")

    if extents is not None and a.target in ("extents", "small", "gpt"):
        check_guards(disk, extents, a.target == "gpt")

    if a.damage_header:
        # One bit of a reserved byte of the header block: only its CRC notices.
        at = (extents[0][0] if extents else 0) * SECTOR + 200
        with open(disk, "r+b") as f:
            f.seek(at)
            b = f.read(1)[0]
            f.seek(at)
            f.write(bytes([b ^ 0x08]))

    vmcore = os.path.join(work, "vmcore")
    if os.path.exists(vmcore):
        os.remove(vmcore)
    x = subprocess.run([a.salvage, "extract", disk, "-o", vmcore] + extract_args,
                       capture_output=True, text=True, errors="replace", timeout=120)
    log = x.stderr
    open(os.path.join(work, "extract.log"), "w").write(log + x.stdout)
    if not os.path.exists(vmcore):
        raise Fail(f"salvage extract wrote no vmcore (exit {x.returncode}):\n{log[-2000:]}\nconsole:\n{out[-2000:]}")
    d, loads, notes, is64, missing, wrong = compare_memory(m, vmcore)
    if wrong:
        raise Fail(f"{len(wrong)} pages differ from the machine's memory, first at 0x{wrong[0]:x}")
    if a.target == "small":
        if x.returncode != 3 or "truncated" not in log:
            raise Fail(f"extract exited {x.returncode} on a truncated dump, expected 3 and 'truncated':\n{log[-2000:]}")
        # What fits is kept in address order: the pages present form a prefix.
        present = [p for rg in m["ranges"] for p in range(rg["base"], rg["base"] + rg["size"], 4096)
                   if page_at(d, loads, p) is not None]
        all_pages = [p for rg in m["ranges"] for p in range(rg["base"], rg["base"] + rg["size"], 4096)]
        if not present or present != all_pages[:len(present)]:
            raise Fail("the truncated dump does not keep a prefix of the memory in address order")
        return f" ({len(present)} of {len(all_pages)} pages kept in order, marked truncated, {secs:.1f} s)"
    if x.returncode != 0 or missing:
        raise Fail(f"extract exited {x.returncode}, {len(missing)} pages missing:\n{log[-2000:]}")
    # The stream header records the sink really used, not uart (issue #10).
    # (the target word alone: salvage.confirm= is an instruction, not recorded)
    if f'options "salvage.sink=virtio-blk salvage.target={target.split()[0]} ' not in log:
        raise Fail(f"the stream header does not record the virtio-blk sink and its target:\n{log[-2000:]}")
    if a.damage_header:
        if not re.search(r"the dump header block on .* is damaged \(CRC mismatch\); used its backup at area offset \d+",
                         log):
            raise Fail(f"extract did not say it used the backup header block:\n{log[-2000:]}")
        mib = sum(rg["size"] for rg in m["ranges"]) >> 20
        return f" (header block damaged; the backup gave {mib} MiB equal byte for byte, {secs:.1f} s)"
    mib = sum(rg["size"] for rg in m["ranges"]) >> 20
    return f" ({mib} MiB equal byte for byte, {secs:.1f} s)"


def check_refused(a, disk, out, secs):
    """The image refused the unconfirmed whole disk (or the missing target): it said so,
    stopped without a dump, and wrote nothing: every sector still holds the guard."""
    want = {"unconfirmed": "salvage: refused: salvage.target=disk writes over the whole device, and "
                           "salvage.confirm=whole-disk does not confirm it",
            "notarget": "salvage: refused: a block sink needs salvage.target="}[a.target]
    if want not in out:
        raise Fail(f"the console does not say {want!r}:\n{out[-3000:]}")
    if "salvage: stopping; the dump is incomplete" not in out:
        raise Fail(f"salvage did not stop after refusing:\n{out[-3000:]}")
    if re.search(r"^salvage: virtio-blk at ", out, re.M) or "salvage: writing" in out:
        raise Fail(f"salvage went on to the device after refusing:\n{out[-3000:]}")
    check_guards(disk, [], False)
    return f" (refused, nothing written to the {a.disk_mib} MiB disk, {secs:.1f} s)"


def check_guards(disk, extents, gpt):
    """Every sector outside the extents still holds the guard pattern (for GPT: outside
    the partition and the partition tables)."""
    with open(disk, "rb") as f:
        data = f.read()
    inside = bytearray(len(data) // SECTOR)
    for s, c in extents:
        for i in range(s, s + c):
            inside[i] = 1
    sectors = len(data) // SECTOR
    if gpt:  # the tables we wrote ourselves
        for i in list(range(0, 34)) + list(range(sectors - 33, sectors)):
            inside[i] = 1
    for i in range(sectors):
        if not inside[i] and data[i * SECTOR:(i + 1) * SECTOR] != GUARD:
            raise Fail(f"sector {i}, outside the target, was written")


if __name__ == "__main__":
    sys.exit(main())
