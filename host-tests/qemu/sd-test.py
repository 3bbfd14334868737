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
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("capturetest", os.path.join(HERE, "capture-test.py"))
ct = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ct)
Fail = ct.Fail
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
        ct.bt.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb, os.path.join(HERE, "..", "data", "raspi3b-sd.dts")])
        source = "raspi3b-sd.dts"
    # The Pi's tree has one address and one size cell at the root (so in /chosen).
    run = ct.bt.run
    run(["fdtput", "-t", "s", dtb, "/chosen", "stdout-path", "serial0:115200n8"])
    run(["fdtput", "-t", "x", dtb, "/chosen", "linux,elfcorehdr", hex(m["elfcorehdr"][0]), hex(m["elfcorehdr"][1])])
    vals = []
    for b, s in m["usable_memory_range"]:
        vals += [hex(b), hex(s)]
    run(["fdtput", "-t", "x", dtb, "/chosen", "linux,usable-memory-range"] + vals)
    run(["fdtput", "-t", "s", dtb, "/chosen", "salvage,options", options])
    return dtb, source


def run_qemu(args, serial):
    """Runs QEMU until it exits, or until salvage has stopped (a board whose stop
    salvage cannot do halts in place): then QEMU is ended."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.monotonic()
    stopped_at = None
    while proc.poll() is None:
        time.sleep(0.2)
        out = open(serial, errors="replace").read() if os.path.exists(serial) else ""
        if stopped_at is None and re.search(r"^salvage: (done; stopping|stopping; the dump is incomplete)", out, re.M):
            stopped_at = time.monotonic()
        if stopped_at is not None and time.monotonic() - stopped_at > 3:
            proc.terminate()
        if time.monotonic() - start > TIMEOUT:
            proc.kill()
            proc.wait()
            raise Fail(f"QEMU still running after {TIMEOUT} s:\n{out[-3000:]}")
    _, err = proc.communicate()
    return time.monotonic() - start, err


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
    work = a.workdir or tempfile.mkdtemp(prefix=f"salvage-raspi3b-{name}-")
    os.makedirs(work, exist_ok=True)
    try:
        detail = run(a, work)
        print(f"SALVAGE: PASS raspi3b {name}{detail}")
        return 0
    except (Fail, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        print(f"SALVAGE: FAIL raspi3b {name}: {e}")
        return 1
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


def run(a, work):
    card_bytes, target, part2, extra, controller = CASES[a.case]
    synth = os.path.join(work, "machine")
    subprocess.run([sys.executable, a.synth, "--arch", "raspi3b", "--out", synth], check=True, capture_output=True)
    m = json.load(open(os.path.join(synth, "manifest.json")))
    card = os.path.join(work, "card.img")
    write_card(card, card_bytes, part2)
    options = f"salvage.sink=sd salvage.target={target}" + (f" {extra}" if extra else "")
    if target == "disk":
        options += " salvage.confirm=whole-disk"  # the whole card: the image refuses it unconfirmed
    dtb, dtb_source = make_dtb(a, work, m, options)

    serial = os.path.join(work, "serial.txt")
    if os.path.exists(serial):
        os.remove(serial)  # a reused --workdir: never read an older run's console
    args = ["qemu-system-aarch64", "-M", "raspi3b", "-m", "1G", "-nographic", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{serial}", "-kernel", a.image, "-dtb", dtb,
            "-drive", f"if=sd,format=raw,file={card}"]
    args += sum((["-device", l] for l in m["loader_args"]), [])
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
    d, loads, notes, is64 = ct.parse_vmcore(vmcore)
    missing, wrong = [], []
    for rg in m["ranges"]:
        data = open(rg["file"], "rb").read()
        for off in range(0, rg["size"], 4096):
            got = ct.page_at(d, loads, rg["base"] + off)
            if got is None:
                missing.append(rg["base"] + off)
            elif got != data[off:off + 4096]:
                wrong.append(rg["base"] + off)
    if wrong or missing:
        raise Fail(f"{len(wrong)} pages differ from the machine's memory, {len(missing)} missing "
                   f"(first 0x{(wrong or missing)[0]:x})")
    # The crash notes (in range 0 of the machine) arrive intact, in order.
    range0 = open(m["ranges"][0]["file"], "rb").read()
    want_notes = b"".join(range0[n["phys"] - m["ranges"][0]["base"]:][:n["size"]] for n in m["notes"])
    if not notes.startswith(want_notes):
        raise Fail("the vmcore's notes differ from the machine's crash notes")
    mib = sum(rg["size"] for rg in m["ranges"]) >> 20
    return f" ({mib} MiB equal byte for byte, {want} card on the {controller.split()[0]}, {target}, {dtb_source}, {secs:.1f} s)"


if __name__ == "__main__":
    sys.exit(main())
