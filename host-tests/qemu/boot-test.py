#!/usr/bin/env python3
"""QEMU smoke tests of the salvage image: boot it, capture the serial output, and check
the boot report against the DTB QEMU actually gave the guest.

Modes:
  report     boot with -kernel; /chosen gets linux,elfcorehdr, linux,usable-memory-range
             (two ranges) and bootargs injected; every reported value must match the DTB.
  relocated  the image is loaded at a second, unusual address by -device loader and
             entered through a trampoline; same checks, load address = that address.
  el2        (aarch64) as report, entered at EL2 (virt,virtualization=on).
  hyp        (arm) as report, entered in HYP mode (virt,virtualization=on): the image must
             leave HYP for SVC before it sets up its MMU and vectors, say so ("SVC
             (entered in HYP)"), and power off through PSCI from SVC.
  fault      bootargs salvage.debug=fault: the fault report names the cause, the
             faulting address and the pc, and the machine powers off.
  nodtb      entered with a null DTB pointer: a clear message on the early console.
  baddtb     entered with a pointer to bytes that are not a DTB: a clear message.
  corruptdtb entered with a DTB whose header is right but whose structure is broken.
  olddtb     entered with a DTB whose header says version 4 (libfdt 1.6.1's fdt_check_full
             dereferences NULL on it): refused by salvage's own header check, a message.
  badprops   /chosen/linux,elfcorehdr and linux,usable-memory-range have the wrong
             length: each is reported with its node and property, and the boot goes on.

With --machine raspi3b|raspi2b|raspi0 and --dtb (a Raspberry Pi DTB from Debian's kernel
packages, fetched by tools/setup.sh) the report and fault modes run on QEMU's Raspberry Pi
boards instead of virt: the console is the UART the DTB's stdout-path names (the PL011
is QEMU's first -serial, the mini UART its second), and salvage stops the board through
the BCM2835 PM watchdog, as QEMU's raspi boards have no PSCI.

Prints one verdict line, "SALVAGE: PASS <arch> <mode>" or "SALVAGE: FAIL <arch> <mode>: why",
and exits 0 only on PASS. Every QEMU run has a timeout.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys

from salvage_qemu import Fail, find, read, verdict
from salvage_qemu.dtb import dtb_totalsize, fdtget, memory_ranges, node_reg_base, run, set_chosen, stdout_node
from salvage_qemu.qemu import EARLYCON, QEMU, RAM_BASE, RASPI, boot, dump_dtb, patch_params, stdout_serial_index

# Where QEMU 7.2 puts a Linux image given with -kernel (docs/toolchain.md section 5).
DEFAULT_LOAD = {"aarch64": 0x40200000, "arm": 0x40010000, "riscv64": 0x80200000}
# The second load address: page-aligned, deliberately not a round number, clear of the
# DTB and of the trampoline.
RELOCATED_LOAD = {"aarch64": 0x4A123000, "arm": 0x4A123000, "riscv64": 0x8A123000}
# Where a test blob (a bad DTB) is put for the trampoline to hand over.
BLOB_ADDR = {"aarch64": 0x4C000000, "arm": 0x4C000000, "riscv64": 0x8C000000}
# The address each architecture's DeliberateFault reads (arch/<cpu>/fault.cc).
FAULT_ADDR = {"aarch64": 0xDEAD00000000, "arm": 0xFFFDEAD0, "riscv64": 0xDEAD00000000}
TIMEOUT = 30
DRIVER = {"arm,pl011": "pl011", "ns16550a": "ns16550", "brcm,bcm2835-aux-uart": "bcm2835-aux"}


def patch_u64(path, offset, value):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))


def patch_earlycon(image, arch):
    """Sets the boot parameter block's early console (boot/include/salvage/boot/boot-params.h)."""
    kind, base = EARLYCON[arch]
    patch_params(image, b"SLVGBOOT", [(0x50, struct.pack("<IBBH", kind, 0, 1, 0) + struct.pack("<Q", base))])


def hexint(s):
    return int(s, 16)


