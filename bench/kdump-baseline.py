#!/usr/bin/env python3
"""Benchmark: salvage against stock Linux kdump on a real crash in QEMU (issue 5).

Debian's arm64 kernel (the crash kit from tools/setup.sh) boots in qemu-system-aarch64
-M virt with crashkernel=, loads a crash kernel with stock kexec-tools (`kexec -p`) and
panics (`echo c > /proc/sysrq-trigger`). The crash kernel dumps the crashed kernel's
memory to a virtio-blk disk and powers off:
  salvage  salvage.img with salvage.sink=virtio-blk; the host reads the disk back with
           `salvage extract` (complete and intact, digest verified);
  kdump    the same Debian kernel as capture kernel, with a minimal busybox initramfs
           that loads virtio_mmio.ko and virtio_blk.ko and copies /proc/vmcore to the
           disk with `dd`; the disk must then hold an ELF core of /proc/vmcore's size.
A third row loads the same kdump with `kexec -p -i`: kexec-tools' purgatory then skips
its SHA-256 check of the segments (33 MiB for the Linux kernel), which is most of
stock kdump's time to reach its capture kernel under TCG.

The smallest crashkernel= is bisected (salvage in 4 KiB steps up to 4M, kdump in 1 MiB
steps from 32M to 128M); a size counts as working when --confirm runs in a row give a
complete dump. Then --runs timed runs of each at its smallest size; the first one's
vmcore is also checked like host-tests/qemu/crash-test.py does (one NT_PRSTATUS note per
CPU, VMCOREINFO, `makedumpfile --dump-dmesg` finds the panic).

Prints, for each: the smallest crashkernel=, the time (median and range of the timed
runs) from the panic to the dump's completion, to QEMU's exit and to the crash kernel's
first console line, the vmcore's size, the bytes written to the disk, how many timed
runs completed, and the ratios kdump / salvage (of the medians). The
host stamps every console line when it arrives (QEMU's -serial stdio on a pipe), so all
times are the host's wall clock under TCG: a busy host stretches them (the load average
is printed).

Both crashing guests get the same fix for a stock kexec-tools bug on this kernel (see
docs/performance.md): kexec-tools takes `_text` from /proc/kallsyms, which lacks it
(no CONFIG_KALLSYMS_ALL), and then writes a kernel-text PT_LOAD of nearly 2^64 bytes
into the ELF core header; a Linux capture kernel cannot read /proc/vmcore past it. The
crashing /init bind-mounts a copy of /proc/kallsyms with the `_text` line added
(`_stext` - 64 KiB, the arm64 linker script's layout). --no-text-fix leaves it out.

Usage: bench/kdump-baseline.py [--ram 512] [--cpus 2] [--quick] [--fill MIB] [--markdown [FILE]]
Needs a build and the crash kit (tools/setup.sh, then tools/test.sh or cmake --build).
"""
import argparse
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from common import BUILD
from salvage_qemu import Fail, save
from salvage_qemu import linux as lg
from salvage_qemu.qemu import Qemu

# What Debian's kdump-tools appends to the crashed kernel's command line (minus
# crashkernel=) for the capture kernel (KDUMP_CMDLINE_APPEND in /etc/default/kdump-tools;
# systemd.unit=kdump-tools-dump.service left out: the capture initramfs has no systemd).
KDUMP_APPEND = "reset_devices nr_cpus=1 irqpoll nousb"
CRASHED_CMDLINE = "console=ttyAMA0 crashkernel={ck} panic=1"

# Known-good sizes for --quick (--salvage-crashkernel/--kdump-crashkernel override):
# salvage gets crash-test.py's default, its image's memory footprint + 64 KiB rounded up
# to 256 KiB; kdump the size that always worked here (docs/performance.md).
QUICK_KDUMP_K = 60 << 10

# The table's names for the three crash kernels.
LABELS = {"salvage": "salvage", "kdump": "Linux kdump", "kdump-i": "Linux kdump, kexec -i"}

