#!/usr/bin/env python3
"""End-to-end capture test on a synthetic crashed machine (tools/synth-crash.py):
QEMU loads the machine's memory and elfcorehdr at their physical addresses and boots
the salvage image, whose serial line is a TCP server; `salvage recv` connects, receives
the stream and writes the vmcore; the vmcore must equal the synthetic memory byte for
byte, range by range, with every note intact; readelf must read it, and gdb must read
each range at its kernel virtual address.

Modes:
  serial     the plain capture.
  damaged    a proxy between QEMU and recv flips bits, drops and duplicates bytes at a
             few places: recv must write no wrong byte, report the pages it lost, leave
             exactly those out of the vmcore's PT_LOADs, and exit 3.
  line       a line damaged at 1e-3 per byte (LineDamager: a fixed seed, flips, drops
             and duplicates): the pages recv reports lost and leaves out are exactly
             those of the frames the line touched, no byte is wrong, exit 3.
  badhdr     the elfcorehdr gets overlapping, out-of-memory, absurd (wrapping) and
             reservation-overlapping PT_LOADs: each is reported, the good ranges still
             match.
  truncated  the elfcorehdr's size in the DTB cuts its program headers off: salvage
             reports it and falls back to /memory minus its reservation.
  nohdr      the DTB has no elfcorehdr at all: the same fallback.
  hdrfirst   a proxy flips one bit in the stream header's first copy (docs/stream-format.md
             §4.6): recv must use a later copy and write the whole vmcore, exit 0, and say
             "the stream header was damaged; used the copy at offset N"; `salvage convert`
             on the saved stream the same.
  hdrallbut1 every header copy but the second is damaged: the same.
  hdrall     every header copy is damaged: recv and convert write every verified page
             (all of them: nothing else was damaged) in a vmcore without notes, say "no
             intact header: kept N verified pages without notes", and exit 3.

On QEMU's Raspberry Pi boards (--machine raspi3b|raspi2b|raspi0, with --dtb a Pi DTB
from Debian's kernel packages that tools/setup.sh fetches) the serial mode runs over the
UART --uart names (pl011: QEMU's first -serial, via stdout-path "serial0"; mini-uart:
the second, via "serial1"), and QEMU's exit is checked through QMP: after the dump the
board must shut down (salvage.after=poweroff, the default) or reset (--after reboot;
-no-reboot turns the reset into QEMU's exit, and the QMP SHUTDOWN event says which),
both through the BCM2835 PM watchdog, as the raspi boards have no PSCI.

Prints "SALVAGE: PASS|FAIL <arch> capture-<mode> ..." and exits 0 only on PASS.
"""
import argparse
import json
import os
import random
import re
import struct
import subprocess
import sys

from salvage_qemu import Fail, verdict
from salvage_qemu.dtb import UART_COMPAT, point_stdout_at, run as fdt_run, set_chosen
from salvage_qemu.qemu import QEMU, RASPI, Qemu, dump_dtb, free_port, machine_cmd, serial_args, stdout_serial_index
from salvage_qemu.relay import HeaderDamager, LineDamager, Proxy
from salvage_qemu.synth import compare_memory, loader_devices, machine_notes, synth_machine

TIMEOUT = 270  # seconds for recv: its own --timeout ends a stalled line sooner; a loaded machine is slow
# Fallback modes dump all of /memory: keep RAM small there.
FALLBACK_RAM = {"aarch64": "512M", "arm": "512M", "riscv64": "512M"}


def shutdown_reasons(qmp_output):
    """The reasons of the QMP SHUTDOWN events QEMU printed (-qmp stdio)."""
    reasons = []
    for line in qmp_output.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("event") == "SHUTDOWN":
            reasons.append(msg.get("data", {}).get("reason"))
    return reasons


