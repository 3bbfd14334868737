"""A real Debian kernel in QEMU (arm64 in qemu-system-aarch64, armhf in qemu-system-arm),
for the real-crash tests and the Linux kdump baseline bench: builds a busybox initramfs
from the crash kit that tools/setup.sh fetched (build/crash-kit/arm64, .../armhf) and
boots it; checks the vmcore of its crash as the real consumers read it (readelf,
makedumpfile, gdb).

The initramfs is a gzip'd newc cpio written here (no cpio tool needed). Its /init is a
busybox shell script given by the caller; busybox's applets are installed at boot."""
import gzip
import os
import re
import stat
import struct
import subprocess

from . import Fail, read, save

KIT_DEFAULT = os.path.join("build", "crash-kit", "arm64")

# What differs between the kits' architectures (Debian's names): the kernel file, the
# QEMU machine, the userland's library directory and dynamic loader, the qemu-user
# binary that runs the kit's makedumpfile here, gdb's name for the architecture, and
# salvage's name for it (the image and `salvage load --arch`).
ARCH = {
    "arm64": dict(kernel="Image", qemu=["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57"],
                  libdir="aarch64-linux-gnu", ld="ld-linux-aarch64.so.1", qemu_user="qemu-aarch64-static",
                  gdb="aarch64", salvage="aarch64"),
    "armhf": dict(kernel="zImage", qemu=["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15"],
                  libdir="arm-linux-gnueabihf", ld="ld-linux-armhf.so.3", qemu_user="qemu-arm-static",
                  gdb="armv7", salvage="arm"),
}


def kit_dir(arch):
    """The default kit of a salvage architecture (aarch64, arm) under build/."""
    return os.path.join("build", "crash-kit", {"aarch64": "arm64", "arm": "armhf"}[arch])


class Kit:
    """The fetched crash kit: the kernel (arm64 Image or armhf zImage), its modules and a
    userland of the same architecture. `flavour` "lpae" picks the armhf kit's
    armmp-lpae kernel (lpae/) with the same userland."""

    def __init__(self, path, flavour=None):
        self.path = os.path.abspath(path)
        self.root = os.path.join(self.path, "root")
        kdir = os.path.join(self.path, flavour) if flavour else self.path
        for arch, d in ARCH.items():
            if os.path.exists(os.path.join(kdir, d["kernel"])):
                self.arch, self.a = arch, d
                break
        else:
            raise FileNotFoundError(f"no kernel (Image or zImage) in {kdir}: run tools/setup.sh build "
                                    "(it fetches the crash kit)")
        self.image = os.path.join(kdir, self.a["kernel"])
        self.modules = os.path.join(kdir, "modules")
        busybox = os.path.join(self.root, "bin", "busybox")
        if not os.path.exists(busybox):
            raise FileNotFoundError(f"{busybox} is missing: run tools/setup.sh build (it fetches the crash kit)")
        with open(os.path.join(kdir, "release")) as f:
            self.release = f.read().strip()

    def lib_closure(self, binary):
        """The shared libraries `binary` (a path inside root/) needs, transitively, as
        paths inside root/, with the dynamic loader."""
        need, seen = [binary], []
        libdirs = [f"lib/{self.a['libdir']}", f"usr/lib/{self.a['libdir']}", "lib"]
        while need:
            cur = need.pop()
            for lib in needed_libs(os.path.join(self.root, cur)):
                for d in libdirs:
                    rel = os.path.join(d, lib)
                    if os.path.exists(os.path.join(self.root, rel)) and rel not in seen:
                        seen.append(rel)
                        need.append(rel)
                        break
                    if os.path.exists(os.path.join(self.root, rel)):
                        break
                else:
                    raise FileNotFoundError(f"{lib} (needed by {cur}) is not in {self.root}")
        return seen