def check_report(arch, out, dtb, load_address, image_size, elfcorehdr, usable, bootargs, mode_word, machine="virt"):
    find(r"^salvage \d+\.\d+\.\d+ \(.+\): kdump capture runtime$", out, "version line")
    m = find(r"^salvage: arch (\S+) (\S+)", out, "arch line")
    if m.group(1) != arch:
        raise Fail(f"arch reported {m.group(1)}, expected {arch}")
    if mode_word and m.group(2) != mode_word:
        raise Fail(f"mode reported {m.group(2)}, expected {mode_word}")
    got = hexint(find(r"^salvage: load-address 0x([0-9a-f]+)$", out, "load address").group(1))
    if got != load_address:
        raise Fail(f"load address reported 0x{got:x}, expected 0x{load_address:x}")
    got = hexint(find(r"^salvage: image-size 0x([0-9a-f]+)$", out, "image size").group(1))
    if got != image_size:
        raise Fail(f"image size reported 0x{got:x}, the header says 0x{image_size:x}")
    m = find(r"^salvage: dtb 0x([0-9a-f]+) size 0x([0-9a-f]+)$", out, "dtb line")
    # On riscv64 OpenSBI edits the DTB on its way through (it adds reserved-memory
    # for itself), so the guest's copy may be larger than the one QEMU dumped.
    if hexint(m.group(2)) != dtb_totalsize(dtb) and not (arch == "riscv64" and hexint(m.group(2)) > dtb_totalsize(dtb)):
        raise Fail(f"dtb size 0x{m.group(2)} differs from the DTB's totalsize 0x{dtb_totalsize(dtb):x}")
    got = [(hexint(a), hexint(s)) for a, s in re.findall(r"^salvage: memory 0x([0-9a-f]+) size 0x([0-9a-f]+)$", out, re.M)]
    want = memory_ranges(dtb)
    if got != want:
        raise Fail(f"memory reported {fmt(got)}, the DTB has {fmt(want)}")
    got = [(hexint(a), hexint(s)) for a, s in re.findall(r"^salvage: elfcorehdr 0x([0-9a-f]+) size 0x([0-9a-f]+)$", out, re.M)]
    if elfcorehdr is None:
        find(r"^salvage: elfcorehdr none$", out, "'elfcorehdr none'")
    elif got != [elfcorehdr]:
        raise Fail(f"elfcorehdr reported {fmt(got)}, injected {fmt([elfcorehdr])}")
    got = [(hexint(a), hexint(s)) for a, s in
           re.findall(r"^salvage: usable-memory-range 0x([0-9a-f]+) size 0x([0-9a-f]+)$", out, re.M)]
    if usable is None:
        find(r"^salvage: usable-memory-range none$", out, "'usable-memory-range none'")
    elif got != usable:
        raise Fail(f"usable-memory-range reported {fmt(got)}, injected {fmt(usable)}")
    node = stdout_node(dtb)
    m = find(r"^salvage: console (\S+) 0x([0-9a-f]+) (\S+) \((.+)\)$", out, "console line")
    want_base = node_reg_base(dtb, node)
    if hexint(m.group(2)) != want_base or m.group(3) != node:
        raise Fail(f"console reported {m.group(3)} at 0x{m.group(2)}, stdout-path is {node} at 0x{want_base:x}")
    if m.group(4) != "stdout-path":
        raise Fail(f"console chosen by '{m.group(4)}', expected stdout-path")
    compat = fdtget(dtb, node, "compatible", "s").split()[0]
    if DRIVER.get(compat) != m.group(1):
        raise Fail(f"console driver {m.group(1)} for a {compat} node")
    mmu = find(r"^salvage: mmu (.+)$", out, "mmu line").group(1)
    if arch in ("aarch64", "arm") and "caches on" not in mmu:
        raise Fail(f"caches are not on: {mmu}")
    check_stop_line(arch, out, dtb, machine)
    got = find(r'^salvage: bootargs "(.*)"$', out, "bootargs line").group(1)
    want = fdtget(dtb, "/chosen", "bootargs", "s") or ""
    if got != want or (bootargs and bootargs not in got):
        raise Fail(f"bootargs reported {got!r}, the DTB has {want!r}")
    find(r"^salvage: boot report end$", out, "end of the boot report")


