"""The synthetic crashed machine of tools/synth-crash.py, and what a dump of it must be.

`m`, the machine, is synth-crash.py's manifest.json: its memory ranges (each with the
file of its bytes), the elfcorehdr and usable memory range to put in /chosen, the crash
notes, and the -device loader options that put it all at its physical addresses."""
import json
import os
import re
import subprocess
import sys

from . import Fail, read
from . import dtb as dt
from .qemu import RASPI, Qemu, dump_dtb, machine_cmd
from .vmcore import page_at, parse_vmcore

PAGE = 4096


def synth_machine(synth_py, arch, work, scale=None):
    """Runs tools/synth-crash.py for `arch` (or a raspi board's layout) into work/machine;
    returns its manifest. scale: multiplies every range's size (its default when None)."""
    out = os.path.join(work, "machine")
    scale_args = [] if scale is None else ["--scale", str(scale)]
    subprocess.run([sys.executable, synth_py, "--arch", arch, "--out", out] + scale_args, check=True, capture_output=True)
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


def loader_devices(m):
    """QEMU options that load the machine's memory and elfcorehdr (-device loader,...)."""
    return sum((["-device", l] for l in m["loader_args"]), [])


def range_pages(m):
    """(physical address, the machine's bytes there) of every page of its ranges."""
    for rg in m["ranges"]:
        data = open(rg["file"], "rb").read()
        for off in range(0, rg["size"], PAGE):
            yield rg["base"] + off, data[off:off + PAGE]


def compare_memory(m, vmcore):
    """(the vmcore's bytes, PT_LOADs, notes, is64, missing pages, wrong pages): the pages
    of the machine's ranges the vmcore lacks or has with other bytes, in address order."""
    d, loads, notes, is64 = parse_vmcore(vmcore)
    missing, wrong = [], []
    for phys, want in range_pages(m):
        got = page_at(d, loads, phys)
        if got is None:
            missing.append(phys)
        elif got != want:
            wrong.append(phys)
    return d, loads, notes, is64, missing, wrong


def machine_notes(m):
    """The machine's crash notes, in order, as bytes (they lie in its first range)."""
    range0 = open(m["ranges"][0]["file"], "rb").read()
    base0 = m["ranges"][0]["base"]
    return b"".join(range0[n["phys"] - base0:][:n["size"]] for n in m["notes"])


def check_vmcore(vmcore, m):
    """The vmcore equals the machine's memory page by page, and starts its notes with
    the machine's crash notes."""
    _, _, notes, _, missing, wrong = compare_memory(m, vmcore)
    if wrong or missing:
        raise Fail(f"{len(wrong)} pages differ from the machine's memory, {len(missing)} missing "
                   f"(first 0x{(wrong or missing)[0]:x})")
    if not notes.startswith(machine_notes(m)):
        raise Fail("the vmcore's notes differ from the machine's crash notes")


def extract(salvage, source, vmcore, extra=()):
    """`salvage extract -q` of a disk, card or dump file into vmcore; it must exit 0 and
    call the dump complete. Returns what it printed."""
    if os.path.exists(vmcore):
        os.remove(vmcore)
    x = subprocess.run([salvage, "extract", source, "-o", vmcore, "-q"] + list(extra),
                       capture_output=True, text=True, errors="replace", timeout=600)
    log = x.stderr + x.stdout
    if x.returncode != 0 or not os.path.exists(vmcore):
        raise Fail(f"salvage extract {source} {' '.join(extra)} exited {x.returncode}:\n{log[-2000:]}")
    if "complete" not in log:
        raise Fail(f"salvage extract did not call the dump complete:\n{log[-2000:]}")
    return log


# ---- a Raspberry Pi board dumping to its SD card --------------------------------------

BOARD_TIMEOUT = 300  # seconds for one run of a board
EXIT_GRACE = 20      # after "salvage: done", seconds for the board to power off


def board_dtb(board, pi_dtb, image, m, options, work):
    """The DTB QEMU hands the guest for `pi_dtb`, with the elfcorehdr, usable memory,
    the console on the PL011 (QEMU's first -serial) and salvage's options in /chosen."""
    dtb = os.path.join(work, f"{board}.dtb")
    if os.path.exists(dtb):
        os.remove(dtb)
    dump_dtb(RASPI[board]["arch"], dtb, ["-kernel", image, "-dtb", pi_dtb], machine=board)
    dt.set_chosen(dtb, m["elfcorehdr"], m["usable_memory_range"])
    dt.point_stdout_at(dtb, "pl011")
    dt.run(["fdtput", "-t", "s", dtb, "/chosen", "salvage,options", options])
    return dtb


def boot_board(board, image, dtb, card, m, serial, timeout=BOARD_TIMEOUT, drive=None):
    """Runs the board with the card image `card` (or QEMU's -drive `drive`) until it
    powers off (through the PM watchdog; -no-reboot ends QEMU on a reset too). Returns
    (seconds, console text). Fails on a timeout, or when QEMU is still running
    EXIT_GRACE s after salvage said it is done."""
    if os.path.exists(serial):
        os.remove(serial)  # a reused workdir: never read an older run's console
    cmd = machine_cmd(RASPI[board]["arch"], board)
    cmd += ["-serial", f"file:{serial}", "-kernel", image, "-dtb", dtb,
            "-drive", drive or f"if=sd,format=raw,file={card}"]
    cmd += loader_devices(m)
    with Qemu(cmd, stdin=subprocess.DEVNULL) as q:
        done_at = None
        for out in q.follow(serial, timeout):
            if done_at is None and re.search(r"^salvage: (done|stopping)", out, re.M):
                done_at = q.elapsed()
            if done_at is not None and q.elapsed() - done_at > EXIT_GRACE:
                raise Fail(f"QEMU still running {EXIT_GRACE} s after salvage stopped (no power off):\n{out[-2000:]}")
    qemu_out = q.proc.communicate()[0]
    out = read(serial)
    if "salvage: done" not in out:
        raise Fail(f"salvage did not finish:\n{out[-3000:]}\nQEMU: {qemu_out[-1000:]}")
    return q.elapsed(), out