def needed_libs(path):
    """DT_NEEDED entries of a little-endian ELF, 64-bit (arm64) or 32-bit (armhf)."""
    data = open(os.path.realpath(path), "rb").read()
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2):
        return []
    is64 = data[4] == 2
    if is64:
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    else:
        phoff, = struct.unpack_from("<I", data, 0x1c)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x2a)
    loads, dyn = [], None
    for i in range(phnum):
        if is64:
            p_type, _, off, vaddr, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        else:
            p_type, off, vaddr, _, filesz, _, _, _ = struct.unpack_from("<IIIIIIII", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((vaddr, off, filesz))
        elif p_type == 2:
            dyn = (off, filesz)
    if not dyn:
        return []

    def v2o(v):
        for vaddr, off, filesz in loads:
            if vaddr <= v < vaddr + filesz:
                return v - vaddr + off
        raise ValueError("address outside the file")
    strtab, needed = None, []
    entry, fmt = (16, "<qQ") if is64 else (8, "<iI")
    for i in range(dyn[1] // entry):
        tag, val = struct.unpack_from(fmt, data, dyn[0] + i * entry)
        if tag == 0:
            break
        if tag == 5:
            strtab = v2o(val)
        elif tag == 1:
            needed.append(val)
    out = []
    for n in needed:
        end = data.index(b"\0", strtab + n)
        out.append(data[strtab + n:end].decode())
    return out


class Cpio:
    """newc cpio archive, built in memory."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1
        self.dirs = set()
        self.names = set()

    def _entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.names.add(name)
        self.out += hdr.encode() + name_b
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        name = name.strip("/")
        parts = name.split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self._entry(d, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o644):
        name = name.strip("/")
        if "/" in name:
            self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFREG | mode, data)

    def host_file(self, name, path, mode=None):
        with open(os.path.realpath(path), "rb") as f:
            data = f.read()
        if mode is None:
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
        self.file(name, data, mode)

    def symlink(self, name, target):
        name = name.strip("/")
        if "/" in name:
            self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.out += b"\0" * (-len(self.out) % 512)
        return gzip.compress(bytes(self.out), compresslevel=1)


def base_initramfs(kit, init_script):
    """An initramfs with busybox, /dev/console and the given /init text."""
    c = Cpio()
    for d in ("dev", "proc", "sys", "tmp", "mnt", "bin", "sbin", "usr/bin", "usr/sbin", "root"):
        c.dir(d)
    c._entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    c.host_file("bin/busybox", os.path.join(kit.root, "bin", "busybox"), 0o755)
    c.file("init", init_script.encode(), 0o755)
    return c


INIT_PRELUDE = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "E2E: init on $(uname -r), $(nproc) CPUs"
"""


# Debian builds virtio-mmio and virtio-blk as modules: a guest whose `salvage load` checks
# the dump disk (/dev/vda) loads them first. add_virtio_blk puts them into the archive.
INSMOD_VIRTIO_BLK = """insmod /lib/modules/virtio_mmio.ko && insmod /lib/modules/virtio_blk.ko || echo "E2E: insmod failed"
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
"""


def add_virtio_blk(c, kit):
    for mod in ("virtio_mmio.ko", "virtio_blk.ko"):
        c.host_file(f"lib/modules/{mod}", os.path.join(kit.modules, mod), 0o644)


def add_with_libs(c, kit, binary):
    """Adds root/<binary> and its shared libraries (same paths) to the archive."""
    c.host_file(binary, os.path.join(kit.root, binary), 0o755)
    for lib in kit.lib_closure(binary):
        c.host_file(lib, os.path.join(kit.root, lib), 0o755)
    # The dynamic loader at its canonical path (PT_INTERP).
    ld = kit.a["ld"]
    if f"lib/{ld}" not in c.names:
        c.host_file(f"lib/{ld}", os.path.join(kit.root, "lib", kit.a["libdir"], ld), 0o755)


def qemu_cmd(kit, initrd, append, ram_mib=512, cpus=2, extra=(), machine_extra=""):
    """machine_extra: appended to -M virt (",virtualization=on")."""
    q = list(kit.a["qemu"])
    q[q.index("-M") + 1] += machine_extra
    return q + ["-smp", str(cpus),
            "-m", str(ram_mib), "-nographic", "-no-reboot", "-monitor", "none", "-nic", "none",
            "-kernel", kit.image, "-initrd", initrd, "-append", append] + list(extra)


# ---- the vmcore of the crashed kernel ---------------------------------------------------

def check_vmcore(kit, work, vmcore, cpus, vaddrs):
    """The real consumers' checks: readelf -n shows one NT_PRSTATUS note per CPU (`cpus`)
    and VMCOREINFO, `makedumpfile --dump-dmesg` extracts the crashed kernel's log and it
    holds the panic; with `vaddrs` (a vmcore whose headers `salvage load` wrote) gdb reads
    through both kinds of virtual address (check_vaddrs). Returns (the log, the number
    of NT_PRSTATUS notes)."""
    if not os.path.exists(vmcore):
        raise Fail("no vmcore")
    r = subprocess.run(["readelf", "-n", "-W", vmcore], capture_output=True, text=True, errors="replace")
    prstatus = len(re.findall(r"^\s+CORE\s+0x[0-9a-f]+\s+NT_PRSTATUS", r.stdout, re.M))
    if prstatus != cpus:
        raise Fail(f"readelf -n shows {prstatus} NT_PRSTATUS notes, want one per CPU ({cpus}):\n{r.stdout[:2000]}")
    if "VMCOREINFO" not in r.stdout:
        raise Fail("readelf -n shows no VMCOREINFO note")
    dmesg = os.path.join(work, "dmesg.txt")
    mk = makedumpfile_cmd(kit) + ["--dump-dmesg", vmcore, dmesg]
    r = subprocess.run(mk, capture_output=True, text=True, errors="replace", timeout=300)
    save(work, "makedumpfile.log", r.stdout + r.stderr)
    if r.returncode != 0 or not os.path.exists(dmesg):
        raise Fail(f"makedumpfile --dump-dmesg exited {r.returncode}:\n{(r.stdout + r.stderr)[-2000:]}")
    log = read(dmesg)
    if "sysrq: Trigger a crash" not in log:
        raise Fail(f"the log makedumpfile extracted lacks 'sysrq: Trigger a crash':\n{log[-2000:]}")
    if vaddrs:
        check_vaddrs(kit, work, vmcore)
    return log, prstatus


def vmcoreinfo(vmcore):
    """The VMCOREINFO note's KEY=value lines, as a dict."""
    with open(vmcore, "rb") as f:
        head = f.read(1 << 20)
    i = head.find(b"VMCOREINFO\0")
    if i < 0:
        raise Fail("no VMCOREINFO note in the first MiB of the vmcore")
    text = head[i + 12:i + 12 + 4096].split(b"\0")[0].decode(errors="replace")
    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l)


def check_vaddrs(kit, work, vmcore):
    """gdb reads the crashed kernel's init_uts_ns (its release string) at the virtual
    addresses the PT_LOADs that `salvage load` wrote carry, as crash and drgn need them.
    arm64: at its kernel-image address and again through the linear map. 32-bit Arm: the
    kernel image lies inside the linear map (lowmem), so the symbol's address is a linear
    map address, and there is one kind."""
    vi = vmcoreinfo(vmcore)
    uts = int(vi["SYMBOL(init_uts_ns)"], 16)
    release_off = 65 * 2  # struct new_utsname: sysname, nodename, release (65 bytes each)
    if kit.arch == "arm64":
        voff = int(vi["NUMBER(kimage_voffset)"], 16)
        phys_offset = int(vi["NUMBER(PHYS_OFFSET)"], 16)
        page_offset = (~0 << int(vi["NUMBER(VA_BITS)"])) & (2**64 - 1)
        phys = (uts - voff) % 2**64
        linear = (phys - phys_offset + page_offset) % 2**64
        where = {"the kernel-image address": uts + release_off, "the linear-map address": linear + release_off}
    else:
        where = {"the linear-map address": uts + release_off}
    cmds = [f"set architecture {kit.a['gdb']}", f"core-file {vmcore}"] + [f"x/s {v:#x}" for v in where.values()]
    r = subprocess.run(["gdb-multiarch", "-nx", "-batch"] + sum((["-ex", c] for c in cmds), []),
                       capture_output=True, text=True, errors="replace", timeout=120)
    save(work, "gdb-vaddr.log", r.stdout + r.stderr)
    want = f'"{kit.release}"'
    got = [l for l in r.stdout.splitlines() if l.startswith("0x")]
    if len(got) != len(where) or not all(l.endswith(want) for l in got):
        said = " and ".join(f"{k} {v:#x}" for k, v in where.items())
        raise Fail(f"gdb did not read the release {want} at {said}:\n{r.stdout}\n{r.stderr}")


def auto_crashkernel(image):
    """The image's memory footprint (boot parameter block, offset 0x64) + 64 KiB, rounded
    up to 256 KiB."""
    with open(image, "rb") as f:
        head = f.read(0x68)
    if head[0x40:0x48] != b"SLVGBOOT":
        raise Fail(f"{image}: no salvage boot parameter block")
    footprint = struct.unpack_from("<I", head, 0x64)[0]
    return (footprint + (64 << 10) + (256 << 10) - 1) & ~((256 << 10) - 1)


def makedumpfile_cmd(kit):
    """Debian's amd64 makedumpfile reads only x86_64 dumps (docs/toolchain.md section
    6); the kit's own build (arm64, armhf) runs here under qemu-user with the kit's
    libraries."""
    return [kit.a["qemu_user"], "-L", kit.root, os.path.join(kit.root, "usr", "bin", "makedumpfile")]
