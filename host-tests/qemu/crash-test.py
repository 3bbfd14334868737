#!/usr/bin/env python3
"""The real crash, end to end: a Debian bookworm kernel (the crash kit that
tools/setup.sh fetched) boots in QEMU -M virt with crashkernel=, a busybox initramfs
loads salvage as the crash kernel and runs `echo c > /proc/sysrq-trigger`; salvage dumps
the crashed kernel, and the vmcore must satisfy the real consumers.

Architectures (--arch, salvage's names):
  aarch64  Debian's arm64 kernel (Image), qemu-system-aarch64, Cortex-A57
  arm      Debian's armhf armmp kernel (zImage), qemu-system-arm, Cortex-A15
Loaders:
  load   `salvage load` (the static build of that architecture) with its purgatory
  kexec  stock kexec-tools: `kexec -p salvage.img --append="salvage.sink=..."`
Sinks:
  serial   the PL011 is a TCP server on 127.0.0.1; `salvage recv` receives the stream
  virtio   a virtio-blk disk; `salvage extract` reads it after QEMU powers off
Checks on every vmcore: `makedumpfile --dump-dmesg` (Debian's build of the kit's
architecture, under qemu-aarch64-static or qemu-arm-static) extracts the crashed
kernel's log and it holds "sysrq: Trigger a crash"; `readelf -n` shows one NT_PRSTATUS
crash note per CPU and VMCOREINFO.

Mode `boundary` (load only): the reservation estimate is exact. A first boot runs
`salvage load --dry-run -v` for the bytes salvage needs; a boot with crashkernel= exactly
that must load (kexec_load takes two pages of its own from the reservation: with one page
too few it failed with ENOMEM), and a boot with one page less must be refused by salvage
load itself, with its own message, before kexec_load is called.

Mode `damaged` (load only): after `salvage load`, one byte of the loaded image inside the
reservation is overwritten through QEMU's gdbstub (physical memory mode); after the
panic the purgatory must name the damaged segment and not jump.

Prints "SALVAGE: PASS|FAIL crash[-arm]-<loader>-<sink>" and exits 0 only on PASS."""
import argparse
import os
import re
import subprocess
import sys
import time

from salvage_qemu import Fail, save, verdict
from salvage_qemu import linux as lg
from salvage_qemu.qemu import Qemu, free_port

CPUS = 2
RAM_MIB = 512  # default of --ram
TIMEOUT = 900  # seconds for one guest run, boot to power-off: recv's --timeout 30 ends a stalled line sooner; a loaded 2-core machine runs the serial dump at a tenth of its speed


def build_initramfs(a, kit, work, loader, sink):
    """The guest: loads salvage, says where, and crashes."""
    # The virtio disk is blank and all the dump's: the whole device, confirmed.
    words = "salvage.sink=uart" if sink == "serial" else "salvage.sink=virtio-blk salvage.target=disk salvage.confirm=whole-disk"
    opts = "--sink uart" if sink == "serial" else "--sink virtio-blk --target disk --confirm-whole-device"
    if loader == "load":
        load = f"salvage load {opts} --after poweroff"
    else:
        load = f'kexec -p /usr/lib/salvage/salvage.img --append="{words} salvage.after=poweroff"'
    pause = "sleep 4\n" if a.mode == "damaged" else ""
    # salvage load checks the disk it arms (/dev/vda): the driver must see it.
    modules = lg.INSMOD_VIRTIO_BLK if sink == "virtio" and loader == "load" else ""
    init = lg.INIT_PRELUDE + modules + f"""
echo "E2E: reservation $(grep 'Crash kernel' /proc/iomem | sed 's/^ *//')"
if {load}; then
  echo "E2E: loaded, kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
else
  echo "E2E: load failed"
  poweroff -f
fi
{"salvage status" if loader == "load" else "true"}
{pause}echo "E2E: crashing"
echo c > /proc/sysrq-trigger
"""
    c = lg.base_initramfs(kit, init)
    if modules:
        lg.add_virtio_blk(c, kit)
    c.host_file("usr/lib/salvage/salvage.img", a.image, 0o644)
    if loader == "load":
        c.host_file("usr/lib/salvage/purgatory.bin", a.purgatory, 0o644)
        c.host_file("sbin/salvage", a.salvage_target, 0o755)
    else:
        lg.add_with_libs(c, kit, "sbin/kexec")
    path = os.path.join(work, "initrd.gz")
    with open(path, "wb") as f:
        f.write(c.finish())
    return path