# Console lines the timings hang on.
PANIC = re.compile(r"sysrq: Trigger a crash|Kernel panic - not syncing")
HANDOFF = re.compile(r"Starting crashdump kernel")
SALVAGE_START = re.compile(r"^salvage \d+\.\d+")
SALVAGE_DONE = re.compile(r"^salvage: dump complete: .*?, (\d+) stream bytes")
LINUX_START = re.compile(r"Booting Linux on physical CPU")
KDUMP_DONE = re.compile(r"^KDUMP: copied (\d+) bytes")


class Console:
    """QEMU's serial console (-serial stdio on a pipe), read live by a thread. Every line
    is stamped with the host's monotonic clock when its newline arrives, and the whole
    output is saved to a file."""

    def __init__(self, proc, path):
        self.lines = []  # (seconds, text)
        self._log = open(path, "wb")
        self._thread = threading.Thread(target=self._read, args=(proc.stdout.fileno(),), daemon=True)
        self._thread.start()

    def _read(self, fd):
        partial = b""
        while True:
            chunk = os.read(fd, 65536)
            now = time.monotonic()
            if not chunk:
                break
            self._log.write(chunk)
            *complete, partial = (partial + chunk).split(b"\n")
            self.lines += [(now, line.decode("utf-8", "replace").rstrip("\r")) for line in complete]
        if partial:
            self.lines.append((time.monotonic(), partial.decode("utf-8", "replace")))
        self._log.close()

    def join(self, start, path):
        """Waits for the reader, then writes the lines with their times after `start`."""
        self._thread.join(timeout=10)
        with open(path, "w") as f:
            f.writelines(f"{t - start:8.3f} {line}\n" for t, line in self.lines)

    def find(self, pattern, after=0.0):
        """(time, match) of the first line at or after `after` matching, or (None, None)."""
        for t, line in self.lines:
            if t >= after:
                m = pattern.search(line)
                if m:
                    return t, m
        return None, None

    def text(self):
        return "\n".join(line for _, line in self.lines)


class Run:
    """One boot-crash-capture run: the console, the wall times, and the verdict."""

    def __init__(self, kind, crashkernel, work):
        self.kind, self.crashkernel, self.work = kind, crashkernel, work
        self.console = None
        self.ok = False
        self.why = ""
        self.exit = None
        self.panic = self.handoff = self.capture_start = self.done = None
        self.dump_bytes = 0    # the vmcore's size (salvage: extracted; kdump: /proc/vmcore)
        self.written = 0       # bytes the crash kernel wrote to the disk
        self.vmcore = None

    def seconds(self, t):
        return t - self.panic if t is not None and self.panic is not None else None

    def capture(self, start, done):
        """Finds on the console the crash kernel's first line (`start`, after the
        handoff) and its end of the dump (`done`); returns the latter's match, or None
        when the run already failed (`why`) or the dump did not complete."""
        self.capture_start, _ = self.console.find(start, self.handoff or 0)
        self.done, m = self.console.find(done)
        return None if self.why else m


def size_k(text):
    """crashkernel= size text (512K, 2M, 60M) in KiB."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    n, unit = int(m.group(1)), m.group(2).upper()
    return n >> 10 if not unit else n << {"K": 0, "M": 10, "G": 20}[unit]


def size_text(k):
    return f"{k >> 10}M" if k % 1024 == 0 else f"{k}K"


TEXT_FIX = """
# kexec-tools reads _text from /proc/kallsyms to build the ELF core header; this kernel
# (no CONFIG_KALLSYMS_ALL) lists _stext but not _text, which sits 64 KiB below it.
st=$(awk '$3 == "_stext" {print $1; exit}' /proc/kallsyms)
{ printf '%016x T _text\\n' $((0x$st - 0x10000)); cat /proc/kallsyms; } > /tmp/kallsyms
mount --bind /tmp/kallsyms /proc/kallsyms && echo "BENCH: _text $(head -c 16 /tmp/kallsyms) added to /proc/kallsyms"
"""


FILL = """
# --fill: random pages in a ramfs (no size limit, never swapped), so that the crashed
# kernel's memory is not mostly zero pages.
mount -t ramfs ramfs /mnt
dd if=/dev/urandom of=/mnt/fill bs=1M count={mib} 2>/dev/null
echo "BENCH: $(( $(stat -c %s /mnt/fill) >> 20 )) MiB of random data in memory"
"""


def crashing_initramfs(a, kit, load_cmd, extra_files, virtio_blk=False):
    """The crashing guest: fixes kallsyms (unless --no-text-fix), fills memory (--fill),
    loads the crash kernel with `load_cmd`, and panics. `extra_files` is [(path in
    archive, host path)]; those in sbin/ are executable. `virtio_blk`: load the disk's
    driver first (salvage load checks the disk it arms)."""
    init = lg.INIT_PRELUDE + (lg.INSMOD_VIRTIO_BLK if virtio_blk else "") + (TEXT_FIX if a.text_fix else "") + (FILL.format(mib=a.fill) if a.fill else "") + f"""
