#!/usr/bin/env python3
"""End-to-end dump to an SD card on QEMU's raspi3b (a synthetic crashed machine from
tools/synth-crash.py --arch raspi3b): QEMU boots the aarch64 salvage image with the
Raspberry Pi 3 B device tree and `-drive if=sd` (which raspi3b attaches to the Arasan
SDHCI "EMMC" at 0x3f300000); salvage (salvage.sink=sd) writes the dump to the target
named in /chosen/salvage,options; after QEMU stops, `salvage extract` reads the card
image back into a vmcore, which must equal the machine's memory byte for byte.

The device tree is Debian's bcm2837-rpi-3-b.dtb (--dtb, fetched by tools/setup.sh), or
host-tests/data/raspi3b-sd.dts when it is missing. Either way the console is pointed at
the PL011 (serial0), and the elfcorehdr, usable memory and options go into /chosen.

Cases:
  disk-sdsc   a 64 MiB card (SDSC: CSD 1.0, byte addressing), the whole card
              (salvage.target=disk salvage.confirm=whole-disk).
  mbr-sdsc    the same card with an MBR: partition 2 between two others; every sector
              outside it (and the MBR) must keep its guard pattern.
  mbr-sdhc    a 4 GiB card (SDHC: CSD 2.0, block addressing) with partition 2 past
              2 GiB, where byte addresses would not even reach; guards around it.
  busy-sdsc   a first driver leaves an 8-block CMD25 half sent (salvage.debug=sd-busy),
              as a kernel that crashed mid-write leaves controller and card; the real
              driver must reset both and the dump must still be right.
  sdhost-*    the same on the BCM2835 SDHOST at 0x3f202000: salvage first routes GPIO
              48-53 to it (salvage.debug=sd-pins-sdhost), as Linux leaves a Pi 3, and
              QEMU moves the card along; the Arasan is then empty.

Prints "SALVAGE: PASS|FAIL raspi3b sd-<case> ..." and exits 0 only on PASS.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys

from salvage_qemu import Fail, verdict
from salvage_qemu.dtb import run as fdt_run, set_chosen
from salvage_qemu.qemu import Qemu, machine_cmd
from salvage_qemu.synth import check_vmcore, loader_devices, synth_machine

HERE = os.path.dirname(os.path.abspath(__file__))
SECTOR = 512
GUARD = bytes(range(256)) * 2  # one sector of guard pattern
TIMEOUT = 600

ROUTE = "salvage.debug=sd-pins-sdhost"
CASES = {
    # card bytes, salvage.target, partition 2 (first sector, sectors) or None, extra options,
    # the controller that must take the dump
    "disk-sdsc": (64 << 20, "disk", None, "", "bcm2835-sdhci at 0x3f300000"),
    "mbr-sdsc": (64 << 20, "mbr:2", (20480, 81920), "", "bcm2835-sdhci at 0x3f300000"),
    "mbr-sdhc": (4 << 30, "mbr:2", (6_000_000, 65536), "", "bcm2835-sdhci at 0x3f300000"),
    "busy-sdsc": (64 << 20, "disk", None, "salvage.debug=sd-busy", "bcm2835-sdhci at 0x3f300000"),
    "sdhost-mbr-sdsc": (64 << 20, "mbr:2", (20480, 81920), ROUTE, "bcm2835-sdhost at 0x3f202000"),
    "sdhost-mbr-sdhc": (4 << 30, "mbr:2", (6_000_000, 65536), ROUTE, "bcm2835-sdhost at 0x3f202000"),
    "sdhost-busy-sdsc": (64 << 20, "disk", None, ROUTE + " salvage.debug=sd-busy", "bcm2835-sdhost at 0x3f202000"),
}


def write_card(path, size, part2):
    """A card image of `size` bytes. SDSC-sized cards are filled with the guard pattern;
    a large (sparse) card gets guards only in windows around the partition. With part2,
    an MBR with three partitions: 1 before, 2 the dump area, 3 after."""
    with open(path, "wb") as f:
        f.truncate(size)
        if size <= 256 << 20:
            f.seek(0)
            f.write(GUARD * (size // SECTOR))
        elif part2:
            first, count = part2
            for start in (first - 2048, first + count):
                f.seek(start * SECTOR)
                f.write(GUARD * 2048)
        if part2:
            first, count = part2
            mbr = bytearray(GUARD)
            mbr[446:510] = bytes(64)
            parts = [(0x0c, 2048, first - 2048 - 2048), (0x83, first, count), (0x83, first + count + 2048, 4096)]
            for i, (ptype, lba, n) in enumerate(parts):
                struct.pack_into("<B3sB3sII", mbr, 446 + 16 * i, 0, b"\0\0\0", ptype, b"\0\0\0", lba, n)
            mbr[510:512] = b"\x55\xaa"
            f.seek(0)
            f.write(mbr)


def check_guards(path, size, part2):
    """Every guard sector outside partition 2 and the MBR is unchanged."""
    first, count = part2
    with open(path, "rb") as f:
        if size <= 256 << 20:
            windows = [(1, first - 1), (first + count, size // SECTOR - first - count)]
        else:
            windows = [(first - 2048, 2048), (first + count, 2048)]
        for start, n in windows:
            f.seek(start * SECTOR)
            data = f.read(n * SECTOR)
            for i in range(n):
                if data[i * SECTOR:(i + 1) * SECTOR] != GUARD:
                    raise Fail(f"sector {start + i}, outside partition 2 ({first}+{count}), was written")


def make_dtb(a, work, m, options):
    dtb = os.path.join(work, "rpi3b.dtb")
    if a.dtb and os.path.exists(a.dtb):
        shutil.copy(a.dtb, dtb)
        source = "Debian bcm2837-rpi-3-b.dtb"
    else:
        fdt_run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb, os.path.join(HERE, "..", "data", "raspi3b-sd.dts")])
        source = "raspi3b-sd.dts"
    fdt_run(["fdtput", "-t", "s", dtb, "/chosen", "stdout-path", "serial0:115200n8"])
    set_chosen(dtb, m["elfcorehdr"], m["usable_memory_range"])
    fdt_run(["fdtput", "-t", "s", dtb, "/chosen", "salvage,options", options])
    return dtb, source


def run_qemu(args, serial):
    """Runs QEMU until it exits, or until salvage has stopped (a board whose stop
    salvage cannot do halts in place): then QEMU is ended."""
    with Qemu(args, stderr=subprocess.PIPE) as q:
        stopped_at = None
        for out in q.follow(serial, TIMEOUT):
            if stopped_at is None and re.search(r"^salvage: (done; stopping|stopping; the dump is incomplete)", out,
                                                re.M):
                stopped_at = q.elapsed()
            if stopped_at is not None and q.elapsed() - stopped_at > 3:
                q.proc.terminate()
    _, err = q.proc.communicate()
    return q.elapsed(), err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--image", required=True, help="the aarch64 salvage.img")
    ap.add_argument("--salvage", required=True)
    ap.add_argument("--synth", required=True)
    ap.add_argument("--dtb", help="Debian's bcm2837-rpi-3-b.dtb (else host-tests/data/raspi3b-sd.dts)")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    name = f"sd-{a.case}"
    return verdict(f"raspi3b {name}", lambda work: run(a, work), a.workdir, prefix=f"salvage-raspi3b-{name}-")


def run(a, work):
    card_bytes, target, part2, extra, controller = CASES[a.case]
    m = synth_machine(a.synth, "raspi3b", work)
    card = os.path.join(work, "card.img")
    write_card(card, card_bytes, part2)
    options = f"salvage.sink=sd salvage.target={target}" + (f" {extra}" if extra else "")
    if target == "disk":
        options += " salvage.confirm=whole-disk"  # the whole card: the image refuses it unconfirmed
    dtb, dtb_source = make_dtb(a, work, m, options)

    serial = os.path.join(work, "serial.txt")
    if os.path.exists(serial):
        os.remove(serial)  # a reused --workdir: never read an older run's console
    args = machine_cmd("aarch64", "raspi3b") + ["-serial", f"file:{serial}", "-kernel", a.image, "-dtb", dtb,
                                                "-drive", f"if=sd,format=raw,file={card}"]
    args += loader_devices(m)
    secs, err = run_qemu(args, serial)
    out = open(serial, errors="replace").read()
    open(os.path.join(work, "qemu.stderr"), "w").write(err)
    if "salvage: done" not in out:
        raise Fail(f"salvage did not finish:\n{out[-3000:]}\n{err[-1000:]}")
    want = "SDHC/SDXC" if card_bytes > (2 << 30) else "SDSC"
    addressing = "block" if want == "SDHC/SDXC" else "byte"
    if not re.search(rf"^salvage: sd: {controller} .*: {re.escape(want)} card .*{addressing} addressing", out, re.M):
        raise Fail(f"the console does not show an {want} card on the {controller}:\n{out[-3000:]}")
    if "busy" in a.case and "salvage: debug: left an 8-block CMD25 with 2 blocks sent" not in out:
        raise Fail(f"the first driver did not leave a write half done:\n{out[-3000:]}")
    if part2:
        check_guards(card, card_bytes, part2)

    vmcore = os.path.join(work, "vmcore")
    if os.path.exists(vmcore):
        os.remove(vmcore)
    extract_args = [] if target == "disk" else ["--target", target]
    x = subprocess.run([a.salvage, "extract", card, "-o", vmcore, "-q"] + extract_args,
                       capture_output=True, text=True, errors="replace", timeout=300)
    log = x.stderr + x.stdout
    open(os.path.join(work, "extract.log"), "w").write(log)
    if x.returncode != 0 or not os.path.exists(vmcore):
        raise Fail(f"salvage extract exited {x.returncode}:\n{log[-2000:]}\nconsole:\n{out[-2000:]}")
    # Every page equal, and the crash notes (in range 0 of the machine) intact, in order.
    check_vmcore(vmcore, m)
    mib = sum(rg["size"] for rg in m["ranges"]) >> 20
    return f" ({mib} MiB equal byte for byte, {want} card on the {controller.split()[0]}, {target}, {dtb_source}, {secs:.1f} s)"


if __name__ == "__main__":
    sys.exit(main())