def check_stop_line(arch, out, dtb, machine):
    """The report's "salvage: stop ..." lines name the means the DTB offers: PSCI with its
    method, the SBI on riscv64, the BCM2835 PM watchdog on the Pi boards."""
    got = re.findall(r"^salvage: stop (.+)$", out, re.M)
    want = []
    if arch == "riscv64":
        want.append("sbi")
    elif fdtget(dtb, "/psci", "method", "s"):
        want.append(f"psci ({fdtget(dtb, '/psci', 'method', 's')})")
    if machine != "virt":
        pm = next((n for n in ("/soc/watchdog@7e100000",) if fdtget(dtb, n, "compatible", "s")), None)
        if pm is None:
            raise Fail("the Pi DTB has no /soc/watchdog@7e100000")
        uses = "reboot, poweroff" if fdtget(dtb, pm, "system-power-controller") is not None else "reboot"
        want.append(f"bcm2835-pm 0x{node_reg_base(dtb, pm):x} {pm} ({uses})")
    if not want:
        want.append("halt (no PSCI and no reset device in the DTB)")
    if got != want:
        raise Fail(f"stop lines {got}, expected {want}")


def fmt(ranges):
    return "[" + ", ".join(f"0x{a:x}+0x{s:x}" for a, s in ranges) + "]"


def image_header_size(image, arch):
    with open(image, "rb") as f:
        head = f.read(0x40)
    if arch in ("aarch64", "riscv64"):
        return struct.unpack_from("<Q", head, 0x10)[0]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=sorted(QEMU))
    ap.add_argument("--mode", required=True,
                    choices=["report", "relocated", "el2", "hyp", "fault", "nodtb", "baddtb", "corruptdtb",
                             "olddtb", "badprops"])
    ap.add_argument("--image", required=True, help="salvage.img (raw)")
    ap.add_argument("--elf", required=True, help="salvage.elf, for the image size")
    ap.add_argument("--trampoline", help="the trampoline binary (relocated and DTB modes)")
    ap.add_argument("--workdir", help="keep files here (default: a temporary directory)")
    ap.add_argument("--show", action="store_true", help="print the serial output before the verdict")
    ap.add_argument("--machine", default="virt", choices=["virt"] + sorted(RASPI),
                    help="QEMU machine (default virt); the raspi boards run the report and fault modes")
    ap.add_argument("--dtb", help="the Raspberry Pi DTB for --machine raspi* (tools/setup.sh fetches it)")
    a = ap.parse_args()
    if a.machine != "virt":
        if RASPI[a.machine]["arch"] != a.arch or a.mode not in ("report", "fault"):
            print(f"SALVAGE: FAIL {a.arch} {a.mode}: {a.machine} runs the {RASPI[a.machine]['arch']} image, "
                  "modes report and fault")
            return 1
        if not a.dtb or not os.path.exists(a.dtb):
            print(f"SALVAGE: FAIL {a.arch} {a.mode}: no Raspberry Pi DTB at {a.dtb} (run tools/setup.sh)")
            return 1
    for tool in ("fdtget", "fdtput", QEMU[a.arch][0]):
        if not shutil.which(tool):
            print(f"SALVAGE: FAIL {a.arch} {a.mode}: {tool} not found (run tools/setup.sh)")
            return 1

    def body(work):
        detail = run_mode(a, work)
        if a.show:
            print(read(os.path.join(work, "serial.txt")))
        return detail

    return verdict(f"{a.arch} {a.mode}", body, a.workdir, prefix=f"salvage-{a.arch}-{a.mode}-",
                   errors=(Fail, subprocess.CalledProcessError),
                   why=lambda e: str(e) if isinstance(e, Fail) else f"{e.cmd}: {e.stderr}")


def image_size_from_elf(elf):
    out = run(["llvm-nm-16", elf]).stdout
    syms = {l.split()[2]: int(l.split()[0], 16) for l in out.splitlines() if len(l.split()) == 3}
    return syms["_end"] - syms["__image_start"]