echo "BENCH: reservation $(grep 'Crash kernel' /proc/iomem | sed 's/^ *//')"
if {load_cmd}; then
  echo "BENCH: loaded, kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
else
  echo "BENCH: load failed"
  poweroff -f
fi
echo "BENCH: crashing"
echo c > /proc/sysrq-trigger
"""
    c = lg.base_initramfs(kit, init)
    if virtio_blk:
        lg.add_virtio_blk(c, kit)
    lg.add_with_libs(c, kit, "sbin/kexec")
    for name, path in extra_files:
        c.host_file(name, path, 0o755 if name.startswith("sbin/") else 0o644)
    return c.finish()


# The kdump capture kernel's /init: the minimal "copy /proc/vmcore to the disk" job of
# kdump-tools' dump service, without makedumpfile (the issue asks for the plain copy).
CAPTURE_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
echo "KDUMP: capture /init on $(uname -r), $(nproc) CPU, MemTotal $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
insmod /lib/modules/virtio_mmio.ko && insmod /lib/modules/virtio_blk.ko || echo "KDUMP: insmod failed"
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
size=$(stat -c %s /proc/vmcore)
echo "KDUMP: /proc/vmcore is $size bytes"
if dd if=/proc/vmcore of=/dev/vda bs=1M 2>/tmp/dd.log && sync; then
  echo "KDUMP: copied $size bytes"
else
  echo "KDUMP: copy failed: $(tail -n 3 /tmp/dd.log)"
fi
poweroff -f
"""


def capture_initramfs(kit):
    c = lg.base_initramfs(kit, CAPTURE_INIT)
    for mod in ("virtio_mmio.ko", "virtio_blk.ko"):
        c.host_file(f"lib/modules/{mod}", os.path.join(kit.modules, mod), 0o644)
    return c.finish()


def boot(a, kit, run, initrd_bytes, disk):
    """Boots the crashing guest with the virtio-blk disk, reads the console live, and
    waits for QEMU to end itself (power-off, or -no-reboot after a panic), killing it
    after --timeout seconds."""
    initrd = os.path.join(run.work, "initrd.gz")
    with open(initrd, "wb") as f:
        f.write(initrd_bytes)
    with open(disk, "wb") as f:  # a fresh sparse disk: RAM plus room for the headers
        f.truncate((a.ram + 64) << 20)
    append = CRASHED_CMDLINE.format(ck=size_text(run.crashkernel))
    cmd = lg.qemu_cmd(kit, initrd, append, a.ram, a.cpus,
                      ["-drive", f"if=none,id=d0,file={disk},format=raw", "-device", "virtio-blk-device,drive=d0",
                       "-serial", "stdio"])
    start = time.monotonic()
    qemu = Qemu(cmd, stdin=subprocess.DEVNULL, text=False)
    run.console = Console(qemu.proc, os.path.join(run.work, "console.txt"))
    try:
        with qemu:
            qemu.proc.wait(timeout=a.timeout)
            run.exit = time.monotonic()
    except subprocess.TimeoutExpired:
        run.why = f"QEMU did not end itself within {a.timeout} s"
    finally:
        run.console.join(start, os.path.join(run.work, "console-timed.txt"))
    c = run.console
    run.panic, _ = c.find(PANIC)
    run.handoff, _ = c.find(HANDOFF)
    if "BENCH: load failed" in c.text():
        run.why = "kexec -p could not load the crash kernel"
    elif run.panic is None and not run.why:
        run.why = "no panic on the console"


