#!/usr/bin/env python3
"""Benchmark: a dump of a 256 MiB synthetic crashed machine to the SD card of QEMU's
raspi3b (aarch64 image, Debian's Pi 3 device tree), per SD host controller.

Per controller (the Arasan SDHCI, where QEMU attaches the card; the BCM2835 SDHOST, with
GPIO 48-53 routed to it by salvage.debug=sd-pins-sdhost) and per card:
  file  a 4 GiB SDHC card image (sparse, in --dir), the whole card the target; the dump
        is read back with `salvage extract` and compared with the machine's memory byte
        for byte, so the figure is for a correct dump;
  null  the same card on QEMU's null-co block driver (writes go nowhere; not verified):
        salvage's work and QEMU's emulation of the controller without the host I/O.
it prints the stream's time as the image measures it ("stream took") and entry to
trailer, dumped memory per second of stream, the bytes handed to the card per second of
stream (the stream, in 512-byte blocks), and a plain memory copy of the same pages in the
same guest (salvage.debug=copy-bench). With --runs N the median run (by stream time) is
shown, with the spread.

QEMU's SD card is a model, not flash: its controller models move every 32-bit word of
PIO through an emulated register, and QEMU writes each 512-byte block to the image file
as it completes, in the vCPU's thread. The figures measure that, not a card; on a board
the card and the 25 MHz 4-bit bus (12.5 MB/s at most) are the limit.

Usage: bench/sd-throughput.py [--mib 256] [--controller sdhci|sdhost|both] [--runs 3]
                              [--card file|null|both] [--drive ,aio=io_uring]
Needs a build and build/pi-dtbs (tools/setup.sh).
"""
import argparse
import os
import re
import shutil
import tempfile

from common import BASE_MIB, BUILD, ROOT
from salvage_qemu.synth import board_dtb, boot_board, check_vmcore, extract, synth_machine

CONTROLLERS = {
    "sdhci": ("sd@0x3f300000", "", "bcm2835-sdhci at 0x3f300000"),
    "sdhost": ("sd@0x3f202000", "salvage.debug=sd-pins-sdhost", "bcm2835-sdhost at 0x3f202000"),
}
CARD_BYTES = 4 << 30


def seconds(text, pattern):
    m = re.search(pattern, text)
    if not m:
        raise SystemExit(f"bench: the console lacks {pattern!r}:\n{text[-2000:]}")
    return float(m.group(1))


def bench(m, work, controller, card_kind, drive_opts):
    sink, extra, name = CONTROLLERS[controller]
    card = os.path.join(work, "card.img")
    if os.path.exists(card):
        os.remove(card)
    if card_kind == "file":
        with open(card, "wb") as f:
            f.truncate(CARD_BYTES)
        drive = f"if=sd,format=raw,file={card}{drive_opts}"
    else:
        drive = f"if=sd,driver=null-co,size={CARD_BYTES},read-zeroes=on"
    image = os.path.join(BUILD, "image-aarch64", "boot", "salvage.img")
    options = f"salvage.sink={sink} salvage.target=disk salvage.confirm=whole-disk salvage.debug=copy-bench" + (f" {extra}" if extra else "")
    dtb = board_dtb("raspi3b", os.path.join(BUILD, "pi-dtbs", "bcm2837-rpi-3-b.dtb"), image, m, options, work)
    secs, out = boot_board("raspi3b", image, dtb, card, m, os.path.join(work, "serial.txt"), timeout=1800, drive=drive)
    if not re.search(rf"^salvage: sd: {re.escape(name)} .*SDHC/SDXC card", out, re.M):
        raise SystemExit(f"bench: the dump did not go to the {name}:\n{out[-2000:]}")
    if card_kind == "file":
        vmcore = os.path.join(work, "vmcore")
        extract(os.path.join(BUILD, "loader", "salvage"), card, vmcore)
        check_vmcore(vmcore, m)
        os.remove(vmcore)
    copy_mib = int(re.search(r"copy-bench: copied (\d+) MiB", out).group(1))
    copy_s = seconds(out, r"copy-bench: copied \d+ MiB in ([\d.]+) s")
    stream_s = seconds(out, r"stream took ([\d.]+) s")
    entry_s = seconds(out, r"entry to trailer ([\d.]+) s")
    mm = re.search(r"dump complete: (\d+) pages .*?, (\d+) stream bytes", out)
    pages, stream_bytes = int(mm.group(1)), int(mm.group(2))
    bus = re.search(r"(\d+)-bit bus at (\d+) kHz", out)
    dumped = pages * 4096
    return dict(controller=controller, card=card_kind, mib=dumped >> 20, stream_bytes=stream_bytes,
                stream_s=stream_s, entry_s=entry_s, dump_rate=dumped / stream_s / 2**20,
                write_rate=stream_bytes / stream_s / 2**20, copy_rate=copy_mib / copy_s, qemu_s=secs,
                bus=f"{bus.group(1)}-bit {int(bus.group(2)) // 1000} MHz")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=256, help="the synthetic machine's memory (default 256)")
    ap.add_argument("--controller", default="both", choices=["sdhci", "sdhost", "both"])
    ap.add_argument("--card", default="both", choices=["file", "null", "both"])
    ap.add_argument("--runs", type=int, default=1, help="runs of each; the median (by stream time) is shown")
    ap.add_argument("--drive", default="", help="more -drive options for the file card, e.g. ,aio=io_uring")
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the card image and the machine go (default /dev/shm: RAM, so the host's disk "
                         "does not time the run)")
    a = ap.parse_args()
    controllers = ["sdhci", "sdhost"] if a.controller == "both" else [a.controller]
    cards = ["file", "null"] if a.card == "both" else [a.card]
    work = tempfile.mkdtemp(prefix="salvage-sdbench-", dir=a.dir)
    try:
        # The scale as sd-file-test.py gave it to synth-crash.py, to four places.
        m = synth_machine(os.path.join(ROOT, "tools", "synth-crash.py"), "raspi3b", work, f"{a.mib / BASE_MIB:.4f}")
        print(f"{'controller':10} {'card':4} {'dumped':>8} {'stream bytes':>13} {'stream took':>11} {'entry-trailer':>13} "
              f"{'memory rate':>12} {'card writes':>12} {'plain copy':>12} {'QEMU run':>8}")
        for card in cards:
            for c in controllers:
                runs = sorted((bench(m, work, c, card, a.drive) for _ in range(a.runs)), key=lambda r: r["stream_s"])
                r = runs[len(runs) // 2]
                spread = f"; {a.runs} runs, stream {runs[0]['stream_s']:.2f}-{runs[-1]['stream_s']:.2f} s" if a.runs > 1 else ""
                print(f"{r['controller']:10} {r['card']:4} {r['mib']:>4} MiB {r['stream_bytes']:>13,} "
                      f"{r['stream_s']:>10.2f}s {r['entry_s']:>12.2f}s {r['dump_rate']:>6.1f} MiB/s "
                      f"{r['write_rate']:>6.1f} MiB/s {r['copy_rate']:>6.1f} MiB/s {r['qemu_s']:>7.1f}s  "
                      f"({r['bus']} bus{spread})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