def run_mode(a, work):
    arch, mode = a.arch, a.mode
    image_size = image_size_from_elf(a.elf)
    header_size = image_header_size(a.image, arch)
    if header_size is not None and header_size != image_size:
        raise Fail(f"the image header's image_size 0x{header_size:x} differs from _end 0x{image_size:x}")
    out_path = os.path.join(work, "serial.txt")
    machine_extra = ",virtualization=on" if mode in ("el2", "hyp") else ""
    machine = a.machine
    base = RAM_BASE[arch] if machine == "virt" else 0
    # The Pi boards boot with a Pi DTB; virt with the one QEMU builds.
    board_dtb = [] if machine == "virt" else ["-dtb", a.dtb]

    if mode in ("report", "relocated", "el2", "hyp", "fault"):
        bootargs = "console=ttyS0 salvage.debug=fault" if mode == "fault" else "console=ttyS0 salvage.debug=report"
        # 1. QEMU's own DTB for this machine; 2. inject /chosen properties;
        # 3. the DTB QEMU really hands over when given that one (it edits /memory,
        #    /chosen/bootargs): that is what the report is checked against.
        plain = os.path.join(work, "plain.dtb")
        dump_dtb(arch, plain, ["-kernel", a.image, "-append", bootargs] + board_dtb, machine, machine_extra,
                 timeout=TIMEOUT)
        elfcorehdr = (base + 0x0FFFF000, 0x1000)
        usable = [(base + 0x0C000000, 0x2000000), (base + 0x0F000000, 0x800000)]
        injected = os.path.join(work, "injected.dtb")
        shutil.copy(plain, injected)
        set_chosen(injected, elfcorehdr, usable)
        final = os.path.join(work, "final.dtb")
        dump_dtb(arch, final, ["-kernel", a.image, "-append", bootargs, "-dtb", injected], machine, machine_extra,
                 timeout=TIMEOUT)
        boot_args = ["-append", bootargs, "-dtb", injected]
        load = DEFAULT_LOAD[arch] if machine == "virt" else RASPI[machine]["load"]
        if mode == "relocated":
            load = RELOCATED_LOAD[arch]
            tramp = os.path.join(work, "trampoline.bin")
            shutil.copy(a.trampoline, tramp)
            patch_u64(tramp, 0x18, load)
            boot_args += ["-kernel", tramp, "-device", f"loader,file={a.image},addr=0x{load:x},force-raw=on"]
        else:
            boot_args += ["-kernel", a.image]
        out, secs = boot(arch, boot_args, out_path, machine_extra, machine=machine,
                         serial_index=stdout_serial_index(machine, final), timeout=TIMEOUT)
        mode_word = {"aarch64": "EL2" if mode == "el2" else "EL1", "arm": "SVC", "riscv64": "S-mode"}[arch]
        if machine != "virt":
            mode_word = RASPI[machine]["mode"]
        check_report(arch, out, final, load, image_size, elfcorehdr, usable, bootargs, mode_word, machine)
        if mode == "el2" and "EL2" not in find(r"^salvage: mmu (.+)$", out, "mmu line").group(1):
            raise Fail("the MMU was not set up for EL2")
        entered_hyp = re.search(r"^salvage: arch arm SVC \(entered in HYP\)$", out, re.M)
        if mode == "hyp" and not entered_hyp:
            raise Fail("entered in HYP mode, the image did not report leaving it for SVC:\n" +
                       find(r"^salvage: arch .*$", out, "arch line").group(0))
        if mode != "hyp" and entered_hyp:
            raise Fail("the image reports HYP entry although QEMU started it in SVC")
        if mode == "fault":
            check_fault(arch, out, load, image_size)
        else:
            find(r"^salvage: debug: stopping after the boot report \(salvage.debug=report\)$", out, "the stop message")
        return f" ({secs:.1f} s)"

    if mode == "badprops":
        plain = os.path.join(work, "plain.dtb")
        dump_dtb(arch, plain, ["-kernel", a.image], timeout=TIMEOUT)
        bad = os.path.join(work, "bad.dtb")
        shutil.copy(plain, bad)
        run(["fdtput", "-t", "x", bad, "/chosen", "linux,elfcorehdr", "0x1", "0x2", "0x3"])
        run(["fdtput", "-t", "x", bad, "/chosen", "linux,usable-memory-range", "0x1", "0x2", "0x3", "0x4", "0x5"])
        out, secs = boot(arch, ["-dtb", bad, "-kernel", a.image, "-append", "salvage.debug=report"], out_path,
                         timeout=TIMEOUT)
        for prop in ("linux,elfcorehdr", "linux,usable-memory-range"):
            find(rf"^salvage: warning: dtb: .+ \(at /chosen, {re.escape(prop)}\)$", out, f"a warning naming /chosen {prop}")
        find(r"^salvage: boot report end$", out, "end of the boot report")
        return f" ({secs:.1f} s)"

    # DTB modes: an image with the early console set, entered through the trampoline
    # with the DTB pointer replaced.
    image = os.path.join(work, "salvage-earlycon.img")
    shutil.copy(a.image, image)
    patch_earlycon(image, arch)
    load = RELOCATED_LOAD[arch]
    tramp = os.path.join(work, "trampoline.bin")
    shutil.copy(a.trampoline, tramp)
    patch_u64(tramp, 0x18, load)
    args = ["-kernel", tramp, "-device", f"loader,file={image},addr=0x{load:x},force-raw=on"]
    blob_addr = BLOB_ADDR[arch]
    if mode == "nodtb":
        patch_u64(tramp, 0x10, 0)
        want = r"^salvage: error: no DTB: the boot loader passed a null DTB pointer$"
    elif mode == "baddtb":
        blob = os.path.join(work, "garbage.bin")
        garbage = bytes((i * 37 + 11) & 0xFF for i in range(4096))
        with open(blob, "wb") as f:
            f.write(garbage)
        patch_u64(tramp, 0x10, blob_addr)
        args += ["-device", f"loader,file={blob},addr=0x{blob_addr:x},force-raw=on"]
        magic = struct.unpack(">I", garbage[:4])[0]
        want = rf"^salvage: error: no DTB at 0x{blob_addr:x}: magic is 0x{magic:08x}, a DTB starts with 0xd00dfeed$"
    else:  # corruptdtb: right magic and size, struct block offset past the end; olddtb: version 4
        plain = os.path.join(work, "plain.dtb")
        dump_dtb(arch, plain, timeout=TIMEOUT)
        with open(plain, "rb") as f:
            data = bytearray(f.read())
        if mode == "olddtb":
            struct.pack_into(">II", data, 20, 4, 2)  # version, last_comp_version
        else:
            struct.pack_into(">I", data, 8, len(data) + 0x1000)  # off_dt_struct beyond totalsize
        blob = os.path.join(work, "corrupt.dtb")
        with open(blob, "wb") as f:
            f.write(data)
        patch_u64(tramp, 0x10, blob_addr)
        args += ["-device", f"loader,file={blob},addr=0x{blob_addr:x},force-raw=on"]
        want = r"^salvage: error: dtb: .+$" if mode == "corruptdtb" else \
            r"^salvage: error: dtb: device tree header version is not 17 .+$"
    marker = "salvage: stopping; no dump was written"
    out, secs = boot(arch, args, out_path, expect_exit=False, stop_marker=marker, timeout=TIMEOUT)
    find(want, out, "the DTB error message")
    find("^" + re.escape(marker) + "$", out, "the stop message")
    return f" ({secs:.1f} s)"