def run_salvage(a, kit, ck, work):
    """salvage as the crash kernel, loaded by stock kexec-tools (--loader kexec) or by
    `salvage load` with salvage's purgatory (--loader load); complete = `salvage
    extract` says complete and intact."""
    run = Run("salvage", ck, work)
    files = [("usr/lib/salvage/salvage.img", a.image)]
    if a.loader == "load":
        # The blank disk is all the dump's; salvage load checks it, so the driver loads first.
        load = "salvage load --sink virtio-blk --target disk --confirm-whole-device --after poweroff"
        files += [("usr/lib/salvage/purgatory.bin", a.purgatory), ("sbin/salvage", a.salvage_arm64)]
    else:
        load = ('kexec -p /usr/lib/salvage/salvage.img --append="salvage.sink=virtio-blk salvage.target=disk '
                'salvage.confirm=whole-disk salvage.after=poweroff"')
    disk = os.path.join(work, "disk.img")
    boot(a, kit, run, crashing_initramfs(a, kit, load, files, virtio_blk=a.loader == "load"), disk)
    m = run.capture(SALVAGE_START, SALVAGE_DONE)
    if not m:
        run.why = run.why or "salvage did not complete the dump"
        return run
    run.written = int(m.group(1))
    run.vmcore = os.path.join(work, "vmcore")
    r = subprocess.run([a.salvage, "extract", disk, "-o", run.vmcore], capture_output=True, text=True, errors="replace")
    save(work, "extract.log", r.stdout + r.stderr)
    if r.returncode != 0 or "complete and intact" not in r.stderr + r.stdout:
        run.why = f"salvage extract exited {r.returncode}: {r.stderr.strip()[-300:]}"
        return run
    run.dump_bytes = os.path.getsize(run.vmcore)
    run.ok = True
    return run


def elf_extent(path):
    """The end of the last segment of the ELF64 file at `path` (0 if it is not ELF64)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return 0
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    end = phoff + phentsize * phnum
    for i in range(phnum):
        _, _, off, _, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", table, i * phentsize)
        end = max(end, off + filesz)
    return end


def run_kdump(a, kit, ck, work, no_checks=False):
    """Linux kdump: the kit's kernel and a busybox capture initramfs; complete = the
    capture /init copied all of /proc/vmcore and the disk holds an ELF core that size."""
    run = Run("kdump-i" if no_checks else "kdump", ck, work)
    capture = os.path.join(work, "capture.gz")
    with open(capture, "wb") as f:
        f.write(capture_initramfs(kit))
    cmdline = " ".join(w for w in CRASHED_CMDLINE.split() if not w.startswith("crashkernel="))
    cmdline += " " + KDUMP_APPEND + (" " + a.kdump_append if a.kdump_append else "")
    load = f'kexec -p {"-i " if no_checks else ""}/boot/Image --initrd=/boot/capture.gz --command-line="{cmdline}"'
    disk = os.path.join(work, "disk.img")
    boot(a, kit, run, crashing_initramfs(a, kit, load, [("boot/Image", kit.image), ("boot/capture.gz", capture)]),
         disk)
    m = run.capture(LINUX_START, KDUMP_DONE)
    if run.why:
        return run
    if not m:
        # Say why: the capture /init's complaint, else the capture kernel's first oops,
        # panic or out-of-memory line.
        text = run.console.text()
        capture = text[max(text.find("Starting crashdump kernel"), 0):]
        m = (re.search(r"^KDUMP: (copy failed.*|insmod failed)", capture, re.M) or
             re.search(r"^\[[ \d.]+\] (Unable to handle .*|Kernel panic .*|Out of memory.*)", capture, re.M))
        run.why = m.group(1) if m else "the capture kernel did not copy /proc/vmcore"
        return run
    run.dump_bytes = run.written = int(m.group(1))
    extent = elf_extent(disk)
    if extent != run.dump_bytes:
        run.why = f"the disk holds no ELF core of {run.dump_bytes} bytes (ELF extent {extent})"
        return run
    os.truncate(disk, run.dump_bytes)  # the disk's first bytes are the vmcore
    run.vmcore = disk
    run.ok = True
    return run


def attempt(a, kit, kind, ck, label, keep_vmcore=False):
    """One run in its own directory under the work directory; prints a line. The disk
    and the vmcore are deleted afterwards unless `keep_vmcore` (console logs stay)."""
    work = os.path.join(a.work, f"{label}-{kind}-{size_text(ck)}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if kind == "salvage":
        run = run_salvage(a, kit, ck, work)
    else:
        run = run_kdump(a, kit, ck, work, no_checks=kind == "kdump-i")
    if run.ok:
        done, start, off = (fmt([v] if v is not None else []) for v in
                            (run.seconds(run.done), run.seconds(run.capture_start), run.seconds(run.exit)))
        print(f"  {kind:8} crashkernel={size_text(ck):6} complete: panic to dump {done} "
              f"(crash kernel's first line at {start}), to power-off {off}", flush=True)
    else:
        print(f"  {kind:8} crashkernel={size_text(ck):6} failed: {run.why}", flush=True)
    disk = os.path.join(work, "disk.img")
    for f in (disk, run.vmcore):
        if f and os.path.exists(f) and not (keep_vmcore and f == run.vmcore):
            os.remove(f)
    return run


def works(a, kit, kind, ck):
    """A size works when --confirm runs in a row give a complete dump: near its limit,
    Linux's capture kernel runs out of memory during boot in some runs and not others."""
    return all(attempt(a, kit, kind, ck, f"search{i}").ok for i in range(a.confirm))