def run_guest(a, kit, work, initrd, sink):
    """Boots, crashes, captures. Returns (console text, vmcore path, seconds)."""
    append = f"console=ttyAMA0 crashkernel={a.crashkernel} panic=1"
    extra = []
    disk = None
    if sink == "virtio":
        disk = os.path.join(work, "disk.img")
        with open(disk, "wb") as f:
            f.truncate((a.ram + 16) << 20)
        extra += ["-drive", f"if=none,id=d0,file={disk},format=raw", "-device", "virtio-blk-device,drive=d0"]
    gdb_port = None
    if a.mode == "damaged":
        gdb_port = free_port()
        extra += ["-gdb", f"tcp:127.0.0.1:{gdb_port}"]
    vmcore = os.path.join(work, "vmcore")
    start = time.monotonic()
    if sink == "serial" and a.mode != "damaged":
        port = free_port()
        cmd = lg.qemu_cmd(kit, initrd, append, a.ram, CPUS,
                          extra + ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=on"], a.machine_extra)
        with Qemu(cmd) as qemu:
            recv = subprocess.run([a.salvage, "recv", f"tcp:127.0.0.1:{port}", "-o", vmcore,
                                   "--timeout", "30", "--connect-timeout", "20"],
                                  capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
            try:
                qemu.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise Fail("QEMU did not power off after the dump")
        console = recv.stderr
        save(work, "recv.log", console)
        if recv.returncode != 0:
            raise Fail(f"salvage recv exited {recv.returncode}:\n{tail(console, 3000)}")
        return console, vmcore, time.monotonic() - start

    cmd = lg.qemu_cmd(kit, initrd, append, a.ram, CPUS, extra + ["-serial", "stdio"], a.machine_extra)
    out_path = os.path.join(work, "console.txt")
    with open(out_path, "wb") as out, Qemu(cmd, stdout=out, stdin=subprocess.DEVNULL, text=False) as qemu:
        if a.mode == "damaged":
            damage_after_load(kit, out_path, gdb_port, work, qemu.proc)
            wait_for(out_path, r"purgatory: something wrote into the crash reservation", qemu.proc, 120)
            time.sleep(0.5)
            qemu.end()
        else:
            try:
                qemu.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Fail(f"QEMU did not power off within {TIMEOUT} s:\n{tail(read(out_path), 3000)}")
    console = read(out_path)
    if a.mode == "damaged":
        return console, None, time.monotonic() - start
    if "E2E: load failed" in console:
        raise Fail(f"loading salvage failed in the guest:\n{tail(console, 3000)}")
    r = subprocess.run([a.salvage, "extract", disk, "-o", vmcore], capture_output=True, text=True, errors="replace")
    save(work, "extract.log", r.stdout + r.stderr)
    if r.returncode != 0:
        raise Fail(f"salvage extract exited {r.returncode}: {r.stderr.strip()[-2000:]}\nconsole:\n{tail(console, 2000)}")
    return console, vmcore, time.monotonic() - start


def boot_once(a, kit, work, tag, crashkernel, script):
    """Boots with crashkernel=, runs `script` as /init's body (then powers off), returns
    the console text."""
    init = lg.INIT_PRELUDE + script + "\npoweroff -f\n"
    c = lg.base_initramfs(kit, init)
    c.host_file("usr/lib/salvage/salvage.img", a.image, 0o644)
    c.host_file("usr/lib/salvage/purgatory.bin", a.purgatory, 0o644)
    c.host_file("sbin/salvage", a.salvage_target, 0o755)
    initrd = os.path.join(work, f"initrd-{tag}.gz")
    with open(initrd, "wb") as f:
        f.write(c.finish())
    cmd = lg.qemu_cmd(kit, initrd, f"console=ttyAMA0 crashkernel={crashkernel} panic=1", a.ram, CPUS,
                      ["-serial", "stdio"], a.machine_extra)
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    save(work, f"console-{tag}.txt", r.stdout + r.stderr)
    return r.stdout + r.stderr


def boundary(a, kit, work):
    """Mode boundary (module comment). Returns the PASS detail."""
    if a.loader != "load":
        raise Fail("--mode boundary is for --loader load")
    first = boot_once(a, kit, work, "estimate", a.crashkernel,
                      'echo "E2E: reservation $(grep \'Crash kernel\' /proc/iomem | sed \'s/^ *//\')"\n'
                      "salvage load --dry-run -v --sink uart 2>&1")
    m = re.search(r"salvage needs \d+ \S+ \((\d+) bytes\)", first)
    if not m:
        raise Fail(f"salvage load --dry-run did not say how many bytes it needs:\n{tail(first, 3000)}")
    needed = int(m.group(1))
    if needed % 4096:
        raise Fail(f"salvage needs {needed} bytes, not whole pages")
    kib = needed >> 10
    load = ('echo "E2E: reservation $(grep \'Crash kernel\' /proc/iomem | sed \'s/^ *//\')"\n'
            "if salvage load --sink uart; then echo \"E2E: loaded, kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)\"; "
            "else echo \"E2E: load failed\"; fi")
    exact = boot_once(a, kit, work, "exact", f"{kib}K", load)
    res = re.search(r"^E2E: reservation (\S+) : Crash kernel", exact, re.M)
    if not res or not re.search(r"^E2E: loaded, kexec_crash_loaded=1", exact, re.M):
        raise Fail(f"with crashkernel={kib}K (exactly what salvage load says it needs) salvage did not load:\n"
                   f"{tail(exact, 3000)}")
    lo, hi = (int(x, 16) for x in res.group(1).split("-"))
    if hi - lo + 1 != needed:
        raise Fail(f"crashkernel={kib}K reserved {res.group(1)} ({hi - lo + 1} bytes), not {needed}")
    short = boot_once(a, kit, work, "short", f"{kib - 4}K", load)
    if not re.search(r"^E2E: load failed", short, re.M):
        raise Fail(f"with crashkernel={kib - 4}K (one page less than salvage needs) salvage load did not refuse:\n"
                   f"{tail(short, 3000)}")
    if "kexec_load failed" in short:
        raise Fail(f"with crashkernel={kib - 4}K salvage load called kexec_load, which failed, instead of refusing "
                   f"itself:\n{tail(short, 3000)}")
    if not re.search(r"salvage load: error: the crash kernel reservation is 0x[0-9a-f]+ bytes and salvage needs", short):
        raise Fail(f"with crashkernel={kib - 4}K salvage load's refusal is not its own size message:\n{tail(short, 3000)}")
    return (f"salvage load --dry-run says {needed} bytes ({kib}K): crashkernel={kib}K loads, "
            f"crashkernel={kib - 4}K is refused by salvage load itself")


def wait_for(path, pattern, proc, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        m = re.search(pattern, read(path), re.M)
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise Fail(f"no {pattern!r} on the console:\n{tail(read(path), 3000)}")


def damage_after_load(kit, out_path, gdb_port, work, qemu):
    """Waits until `salvage load` has loaded, then flips one byte of the image inside the
    reservation through the gdbstub, in physical memory mode."""
    m = wait_for(out_path, r"^E2E: loaded", qemu, 120)
    text = read(out_path)
    img = re.search(r"^\s*image\s+0x([0-9a-f]+)", text, re.M)
    if not img:
        raise Fail(f"`salvage load` did not say where the image is:\n{tail(text, 2000)}")
    addr = int(img.group(1), 16) + 0x2000
    script = os.path.join(work, "damage.gdb")
    with open(script, "w") as f:
        f.write(f"""set architecture {kit.a['gdb']}
target remote 127.0.0.1:{gdb_port}
maintenance packet Qqemu.PhyMemMode:1
set $b = *(unsigned char *){addr:#x}
set *(unsigned char *){addr:#x} = $b ^ 0x5a
printf "E2E-GDB: byte at {addr:#x} was %#x, now %#x\\n", $b, *(unsigned char *){addr:#x}
maintenance packet Qqemu.PhyMemMode:0
detach
""")
    r = subprocess.run(["gdb-multiarch", "-q", "-nx", "-batch", "-x", script], capture_output=True, text=True,
                       errors="replace", timeout=60)
    save(work, "gdb.log", r.stdout + r.stderr)
    g = re.search(r"E2E-GDB: byte at (0x[0-9a-f]+) was (0x[0-9a-f]+|0), now (0x[0-9a-f]+|0)", r.stdout)
    if not g or g.group(2) == g.group(3):
        raise Fail(f"gdb could not overwrite the byte at {addr:#x}:\n{r.stdout}\n{r.stderr}")
    return addr


def show(a, work, console, log, vmcore):
    said = re.search(r"^salvage load: .*?^E2E: loaded", console, re.M | re.S)
    if said:
        print("In the guest, before the crash:\n")
        print("\n".join("    " + l for l in said.group(0).splitlines()[:-1]))
    said = read(os.path.join(work, "makedumpfile.log")).strip()
    print("\nmakedumpfile --dump-dmesg said:\n")
    print("\n".join("    " + l for l in said.splitlines()[-10:]) if said else "    (nothing)")
    if "kernel version is not supported" in said:
        print("\n    (Debian bookworm's makedumpfile 1.7.2 predates this kernel and warns so for every vmcore\n"
              "    of it, Linux kdump's own /proc/vmcore included; it still reads the log, below.)")
    print(f"\nThe crashed kernel's log, read from the vmcore by makedumpfile --dump-dmesg (last 25 lines):\n")
    print("\n".join("    " + l for l in log.rstrip().splitlines()[-25:]))
    r = subprocess.run([a.salvage, "inspect", vmcore], capture_output=True, text=True, errors="replace")
    print(f"\nsalvage inspect {vmcore}:\n")
    print("\n".join("    " + l for l in (r.stdout + r.stderr).rstrip().splitlines()[:30]))
    print(f"\nFiles: {work}/vmcore, dmesg.txt (the whole log), recv.log (the serial console)\n")


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def tail(text, n):
    return text[-n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loader", required=True, choices=["load", "kexec"])
    ap.add_argument("--sink", default="serial", choices=["serial", "virtio"])
    ap.add_argument("--mode", default="capture", choices=["capture", "damaged", "boundary"])
    ap.add_argument("--arch", default="aarch64", choices=["aarch64", "arm"],
                    help="the crashing kernel's architecture (salvage's name); default aarch64")
    ap.add_argument("--kit", help="the crash kit (tools/setup.sh); default build/crash-kit/arm64 or .../armhf")
    ap.add_argument("--flavour", choices=["lpae"],
                    help="the kit's other kernel: lpae, armhf's armmp-lpae (build/crash-kit/armhf/lpae)")
    ap.add_argument("--ram", type=int, default=RAM_MIB, help=f"the guest's RAM in MiB (default {RAM_MIB})")
    ap.add_argument("--machine-extra", default="",
                    help="appended to -M virt, e.g. ,virtualization=on (32-bit Arm kernels then run in HYP mode)")
    ap.add_argument("--image", required=True, help="salvage.img of --arch")
    ap.add_argument("--purgatory", help="purgatory.bin of --arch, for --loader load")
    ap.add_argument("--salvage", required=True, help="the host `salvage` (recv, extract)")
    ap.add_argument("--salvage-target", "--salvage-arm64", dest="salvage_target",
                    help="the static `salvage` of --arch, for --loader load")
    ap.add_argument("--crashkernel", default="auto",
                    help="the crashkernel= size; auto (default): the smallest that salvage fits in, from the "
                         "image's memory footprint plus 64 KiB for the DTB, the core header and a purgatory, "
                         "rounded up to 256 KiB")
    ap.add_argument("--workdir", help="keep the files here")
    ap.add_argument("--show", action="store_true",
                    help="show what `salvage load` said in the guest, the tail of the crashed kernel's log as "
                         "makedumpfile read it from the vmcore, and `salvage inspect` of the vmcore")
    a = ap.parse_args()
    a.hyp = a.arch == "arm" and "virtualization=on" in a.machine_extra
    name = ("crash-" + ("" if a.arch == "aarch64" else f"{a.arch}-") + (f"{a.flavour}-" if a.flavour else "")
            + ("hyp-" if a.hyp else "") + f"{a.loader}-{a.sink}"
            + ("" if a.mode == "capture" else f"-{a.mode}"))
    if a.loader == "load" and not (a.purgatory and a.salvage_target):
        ap.error("--loader load needs --purgatory and --salvage-target")
    a.kit = a.kit or lg.kit_dir(a.arch)
    if a.crashkernel == "auto":
        a.crashkernel = f"{lg.auto_crashkernel(a.image) >> 10}K"
    return verdict(name, lambda work: run(a, work), a.workdir, prefix=f"salvage-{name}-",
                   errors=(Fail, FileNotFoundError, subprocess.TimeoutExpired), keep_on_fail=True)


def run(a, work):
    """The test; returns the PASS line's detail."""
    kit = lg.Kit(a.kit, a.flavour)
    if kit.a["salvage"] != a.arch:
        raise Fail(f"the crash kit {a.kit} is {kit.arch}'s, not {a.arch}'s")
    if a.mode == "boundary":
        return f": {boundary(a, kit, work)}"
    initrd = build_initramfs(a, kit, work, a.loader, a.sink)
    console, vmcore, secs = run_guest(a, kit, work, initrd, a.sink)
    if "E2E: load failed" in console or not re.search(r"^E2E: loaded", console, re.M):
        raise Fail(f"loading salvage failed in the guest:\n{tail(console, 3000)}")
    if a.mode == "damaged":
        m = re.search(r"^purgatory: segment (0x[0-9a-f]+) at (0x[0-9a-f]+) \((0x[0-9a-f]+) bytes\) is damaged", console, re.M)
        if not m:
            raise Fail(f"the purgatory did not name the damaged segment:\n{tail(console, 2000)}")
        if re.search(r"^salvage \d+\.\d+", console[console.index("E2E: crashing"):], re.M):
            raise Fail("salvage ran although its image was damaged")
        return f": purgatory: segment {m.group(1)} at {m.group(2)} is damaged; not jumped ({secs:.1f} s)"
    if a.hyp and not re.search(r"^salvage: arch arm SVC \(entered in HYP\)", console, re.M):
        raise Fail("the crashed kernel ran in HYP mode, but salvage does not say it was entered in HYP and left it:\n"
                   + tail(console, 2000))
    log, notes = lg.check_vmcore(kit, work, vmcore, CPUS, vaddrs=a.loader == "load")
    if a.show:
        show(a, work, console, log, vmcore)
    size = os.path.getsize(vmcore)
    return (f": crashkernel={a.crashkernel}, vmcore {size >> 20} MiB, {notes} CPU notes, "
            f"makedumpfile found the panic in the log ({secs:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