HEADER_MODES = {"hdrfirst": lambda k: k == 0, "hdrallbut1": lambda k: k != 1, "hdrall": lambda k: True}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=sorted(QEMU))
    ap.add_argument("--mode", default="serial", choices=["serial", "damaged", "line", "badhdr", "truncated", "nohdr", "memsize"] + sorted(HEADER_MODES))
    ap.add_argument("--image", required=True)
    ap.add_argument("--salvage", required=True, help="the host salvage command")
    ap.add_argument("--synth", required=True, help="tools/synth-crash.py")
    ap.add_argument("--workdir")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--machine", default="virt", choices=["virt"] + sorted(RASPI),
                    help="QEMU machine (default virt); raspi boards run the serial mode")
    ap.add_argument("--dtb", help="the Raspberry Pi DTB for --machine raspi* (tools/setup.sh fetches it)")
    ap.add_argument("--uart", choices=sorted(UART_COMPAT), default="pl011",
                    help="raspi boards: the UART the dump goes over (default pl011)")
    ap.add_argument("--after", choices=["poweroff", "reboot"],
                    help="raspi boards: salvage.after= (default: none given, i.e. poweroff)")
    ap.add_argument("--show", action="store_true",
                    help="print what salvage recv printed and `salvage inspect` of the vmcore")
    a = ap.parse_args()
    if a.machine != "virt":
        if RASPI[a.machine]["arch"] != a.arch or a.mode != "serial":
            print(f"SALVAGE: FAIL {a.arch} capture-{a.mode}: {a.machine} runs the "
                  f"{RASPI[a.machine]['arch']} image, mode serial")
            return 1
        if not a.dtb or not os.path.exists(a.dtb):
            print(f"SALVAGE: FAIL {a.arch} capture-{a.mode}: no Raspberry Pi DTB at {a.dtb} (run tools/setup.sh)")
            return 1
        a.mode_name = f"{a.machine}-{a.uart}" + (f"-{a.after}" if a.after else "")
    else:
        a.mode_name = a.mode

    def body(work):
        detail = run(a, work)
        if a.show:
            print(open(os.path.join(work, "recv.log"), errors="replace").read())
            print(f"$ salvage inspect {os.path.join(work, 'vmcore')}", flush=True)
            subprocess.run([a.salvage, "inspect", os.path.join(work, "vmcore")])
            print()
        return detail

    return verdict(f"{a.arch} capture-{a.mode_name}", body, a.workdir, prefix=f"salvage-capture-{a.arch}-{a.mode}-")