def smallest(a, kit, kind, grid, first):
    """The smallest crashkernel= (KiB) in `grid` that works, by bisection (assuming that
    larger sizes work too) whose first probe is `first`."""
    lo, hi = -1, None  # the largest index known to fail, the smallest known to work
    probe = grid.index(first)
    while True:
        if works(a, kit, kind, grid[probe]):
            hi = probe
        else:
            lo = probe
        top = hi if hi is not None else len(grid)
        if top - lo <= 1:
            return grid[hi] if hi is not None else None
        probe = (lo + top) // 2


def verify(a, kit, run):
    """crash-test.py's checks on the vmcore (salvage_qemu.linux.check_vmcore): NT_PRSTATUS
    per CPU, VMCOREINFO, and makedumpfile --dump-dmesg finding the panic in the log; the
    virtual addresses too where `salvage load` wrote the headers (kdump's are always
    kexec-tools')."""
    try:
        _, notes = lg.check_vmcore(kit, run.work, run.vmcore, a.cpus,
                                   vaddrs=run.kind == "salvage" and a.loader == "load")
        return f"{notes} CPU notes, makedumpfile found the panic in the log"
    except Fail as e:
        run.ok, run.why = False, f"vmcore check: {str(e)[:300]}"
        return run.why


def timed(a, kit, kind, ck):
    """--runs runs at crashkernel `ck`; the first one's vmcore is also verified."""
    runs = []
    for i in range(a.runs):
        run = attempt(a, kit, kind, ck, f"timed{i}", keep_vmcore=i == 0)
        if run.ok and i == 0:
            print(f"  {kind:8} vmcore: {verify(a, kit, run)}", flush=True)
            if not a.workdir:
                os.remove(run.vmcore)
        runs.append(run)
    return runs


def summarize(kind, ck, runs):
    """The complete runs' times after the panic (lists of seconds), and the sizes."""
    ok = [r for r in runs if r.ok]

    def times(attr):
        return [v for v in (r.seconds(getattr(r, attr)) for r in ok) if v is not None]
    return dict(kind=kind, ck=ck, n=len(ok), of=len(runs), done=times("done"), exit=times("exit"),
                start=times("capture_start"), dump=ok[0].dump_bytes if ok else 0, written=ok[0].written if ok else 0)


def fmt(vals):
    """The median, and the range when there are several runs."""
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.2f} s"
    return f"{statistics.median(vals):.2f} s ({min(vals):.2f}-{max(vals):.2f})"