def check_fault(arch, out, load, image_size):
    find(r"^salvage: debug: faulting on purpose \(salvage.debug=fault\)$", out, "the fault announcement")
    cause = find(r"^salvage: FAULT: (.+)$", out, "FAULT line").group(1)
    want_cause = {"aarch64": "data abort: translation fault", "arm": "translation fault, section",
                  "riscv64": "load access fault"}[arch]
    if want_cause not in cause:
        raise Fail(f"fault cause {cause!r}, expected {want_cause!r}")
    m = find(r"^salvage:   pc 0x([0-9a-f]+)  address 0x([0-9a-f]+) \((\S+)\)$", out, "pc/address line")
    pc, addr = hexint(m.group(1)), hexint(m.group(2))
    if not load <= pc < load + image_size:
        raise Fail(f"fault pc 0x{pc:x} is outside the image [0x{load:x}, 0x{load + image_size:x})")
    if addr != FAULT_ADDR[arch]:
        raise Fail(f"fault address 0x{addr:x}, expected 0x{FAULT_ADDR[arch]:x}")
    regs = re.findall(r"[xr]\d+\s+0x[0-9a-f]+", out)
    if len(regs) < 13:
        raise Fail(f"only {len(regs)} registers in the fault report")
    find(r"^salvage: stopped after a fault; no dump was written$", out, "the stop line")


if __name__ == "__main__":
    sys.exit(main())