def run(a, work):
    arch, mode = a.arch, a.mode
    synth = os.path.join(work, "machine")
    machine = a.machine
    # synth-crash.py names the raspi layouts by machine.
    m = synth_machine(a.synth, arch if machine == "virt" else machine, work, a.scale)
    fallback = mode in ("truncated", "nohdr")
    ram = FALLBACK_RAM[arch] if fallback else f"{m['ram_mib']}M"
    if fallback:
        # Keep the machine inside the smaller RAM: only the first range.
        m["ranges"] = m["ranges"][:1]
        m["loader_args"] = [l for l in m["loader_args"] if "range-1" not in l and "range-2" not in l]

    hdr_path = os.path.join(synth, "elfcorehdr.bin")
    elfcorehdr = list(m["elfcorehdr"])
    expect_msgs = []
    if mode == "badhdr":
        elfcorehdr[1] = rewrite_header(hdr_path, m, expect_msgs)
    elif mode == "truncated":
        elfcorehdr[1] = 80  # the ELF header and a bit: the program headers are cut off
        expect_msgs = [r"salvage: elfcorehdr unusable: .+", r"salvage: FALLBACK: dumping all of /memory"]
    elif mode == "memsize":
        # 32-bit Arm kexec-tools' form: elfcorehdr= and a bare mem=SIZE on the command
        # line, no linux,usable-memory-range. A PT_LOAD over the whole reservation shows
        # that none of it is dumped although the image knows only its size.
        res = m["usable_memory_range"][0]
        elfcorehdr[1] = add_loads(hdr_path, m, [(res[0], res[1])])
        expect_msgs = [r"salvage: mem=0x%x without @start and no usable-memory-range: the reservation is taken to be "
                       r"0x%x size 0x%x" % (res[1], res[0], res[1]),
                       r"salvage: elfcorehdr: PT_LOAD overlaps salvage's reservation: that part left out"]
    elif mode == "nohdr":
        elfcorehdr = None
        expect_msgs = [r"salvage: no elfcorehdr: neither /chosen/linux,elfcorehdr nor elfcorehdr= in bootargs",
                       r"salvage: FALLBACK: dumping all of /memory"]

    dtb = os.path.join(work, "crash.dtb")
    dump_dtb(arch, dtb, ["-kernel", a.image] + (["-dtb", a.dtb] if a.dtb else []), machine, ram=ram)
    if mode == "memsize":
        res = m["usable_memory_range"][0]
        fdt_run(["fdtput", "-t", "s", dtb, "/chosen", "bootargs",
                f"elfcorehdr=0x{elfcorehdr[0]:x} mem={res[1] >> 10}K"])
    else:
        set_chosen(dtb, elfcorehdr, m["usable_memory_range"])
    serial_index = 0
    qmp = []
    if machine != "virt":
        point_stdout_at(dtb, a.uart)
        serial_index = stdout_serial_index(machine, dtb)
        if a.after:
            fdt_run(["fdtput", "-t", "s", dtb, "/chosen", "bootargs", f"salvage.after={a.after}"])
        # QMP on stdin/stdout (no socket): its SHUTDOWN event tells a reset from a power off.
        qmp = ["-qmp", "stdio"]

    qemu_port = free_port()
    recv_port = qemu_port
    proxy = None
    if mode == "damaged":
        recv_port = free_port()
        # Damage well inside the stream (its first ~100 KiB are header and early frames).
        rnd = random.Random(7)
        damage = [(60000 + rnd.randrange(1000), "flip"), (400000 + rnd.randrange(1000), "drop"),
                  (900000 + rnd.randrange(1000), "dup"), (1500000 + rnd.randrange(1000), "flip")]
        proxy = Proxy(qemu_port, recv_port, damage)
        proxy.start()
    elif mode == "line":
        recv_port = free_port()
        proxy = LineDamager(qemu_port, recv_port)
        proxy.start()
    elif mode in HEADER_MODES:
        recv_port = free_port()
        proxy = HeaderDamager(qemu_port, recv_port, HEADER_MODES[mode])
        proxy.start()

    serial = f"tcp:127.0.0.1:{qemu_port},server=on,wait=on"
    cmd = (machine_cmd(arch, machine, ram=ram) + serial_args(serial, serial_index) + qmp +
           ["-kernel", a.image, "-dtb", dtb] + loader_devices(m))
    with Qemu(cmd, stdin=subprocess.PIPE if qmp else subprocess.DEVNULL) as qemu:
        if qmp:
            qemu.proc.stdin.write('{"execute": "qmp_capabilities"}\n')
            qemu.proc.stdin.flush()
        vmcore = os.path.join(work, "vmcore")
        if os.path.exists(vmcore):
            os.remove(vmcore)  # a kept --workdir from an earlier run
        start = qemu.elapsed()
        saved = os.path.join(work, "stream.saved")
        recv = subprocess.run([a.salvage, "recv", f"tcp:127.0.0.1:{recv_port}", "-o", vmcore,
                               "--timeout", "20", "--connect-timeout", "20", "--save-stream", saved],
                              capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
        try:
            qemu_out, _ = qemu.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            raise Fail("QEMU did not power off after the dump")
    secs = qemu.elapsed() - start
    if qmp:
        want = "guest-reset" if a.after == "reboot" else "guest-shutdown"
        reasons = shutdown_reasons(qemu_out)
        if reasons != [want]:
            raise Fail(f"QEMU stopped with SHUTDOWN reasons {reasons}, expected [{want!r}] "
                       f"(salvage.after={a.after or 'poweroff'} through the PM watchdog):\n{qemu_out[-1500:]}")
    log = recv.stderr
    with open(os.path.join(work, "recv.log"), "w") as f:
        f.write(log)
    if proxy and proxy.error:
        raise Fail(f"proxy: {proxy.error}")

    for pat in expect_msgs:
        if not re.search("^" + pat, log, re.M):
            raise Fail(f"the console output lacks {pat!r}; recv said:\n{log}")

    if not os.path.exists(vmcore):
        raise Fail(f"no vmcore written (recv exit {recv.returncode}):\n{log}")
    if os.stat(vmcore).st_mode & 0o777 != 0o600:
        raise Fail(f"vmcore mode is {oct(os.stat(vmcore).st_mode & 0o777)}, not 0600")
    if mode in HEADER_MODES:
        return check_header_copies(a, m, proxy, recv, log, vmcore, saved, work, secs)

    d, loads, notes, is64, missing, wrong = compare_memory(m, vmcore)
    if is64 != (m["elf_class"] == 64):
        raise Fail(f"vmcore is ELF{64 if is64 else 32}, the crashed kernel's header was ELF{m['elf_class']}")
    # readelf -a exits 1 without a word on any sectionless ARM core (its unwind-table
    # dump finds no .ARM.exidx), /proc/vmcore's included, so judge it by what it prints.
    r = subprocess.run(["readelf", "-a", "-W", vmcore], capture_output=True, text=True, errors="replace")
    if r.stderr.strip() or (r.returncode != 0 and m["elf_class"] == 64):
        raise Fail(f"readelf -a complains (exit {r.returncode}): {r.stderr.strip()[:400]}")

    # Every note intact: the synthetic note bytes, in order, then salvage's own note.
    if fallback:
        # Without a usable header there are no notes to carry; the memory must still be there.
        if b"CORE\0" in notes:
            raise Fail("a fallback dump claims crash notes it cannot have")
    elif not notes.startswith(machine_notes(m)):
        raise Fail("the vmcore's PT_NOTE does not start with the crashed machine's notes, byte for byte")
    elif notes.count(b"CORE\0") < m["cpus"]:
        raise Fail("crash notes missing")

    # Memory: page by page.
    if wrong:
        raise Fail(f"{len(wrong)} pages differ from the crashed machine's memory, first at 0x{wrong[0]:x}")

    if mode == "damaged":
        if recv.returncode != 3:
            raise Fail(f"recv exited {recv.returncode} on a damaged line, expected 3:\n{log[-2000:]}")
        if len(proxy.done) != len(proxy.damage):
            raise Fail(f"the proxy applied {len(proxy.done)} of {len(proxy.damage)} damages (stream too short?)")
        reported = 0
        for mm in re.finditer(r"^salvage recv:   missing 0x([0-9a-f]+)-0x([0-9a-f]+) \((\d+) pages\)$", log, re.M):
            reported += int(mm.group(3))
        if reported != len(missing):
            raise Fail(f"recv reported {reported} missing pages, the vmcore lacks {len(missing)}:\n{log[-2000:]}")
        if not 0 < len(missing) <= 64 * len(proxy.damage):
            raise Fail(f"{len(missing)} pages lost for {len(proxy.damage)} damaged bytes: recovery is not at the next frame")
        return f" ({len(missing)} pages lost and reported for {len(proxy.damage)} damages, no wrong byte, {secs:.1f} s)"

    if mode == "line":
        if recv.returncode != 3:
            raise Fail(f"recv exited {recv.returncode} on a line damaged at 1e-3, expected 3:\n{log[-2000:]}")
        if proxy.frames_hit < 50:
            raise Fail(f"the line damaged only {proxy.frames_hit} frames: the stream is too short for this test")
        if set(missing) != proxy.damaged_pages:
            extra = sorted(set(missing) - proxy.damaged_pages)
            kept = sorted(proxy.damaged_pages - set(missing))
            raise Fail(f"the vmcore lacks {len(missing)} pages, the line damaged {len(proxy.damaged_pages)}: "
                       f"{len(extra)} lost that were not damaged (first {[hex(x) for x in extra[:4]]}), "
                       f"{len(kept)} damaged yet present (first {[hex(x) for x in kept[:4]]})")
        # Hundreds of holes: recv lists the first ones; its verdict line counts them all.
        mm = re.search(r"^salvage recv: the dump is INCOMPLETE: .* lost=(\d+) ", log, re.M)
        if not mm or int(mm.group(1)) != len(missing):
            raise Fail(f"recv reported {mm and mm.group(1)} lost pages, the line damaged {len(missing)}:\n{log[-2000:]}")
        return (f" (seed {proxy.seed}: {proxy.damages} damaged bytes hit {proxy.frames_hit} frames; "
                f"{len(missing)} pages lost and reported, no wrong byte, {secs:.1f} s)")

    if recv.returncode != 0:
        raise Fail(f"recv exited {recv.returncode}:\n{log[-3000:]}")
    if mode == "memsize":
        res = m["usable_memory_range"][0]
        inside = [(pa, size) for pa, va, off, size in loads if pa < res[0] + res[1] and res[0] < pa + size]
        if inside:
            raise Fail(f"the vmcore holds part of the reservation: {[(hex(p), hex(n)) for p, n in inside]}")
    if not fallback:
        check_gdb(arch, vmcore, loads, m)
    if missing:
        raise Fail(f"{len(missing)} pages missing from the vmcore, first at 0x{missing[0]:x}")
    if "complete and intact" not in log:
        raise Fail("recv did not say the dump is complete and intact")
    # The stream header records the sink really used (issue #10).
    if 'options "salvage.sink=uart ' not in log:
        raise Fail(f"the stream header does not record salvage.sink=uart:\n{log[-2000:]}")
    insp = subprocess.run([a.salvage, "inspect", vmcore], capture_output=True, text=True)
    want_insp = ["status:    complete and intact"]
    if not fallback:
        want_insp += [f"({m['cpus']} CPUs with crash notes)", "OSRELEASE=6.1.0-salvage-synthetic PAGESIZE=4096"]
    if insp.returncode != 0 or any(w not in insp.stdout for w in want_insp):
        raise Fail(f"salvage inspect disagrees:\n{insp.stdout}{insp.stderr}")
    mib = sum(rg["size"] for rg in m["ranges"]) >> 20
    if fallback:
        dumped = sum(size for pa, va, off, size in loads) >> 20
        return f" (fallback dumped {dumped} MiB of /memory; the {mib} MiB range inside equal byte for byte, {secs:.1f} s)"
    return f" ({mib} MiB of ranges equal byte for byte, {secs:.1f} s)"


def check_header_copies(a, m, proxy, recv, log, vmcore, saved, work, secs):
    """hdrfirst, hdrallbut1, hdrall: recv's result, then convert's on the saved stream."""
    mode = a.mode
    if len(proxy.copies) < 3:
        raise Fail(f"the stream carried {len(proxy.copies)} header copies; expected the first, at least one "
                   f"periodic copy and the last (docs/stream-format.md §4.6)")
    if mode == "hdrallbut1" and len(proxy.damaged) != len(proxy.copies) - 1:
        raise Fail(f"damaged {len(proxy.damaged)} of {len(proxy.copies)} header copies")
    convert_out = os.path.join(work, "vmcore-convert")
    conv = subprocess.run([a.salvage, "convert", saved, "-o", convert_out], capture_output=True, text=True,
                          errors="replace", timeout=TIMEOUT)
    for tool, proc, out in (("recv", recv, vmcore), ("convert", conv, convert_out)):
        text = proc.stderr
        d, loads, notes, is64, missing, wrong = compare_memory(m, out)
        if wrong:
            raise Fail(f"{tool}: {len(wrong)} pages differ from the crashed machine's memory, first at 0x{wrong[0]:x}")
        if missing:
            raise Fail(f"{tool}: {len(missing)} pages missing, first at 0x{missing[0]:x}:\n{text[-2000:]}")
        if mode == "hdrall":
            if proc.returncode != 3:
                raise Fail(f"{tool} exited {proc.returncode} with every header copy damaged, expected 3:\n{text[-2000:]}")
            if not re.search(r"no intact header: kept \d+ verified pages without notes", text):
                raise Fail(f"{tool} did not say it kept the verified pages without notes:\n{text[-2000:]}")
            if b"CORE\0" in notes or b"VMCOREINFO" in notes:
                raise Fail(f"{tool}: a vmcore without any intact header claims crash notes")
            # recv's first line says "(console text is shown as it comes)": look for the
            # verdict that called the frames console text (issue 19), not for the words.
            if re.search(r"no dump stream found|iB of console text|nothing written", text):
                raise Fail(f"{tool} calls the verified frames console text:\n{text[-2000:]}")
        else:
            if proc.returncode != 0:
                raise Fail(f"{tool} exited {proc.returncode}:\n{text[-2000:]}")
            if not re.search(r"the stream header was damaged; used the copy at offset \d+", text):
                raise Fail(f"{tool} did not say which header copy it used:\n{text[-2000:]}")
            if notes.count(b"CORE\0") < m["cpus"]:
                raise Fail(f"{tool}: crash notes missing")
            if "complete and intact" not in text:
                raise Fail(f"{tool} did not say the dump is complete and intact")
    if mode != "hdrall":
        check_gdb(a.arch, vmcore, compare_memory(m, vmcore)[1], m)
    return (f" ({len(proxy.damaged)} of {len(proxy.copies)} header copies damaged; recv and convert "
            f"{'kept every page without notes' if mode == 'hdrall' else 'wrote the whole vmcore'}, {secs:.1f} s)")


def check_gdb(arch, vmcore, loads, m):
    """gdb opens the vmcore and reads each range's first bytes at its kernel virtual
    address (the linear map): they must be the machine's."""
    gdb_arch = {"aarch64": "aarch64", "arm": "arm", "riscv64": "riscv:rv64"}[arch]
    cmds = ["-nx", "-batch", "-ex", f"set architecture {gdb_arch}", "-ex", f"core-file {vmcore}"]
    want = []
    for rg in m["ranges"]:
        vaddr = next((va for pa, va, off, size in loads if pa == rg["base"] and va), None)
        if vaddr is None:
            raise Fail(f"no PT_LOAD with a virtual address for 0x{rg['base']:x}")
        cmds += ["-ex", f"x/4xw 0x{vaddr:x}"]
        want.append(struct.unpack("<4I", open(rg["file"], "rb").read(16)))
    r = subprocess.run(["gdb-multiarch"] + cmds, capture_output=True, text=True, errors="replace", timeout=120)
    rows = re.findall(r"^0x[0-9a-f]+:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s*$", r.stdout, re.M)
    got = [tuple(int(x, 16) for x in row) for row in rows]
    if got != want:
        raise Fail(f"gdb read {got} at the ranges' virtual addresses, the machine has {want}:\n{r.stdout}{r.stderr}")


def add_loads(path, m, extra):
    """Appends PT_LOADs (base, size) to the synthetic elfcorehdr; returns its new size."""
    with open(path, "rb") as f:
        hdr = bytearray(f.read())
    if m["elf_class"] == 64:
        phnum, = struct.unpack_from("<H", hdr, 56)
        for b, n in extra:
            hdr += struct.pack("<IIQQQQQQ", 1, 7, b, 0, b, n, n, 0)
        struct.pack_into("<H", hdr, 56, phnum + len(extra))
    else:
        phnum, = struct.unpack_from("<H", hdr, 44)
        for b, n in extra:
            hdr += struct.pack("<IIIIIIII", 1, b, 0, b, n, n, 7, 0)
        struct.pack_into("<H", hdr, 44, phnum + len(extra))
    with open(path, "wb") as f:
        f.write(hdr)
    return len(hdr)


def rewrite_header(path, m, expect):
    """Adds bad PT_LOADs to the synthetic elfcorehdr; returns its new size."""
    is64 = m["elf_class"] == 64
    ram_end = m["ram_base"] + m["ram_mib"] * 1024 * 1024
    base0, size0 = m["ranges"][0]["base"], m["ranges"][0]["size"]
    res = m["usable_memory_range"][0]
    bad = [
        (base0 + size0 // 2, size0, "PT_LOAD overlaps an earlier PT_LOAD"),           # overlaps range 0
        (ram_end + 0x100000, 0x100000, "PT_LOAD outside /memory"),                      # beyond RAM
        (0xFFFFFFFFFFFFF000 if is64 else 0xFFFFF000, 0x2000, "PT_LOAD wraps around"),   # absurd
        (res[0], 0x10000, "PT_LOAD overlaps salvage's reservation"),                    # in the reservation
    ]
    for _, _, what in bad:
        expect.append(r"salvage: elfcorehdr: " + re.escape(what))
    return add_loads(path, m, [(b, s) for b, s, _ in bad])


if __name__ == "__main__":
    sys.exit(main())