def mib(n):
    return f"{n / 2**20:.1f} MiB" if n else "-"


def ratio(x, y):
    """x / y; lists of times stand for their medians."""
    x, y = (statistics.median(v) if isinstance(v, list) and v else v for v in (x, y))
    return f"{x / y:.1f}x" if x and y else "-"


def table(rows, searched):
    """The result as (header, rows of cells, ratio lines)."""
    head = ["crash kernel", "smallest crashkernel=" if searched else "crashkernel=", "panic to dump complete",
            "panic to power-off", "panic to crash kernel's first line", "vmcore", "written to disk", "complete runs"]
    cells = [[LABELS[r["kind"]], size_text(r["ck"]), fmt(r["done"]), fmt(r["exit"]), fmt(r["start"]), mib(r["dump"]),
              mib(r["written"]), f"{r['n']}/{r['of']}"] for r in rows]
    s = next(r for r in rows if r["kind"] == "salvage")
    ratios = [f"{LABELS[k['kind']]} / salvage: crashkernel= {ratio(k['ck'], s['ck'])}, "
              f"panic to dump complete {ratio(k['done'], s['done'])}, panic to power-off {ratio(k['exit'], s['exit'])}"
              for k in rows if k["kind"] != "salvage"]
    return head, cells, ratios


def print_text(head, cells, ratios):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *cells)]
    for row in [head] + cells:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    for line in ratios:
        print(line)


def markdown(head, cells, ratios):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(row) + " |" for row in cells]
    out += [""] + [f"- {line}" for line in ratios]
    return "\n".join(out) + "\n"


