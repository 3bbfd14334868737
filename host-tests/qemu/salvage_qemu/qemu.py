"""QEMU's command line per architecture and board, and QEMU runs that always end."""
import os
import socket
import subprocess
import time

from . import Fail, read
from . import dtb as dt

QEMU = {
    "aarch64": ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53"],
    "arm": ["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15"],
    "riscv64": ["qemu-system-riscv64", "-M", "virt"],
}
COMMON = ["-m", "256M", "-display", "none", "-monitor", "none", "-net", "none", "-no-reboot"]
# Where virt's RAM starts.
RAM_BASE = {"aarch64": 0x40000000, "arm": 0x40000000, "riscv64": 0x80000000}
# The early console (kind, base) of virt, for the image's and the purgatory's parameter
# blocks (boot/include/salvage/boot/boot-params.h).
EARLYCON = {"aarch64": (1, 0x09000000), "arm": (1, 0x09000000), "riscv64": (2, 0x10000000)}
# QEMU's Raspberry Pi boards (--machine): the CPU architecture, where QEMU puts a Linux
# image, and the mode the image is entered in (docs/toolchain.md section 5). Their RAM
# size is fixed (no -m) and starts at 0.
RASPI = {
    "raspi3b": dict(arch="aarch64", load=0x200000, mode="EL2"),
    "raspi2b": dict(arch="arm", load=0x10000, mode="SVC"),
    "raspi0": dict(arch="arm", load=0x10000, mode="SVC"),
}
# The -serial index of each UART on QEMU's raspi boards (hw/arm/bcm2835_peripherals.c):
# serial 0 is the PL011 (uart0), serial 1 the mini UART (aux).
RASPI_SERIAL = {"arm,pl011": 0, "brcm,bcm2835-aux-uart": 1}
BOOT_TIMEOUT = 30  # seconds for a boot that ends by itself (boot()'s default)


def machine_cmd(arch, machine="virt", machine_extra="", ram=None):
    """QEMU's command line up to the devices: the binary, -M and the COMMON options, with
    -m `ram` on virt (default 256M); raspi boards keep their fixed RAM."""
    common = list(COMMON)
    if machine == "virt":
        cmd = list(QEMU[arch])
        cmd[2] += machine_extra
        if ram:
            common[common.index("-m") + 1] = ram
        return cmd + common
    i = common.index("-m")
    del common[i:i + 2]
    # The raspi boards always have 4 CPUs, three of them spinning in QEMU's boot stub;
    # one TCG thread for all (WFE yields to the next CPU) makes a serial dump about 4x
    # faster than a thread each on a small host.
    return [QEMU[RASPI[machine]["arch"]][0], "-M", machine + machine_extra, "-accel", "tcg,thread=single"] + common


def serial_args(dest, index=0):
    """-serial options putting UART `index` (QEMU's order) on `dest`, the others on null."""
    out = []
    for _ in range(index):
        out += ["-serial", "null"]
    return out + ["-serial", dest]


def stdout_serial_index(machine, dtb):
    """Which -serial the DTB's stdout-path UART is on (always 0 on virt)."""
    if machine == "virt":
        return 0
    compat = dt.fdtget(dtb, dt.stdout_node(dtb), "compatible", "s").split()[0]
    if compat not in RASPI_SERIAL:
        raise Fail(f"stdout-path names a {compat}, which QEMU's {machine} has no -serial for")
    return RASPI_SERIAL[compat]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dump_dtb(arch, path, args=(), machine="virt", machine_extra="", ram=None, timeout=60):
    """Writes the DTB QEMU would hand the guest booted with `args` to `path` (QEMU's
    dumpdtb= machine option: QEMU exits at once)."""
    cmd = machine_cmd(arch, machine, machine_extra + f",dumpdtb={path}", ram)
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)
    if not os.path.exists(path):
        raise Fail(f"QEMU did not dump its DTB: {r.stdout}{r.stderr}")


class Qemu:
    """A QEMU process that always ends: as a context manager it is killed (and waited for)
    on the way out if it still runs, whatever happened inside. stdout is a text pipe with
    stderr in it unless the Popen keywords say otherwise."""

    def __init__(self, cmd, **popen):
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.STDOUT)
        popen.setdefault("text", True)
        self.start = time.monotonic()
        self.proc = subprocess.Popen(cmd, **popen)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.end()
        return False

    def end(self):
        """Kills QEMU unless it has ended, and waits for it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def elapsed(self):
        return time.monotonic() - self.start

    def follow(self, console, timeout, step=0.2):
        """Yields the text of the console file every `step` s while QEMU runs. When it
        still runs after `timeout` s, ends it and raises Fail with the console's tail."""
        while self.proc.poll() is None:
            if self.elapsed() > timeout:
                self.end()
                raise Fail(f"QEMU still running after {timeout} s:\n{read(console)[-3000:]}")
            yield read(console)
            time.sleep(step)


def boot(arch, args, console, machine_extra="", expect_exit=True, stop_marker=None, machine="virt", serial_index=0,
         timeout=BOOT_TIMEOUT):
    """Boots with the UART `serial_index` written to the file `console` until QEMU exits
    (it must exit 0 when expect_exit) or, with stop_marker, until that text is on the
    console (salvage halts in place when it has no way to power off). Returns (console
    text, seconds)."""
    cmd = machine_cmd(arch, machine, machine_extra) + serial_args(f"file:{console}", serial_index) + list(args)
    with Qemu(cmd) as q:
        for out in q.follow(console, timeout, step=0.05):
            if stop_marker and stop_marker in out:
                # The marker is salvage's last line.
                time.sleep(0.3)
                q.end()
                return read(console), q.elapsed()
        qemu_out = q.proc.stdout.read()
    if expect_exit and q.proc.returncode != 0:
        raise Fail(f"QEMU exited with {q.proc.returncode}: {qemu_out.strip()}\n" + read(console))
    return read(console), q.elapsed()


def patch_params(path, magic, writes):
    """Edits the parameter block at offset 0x40 of an image or purgatory file, which must
    start with `magic` (b"SLVGBOOT", b"SLVGPURG"): writes is [(file offset, bytes)]."""
    with open(path, "r+b") as f:
        f.seek(0x40)
        if f.read(8) != magic:
            raise Fail(f"no parameter block ({magic.decode()}) at offset 0x40 of {path}")
        for offset, data in writes:
            f.seek(offset)
            f.write(data)