def snapshot(a):
    """Copies the image and the host tool into the work directory, so that a rebuild
    during the (minutes long) run cannot change them; returns a description of the image."""
    tools = [("image", "salvage.img"), ("salvage", "salvage")]
    if a.loader == "load":
        tools += [("purgatory", "purgatory.bin"), ("salvage_arm64", "salvage-arm64")]
    for attr, name in tools:
        path = getattr(a, attr)
        if not os.path.exists(path):
            raise SystemExit(f"bench: {path} is missing (build first)")
        copy = os.path.join(a.work, name)
        shutil.copy2(path, copy)
        setattr(a, attr, copy)
    data = open(a.image, "rb").read()
    build = re.search(rb"git [0-9a-f]+[^\0]*", data)  # SALVAGE_BUILD, as the banner prints it
    footprint = struct.unpack_from("<I", data, 0x64)[0] if data[0x40:0x48] == b"SLVGBOOT" else 0
    return (f"salvage.img ({build.group().decode() if build else 'unknown build'}): {len(data):,} bytes, "
            f"{footprint:,} bytes in memory (boot parameter block)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="Every QEMU run ends itself (power-off, or -no-reboot after a panic) or is "
                                        "killed after --timeout seconds.")
    ap.add_argument("--ram", type=int, default=512, help="the crashed guest's RAM in MiB (default 512)")
    ap.add_argument("--cpus", type=int, default=2, help="the crashed guest's CPUs (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="no crashkernel= searches: use known-good sizes (salvage: its footprint + 64 KiB, "
                         f"rounded up to 256 KiB, as crash-test.py; kdump: {size_text(QUICK_KDUMP_K)})")
    ap.add_argument("--salvage-crashkernel", type=size_k, metavar="SIZE", help="salvage's crashkernel= for --quick")
    ap.add_argument("--kdump-crashkernel", type=size_k, metavar="SIZE", help="kdump's crashkernel= for --quick")
    ap.add_argument("--confirm", type=int, default=3, metavar="N",
                    help="the search counts a size as working when N runs in a row complete (default 3)")
    ap.add_argument("--runs", type=int, default=3, metavar="N",
                    help="timed runs of each at its size (default 3); the table shows medians")
    ap.add_argument("--no-kexec-i", dest="kexec_i", action="store_false",
                    help="leave out the extra row: kdump loaded with `kexec -p -i` (purgatory skips its SHA-256 check)")
    ap.add_argument("--no-text-fix", dest="text_fix", action="store_false",
                    help="do not add _text to /proc/kallsyms (stock kexec-tools then writes a broken kernel-text PT_LOAD)")
    ap.add_argument("--fill", type=int, default=0, metavar="MIB",
                    help="before the crash, fill this much of the guest's memory with random data (default 0: "
                         "a freshly booted guest, mostly zero pages)")
    ap.add_argument("--kdump-append", default="", metavar="WORDS",
                    help="more words for the capture kernel's command line (e.g. cma=0)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds before a QEMU run is killed (default 120)")
    ap.add_argument("--markdown", nargs="?", const="-", metavar="FILE", help="also write the table as markdown (- = stdout)")
    ap.add_argument("--kit", default=os.path.join(BUILD, "crash-kit", "arm64"), help="the crash kit (tools/setup.sh)")
    ap.add_argument("--image", default=os.path.join(BUILD, "image-aarch64", "boot", "salvage.img"))
    ap.add_argument("--salvage", default=os.path.join(BUILD, "loader", "salvage"), help="the host `salvage`")
    ap.add_argument("--loader", default="kexec", choices=["kexec", "load"],
                    help="what loads salvage in the crashing guest: stock `kexec -p` (default) or `salvage load`")
    ap.add_argument("--purgatory", default=os.path.join(BUILD, "image-aarch64", "purgatory", "purgatory.bin"),
                    help="salvage's purgatory, for --loader load")
    ap.add_argument("--salvage-arm64", default=os.path.join(BUILD, "salvage-linux-aarch64", "loader", "salvage"),
                    help="the static arm64 `salvage`, for --loader load")
    ap.add_argument("--workdir", help="keep every run's console logs (and the verified vmcores) here")
    a = ap.parse_args()
    a.work = a.workdir or tempfile.mkdtemp(prefix="salvage-kdump-bench-")
    os.makedirs(a.work, exist_ok=True)
    try:
        kit = lg.Kit(a.kit)
        image = snapshot(a)
        print(f"Debian {kit.release} in QEMU TCG, {a.ram} MiB, {a.cpus} CPUs, {a.fill} MiB random fill, kallsyms "
              f"_text fix {'on' if a.text_fix else 'off'}; host load average {os.getloadavg()[0]:.1f}\n"
              f"{image}, loaded by {'kexec -p' if a.loader == 'kexec' else 'salvage load'}",
              flush=True)
        if a.quick:
            s_ck = a.salvage_crashkernel or lg.auto_crashkernel(a.image) >> 10
            k_ck = a.kdump_crashkernel or QUICK_KDUMP_K
        else:
            # Page steps for salvage, 1 MiB steps for kdump; the first probes are the
            # crash test's 2M and docs/toolchain.md section 6's 60M.
            print("salvage: smallest crashkernel= (4 KiB steps up to 4M)", flush=True)
            s_ck = smallest(a, kit, "salvage", list(range(4, 4096 + 1, 4)), 2048)
            print("kdump: smallest crashkernel= (1 MiB steps from 32M to 128M)", flush=True)
            k_ck = smallest(a, kit, "kdump", list(range(32 << 10, (128 << 10) + 1, 1 << 10)), 60 << 10)
            if s_ck is None or k_ck is None:
                raise SystemExit(f"bench: no working crashkernel= for {'salvage' if s_ck is None else 'kdump'}")
        print("timed runs", flush=True)
        rows = [summarize("salvage", s_ck, timed(a, kit, "salvage", s_ck)),
                summarize("kdump", k_ck, timed(a, kit, "kdump", k_ck))]
        if a.kexec_i:
            rows.append(summarize("kdump-i", k_ck, timed(a, kit, "kdump-i", k_ck)))
        print(f"\nhost load average at the end {os.getloadavg()[0]:.1f}; times: median (range) of the complete runs")
        head, cells, ratios = table(rows, not a.quick)
        print_text(head, cells, ratios)
        if a.markdown:
            md = markdown(head, cells, ratios)
            if a.markdown == "-":
                print("\n" + md, end="")
            else:
                with open(a.markdown, "w") as f:
                    f.write(md)
        return 0 if all(r["n"] == r["of"] for r in rows) else 1
    finally:
        if not a.workdir:
            shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
