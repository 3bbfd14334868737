#!/usr/bin/env python3
"""End-to-end dump into a file on an SD card's file system, on QEMU's raspi3b (aarch64
image) and raspi2b (ARMv7 image): what `salvage load --sink sd-file` sets up on a board,
made here on the host with mkfs.vfat, mke2fs, mtools and debugfs (nothing is mounted).

The card holds an MBR with two partitions, 1 FAT32 (as a Pi's boot partition) and 2
ext4 (as its root file system). Both are filled with a byte pattern first (so free space
is not zeros), then get a few files, some of which are deleted again, so the dump file
`salvage.dump` that is preallocated next lands in several runs. The file's card sectors
(salvage.target=extents:...) are computed from the file system alone:

  vfat  the cluster chain (mshowfat) and the boot sector's geometry: cluster N is at
        partition start + reserved + FATs x FAT size + root directory sectors
        + (N - 2) x sectors per cluster;
  ext4  the extent tree's leaves (debugfs "ex"): physical block x block size / 512
        + partition start.

Adjacent runs are merged; there must be at most 64. As a check of that arithmetic, the
card's bytes at those extents must equal the file as the file system reads it (mcopy,
debugfs dump) before the run. Then QEMU boots the salvage image with the synthetic crashed
machine (tools/synth-crash.py) and salvage.sink=sd@ADDR salvage.target=extents:...; after
the board powers off:

  a. `fsck.vfat -n` on partition 1 and `e2fsck -fn` on partition 2 exit 0;
  b. the card differs from the pristine copy only inside the file's extents (compared
     sector by sector over the whole card), and the dump did change sectors there;
  c. the file copied out through the file system (mcopy / debugfs dump) is what the card
     holds at the extents, and `salvage extract` on it gives a vmcore equal to the
     synthetic memory byte for byte, with the crash notes intact; so does `salvage
     extract card.img --extents FIRST` (given only the first extent, the dump header's
     extent list leads to the rest).

The file is preallocated with a non-zero pattern: debugfs `write` leaves all-zero blocks
as holes (the file would have no blocks to overwrite), the same trap as fallocate's
unwritten extents on Linux, which read as zeros whatever is on the card.

Machines (the controller is chosen by what the device tree and the pins say):
  raspi3b  Debian's bcm2837-rpi-3-b.dtb; the card on the Arasan SDHCI at 0x3f300000,
           where QEMU attaches it; a 4 GiB SDHC card (block addressing) with partition 2
           past 2 GiB.
  raspi2b  Debian's bcm2836-rpi-2-b.dtb, whose Arasan node is disabled: the card is on
           the SDHOST at 0x3f202000 with GPIO 48-53 routed to it (ALT0), as Linux's
           pinctrl leaves a Pi 2 (salvage.debug=sd-pins-sdhost does the routing; QEMU
           moves the card with the pins); a 256 MiB SDSC card (byte addressing).

Prints "SALVAGE: PASS|FAIL <machine> sd-file-<fs> ..." and exits 0 only on PASS.
"""
import argparse
import os
import random
import re
import shutil
import struct
import subprocess
import sys

from salvage_qemu import Fail, verdict
from salvage_qemu.synth import PAGE, board_dtb, boot_board, check_vmcore, extract, synth_machine

SECTOR = 512
MIB = 1 << 20
MAX_EXTENTS = 64        # salvage.target=extents: (docs/options.md)

# Per machine (its architecture is salvage_qemu.qemu.RASPI's): the SD controller that
# must take the dump (salvage.sink=sd@ADDR, and the name the console gives it), extra
# options, the card.
MACHINES = {
    "raspi3b": dict(sink="sd@0x3f300000", controller="bcm2835-sdhci at 0x3f300000", extra="",
                    card_mib=4096, p2_start=(2 << 30) // SECTOR + 2048),
    "raspi2b": dict(sink="sd@0x3f202000", controller="bcm2835-sdhost at 0x3f202000",
                    extra="salvage.debug=sd-pins-sdhost", card_mib=256, p2_start=200704),
}
P1_START, P1_SECTORS = 2048, 96 * MIB // SECTOR       # FAT32, type 0x0c
P2_SECTORS = 156 * MIB // SECTOR                      # ext4, type 0x83
FAT_SECTORS_PER_CLUSTER = 2                           # 1 KiB clusters: runs not 4 KiB aligned on the card
EXT4_BLOCK = 4096
FILL = bytes((i * 37 + 11) & 0xFF for i in range(PAGE))  # free space: not zeros
PREALLOC = b"salvage prealloc"                          # the dump file before the dump

MTOOLS_ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1", LC_ALL="C")


def sh(cmd, what, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120, **kw)
    if r.returncode != 0:
        raise Fail(f"{what}: {' '.join(cmd)} exited {r.returncode}:\n{(r.stdout + r.stderr)[-2000:]}")
    return r.stdout + r.stderr


def dump_file_bytes(m):
    """The dump file's size for the synthetic machine: every page sent raw at worst
    (a 96-byte frame and the page, docs/disk-format.md §6), 64 KiB for the stream's
    header record and end, the header and trailer blocks; rounded up to 1 MiB, as
    salvage load rounds it."""
    pages = sum((rg["size"] + PAGE - 1) // PAGE for rg in m["ranges"])
    need = pages * (PAGE + 96) + 64 * 1024 + 2 * PAGE
    return (need + MIB - 1) // MIB * MIB


def fill_pattern(path, nbytes):
    with open(path, "wb") as f:
        chunk = FILL * 256
        for _ in range(nbytes // len(chunk)):
            f.write(chunk)
        f.write(FILL * ((nbytes % len(chunk)) // PAGE))


def other_files(rnd_seed=5):
    """Files to put on the file systems: (name, bytes, keep?). The deleted ones leave
    holes the dump file falls into."""
    rnd = random.Random(rnd_seed)
    files = [("config.txt", b"arm_64bit=1\nenable_uart=1\n" * 20, True),
             ("cmdline.txt", b"console=serial0,115200 root=/dev/mmcblk0p2 crashkernel=1M\n", True)]
    for i in range(8):
        files.append((f"blob{i}.bin", rnd.randbytes((1 + i % 3) * 1024 * 1024 + 512 * i), i % 2 == 0))
    files.append(("notes.txt", b"some text that must survive the dump\n" * 500, True))
    return files


# ---- vfat ---------------------------------------------------------------------------

def make_vfat(work, path, prealloc):
    fill_pattern(path, P1_SECTORS * SECTOR)
    sh(["mkfs.vfat", "-F", "32", "-s", str(FAT_SECTORS_PER_CLUSTER), "-n", "BOOT", path], "mkfs.vfat")
    for name, data, _ in other_files():
        src = os.path.join(work, "src-" + name)
        open(src, "wb").write(data)
        sh(["mcopy", "-i", path, src, f"::/{name}"], "mcopy", env=MTOOLS_ENV)
    for name, _, keep in other_files():
        if not keep:
            sh(["mdel", "-i", path, f"::/{name}"], "mdel", env=MTOOLS_ENV)
    # mtools allocates from the FSInfo sector's next-free hint (past the last file):
    # point it back at the start so the dump file fills the holes first, in pieces.
    bs = open(path, "rb").read(512)
    fsinfo = struct.unpack_from("<H", bs, 48)[0]
    with open(path, "r+b") as f:
        f.seek(fsinfo * SECTOR + 492)
        f.write(struct.pack("<I", 2))
    sh(["mcopy", "-i", path, prealloc, "::/salvage.dump"], "mcopy salvage.dump", env=MTOOLS_ENV)


def vfat_geometry(path):
    bs = open(path, "rb").read(512)
    bytes_per_sector, spc, reserved, nfats, root_entries, total16, _, fat16 = struct.unpack_from("<HBHBHHBH", bs, 11)
    fat32, = struct.unpack_from("<I", bs, 36)
    if bytes_per_sector != SECTOR:
        raise Fail(f"vfat: {bytes_per_sector}-byte sectors")
    fat_size = fat16 or fat32
    root_dir_sectors = (root_entries * 32 + SECTOR - 1) // SECTOR
    first_data = reserved + nfats * fat_size + root_dir_sectors
    return spc, first_data


def vfat_runs(path, part_start):
    """The dump file's sectors on the card, from its cluster chain."""
    out = sh(["mshowfat", "-i", path, "::/salvage.dump"], "mshowfat", env=MTOOLS_ENV)
    spc, first_data = vfat_geometry(path)
    runs = []
    for mm in re.finditer(r"<(\d+)(?:-(\d+))?>", out):
        a = int(mm.group(1))
        b = int(mm.group(2) or a)
        runs.append((part_start + first_data + (a - 2) * spc, (b - a + 1) * spc))
    return runs


def vfat_copy_out(part, out):
    if os.path.exists(out):
        os.remove(out)
    sh(["mcopy", "-n", "-i", part, "::/salvage.dump", out], "mcopy out", env=MTOOLS_ENV)


# ---- ext4 ---------------------------------------------------------------------------

def debugfs(path, cmd, write=False):
    args = ["debugfs"] + (["-w"] if write else []) + ["-R", cmd, path]
    out = sh(args, f"debugfs {cmd}")
    if re.search(r"^(debugfs: |\S+: )?.*(not found|No such file|Could not allocate|Ext2 .* error)", out, re.M | re.I):
        raise Fail(f"debugfs {cmd}: {out[-1000:]}")
    return out


def make_ext4(work, path, prealloc):
    fill_pattern(path, P2_SECTORS * SECTOR)
    sh(["mke2fs", "-q", "-F", "-t", "ext4", "-b", str(EXT4_BLOCK), "-L", "rootfs", "-E", "nodiscard", path], "mke2fs")
    debugfs(path, "mkdir /var", True)
    debugfs(path, "mkdir /var/crash", True)
    for name, data, _ in other_files():
        src = os.path.join(work, "src-" + name)
        open(src, "wb").write(data)
        debugfs(path, f"write {src} /{name}", True)
    for name, _, keep in other_files():
        if not keep:
            debugfs(path, f"rm /{name}", True)
    debugfs(path, f"write {prealloc} /var/crash/salvage.dump", True)


def ext4_runs(path, part_start):
    """The dump file's sectors on the card, from the leaves of its extent tree."""
    out = debugfs(path, "ex /var/crash/salvage.dump")
    runs, next_logical = [], 0
    for line in out.splitlines():
        mm = re.match(r"\s*(\d+)/\s*(\d+)\s+\d+/\s*\d+\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*(.*)$", line)
        if not mm:
            continue
        level, depth = int(mm.group(1)), int(mm.group(2))
        if level != depth:
            continue  # an index node: its "physical" is the next tree block, not data
        lstart, lend, pstart, pend, length = (int(mm.group(i)) for i in range(3, 8))
        if mm.group(8).strip():
            raise Fail(f"ext4 extent with flags {mm.group(8).strip()!r} (unwritten?): {line}")
        if lstart != next_logical:
            raise Fail(f"the dump file has a hole at block {next_logical}: {line}")
        next_logical = lend + 1
        runs.append((part_start + pstart * EXT4_BLOCK // SECTOR, length * EXT4_BLOCK // SECTOR))
    return runs


def ext4_copy_out(part, out):
    if os.path.exists(out):
        os.remove(out)
    debugfs(part, f"dump /var/crash/salvage.dump {out}")


# ---- the card -----------------------------------------------------------------------

def merge(runs):
    out = []
    for s, c in runs:
        if out and out[-1][0] + out[-1][1] == s:
            out[-1] = (out[-1][0], out[-1][1] + c)
        else:
            out.append((s, c))
    return out


def write_mbr(card, parts):
    mbr = bytearray(512)
    struct.pack_into("<I", mbr, 440, 0x5a1ba6e0)  # disk identifier
    for i, (ptype, lba, n) in enumerate(parts):
        # CHS fields all 0xfe/0xff ("use LBA"), as sfdisk writes them for large disks.
        struct.pack_into("<B3sB3sII", mbr, 446 + 16 * i, 0x80 if i == 0 else 0, b"\xfe\xff\xff", ptype,
                         b"\xfe\xff\xff", lba, n)
    mbr[510:512] = b"\x55\xaa"
    with open(card, "r+b") as f:
        f.write(mbr)


def place(card, src, first_sector):
    with open(card, "r+b") as f, open(src, "rb") as s:
        f.seek(first_sector * SECTOR)
        shutil.copyfileobj(s, f, 4 * MIB)


def read_extents(card, extents, nbytes):
    out = bytearray()
    with open(card, "rb") as f:
        for s, c in extents:
            f.seek(s * SECTOR)
            out += f.read(c * SECTOR)
    return bytes(out[:nbytes])


def cut(card, first_sector, sectors, out):
    with open(card, "rb") as f, open(out, "wb") as o:
        f.seek(first_sector * SECTOR)
        left = sectors * SECTOR
        while left:
            b = f.read(min(left, 4 * MIB))
            o.write(b)
            left -= len(b)


def data_segments(fd, size):
    """[start, end) of the parts of a file that are not holes (SEEK_DATA/SEEK_HOLE; the
    whole file where the host's file system cannot say)."""
    out, pos = [], 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break  # ENXIO: only a hole is left
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, min(end, size)))
            pos = end
    except (OSError, AttributeError):
        return [(0, size)]
    return out


def changed_sectors(card, pristine, size):
    """Sectors of the card that differ from the pristine copy. Where both files have a
    hole both read as zeros, so only the union of their data is read (a 4 GiB card
    image is mostly hole)."""
    changed = []
    chunk = 4 * MIB
    with open(card, "rb") as f, open(pristine, "rb") as g:
        segs = sorted(data_segments(f.fileno(), size) + data_segments(g.fileno(), size))
        union = []
        for s, e in segs:
            s, e = s // chunk * chunk, min(size, (e + chunk - 1) // chunk * chunk)
            if union and s <= union[-1][1]:
                union[-1] = (union[-1][0], max(union[-1][1], e))
            else:
                union.append((s, e))
        for start, end in union:
            f.seek(start)
            g.seek(start)
            for off in range(start, end, chunk):
                a, b = f.read(chunk), g.read(chunk)
                if a == b:
                    continue
                for i in range(0, max(len(a), len(b)), SECTOR):
                    if a[i:i + SECTOR] != b[i:i + SECTOR]:
                        changed.append((off + i) // SECTOR)
    return changed


def inside(sector, extents):
    return any(s <= sector < s + c for s, c in extents)


# ---- the test -----------------------------------------------------------------------

def run(a, work):
    board, fs = a.machine, a.fs
    cfg = MACHINES[board]
    m = synth_machine(a.synth, board, work, 1.0)
    dump_bytes = dump_file_bytes(m)
    prealloc = os.path.join(work, "prealloc.bin")
    with open(prealloc, "wb") as f:
        f.write(PREALLOC * (dump_bytes // len(PREALLOC)))

    card_bytes = cfg["card_mib"] * MIB
    p2_start = cfg["p2_start"]
    if p2_start + P2_SECTORS > card_bytes // SECTOR - 2048 or p2_start < P1_START + P1_SECTORS:
        raise Fail("partition layout does not fit the card")
    p1, p2 = os.path.join(work, "p1.img"), os.path.join(work, "p2.img")
    # The dump file goes on the file system under test; the other one only has files.
    if fs == "vfat":
        make_vfat(work, p1, prealloc)
        make_ext4_plain(work, p2)
    else:
        make_vfat_plain(work, p1)
        make_ext4(work, p2, prealloc)

    card = os.path.join(work, "card.img")
    with open(card, "wb") as f:
        f.truncate(card_bytes)  # sparse: a 4 GiB card costs what is written
        # 1 MiB of pattern in the unpartitioned space before, between and after the
        # partitions (the rest of a large card stays a hole: zeros, compared all the same).
        for first, count in ((1, P1_START - 1), (P1_START + P1_SECTORS, 2048), (p2_start - 2048, 2048),
                             (p2_start + P2_SECTORS, 2048)):
            f.seek(first * SECTOR)
            f.write(FILL[:SECTOR] * count)
    write_mbr(card, [(0x0c, P1_START, P1_SECTORS), (0x83, p2_start, P2_SECTORS)])
    place(card, p1, P1_START)
    place(card, p2, p2_start)

    if fs == "vfat":
        runs = vfat_runs(p1, P1_START)
    else:
        runs = ext4_runs(p2, p2_start)
    extents = merge(runs)
    if sum(c for _, c in extents) * SECTOR != dump_bytes:
        raise Fail(f"the extents hold {sum(c for _, c in extents) * SECTOR} bytes, the file {dump_bytes}")
    if not 2 <= len(extents) <= MAX_EXTENTS:
        raise Fail(f"{len(extents)} extents: the test wants the file in 2..{MAX_EXTENTS} pieces")
    # The arithmetic, checked: the card at the extents is the file as the fs reads it.
    if read_extents(card, extents, dump_bytes) != open(prealloc, "rb").read():
        raise Fail("the card's bytes at the computed extents are not the dump file's")
    target = "extents:" + ",".join(f"{s}+{c}" for s, c in extents)
    pristine = os.path.join(work, "pristine.img")
    subprocess.run(["cp", "--sparse=always", card, pristine], check=True)

    options = f"salvage.sink={cfg['sink']} salvage.target={target}" + (f" {cfg['extra']}" if cfg["extra"] else "")
    image = a.image
    dtb = board_dtb(board, a.dtb, image, m, options, work)
    secs, out = boot_board(board, image, dtb, card, m, os.path.join(work, "serial.txt"))
    want_card = "SDHC/SDXC" if card_bytes > (2 << 30) else "SDSC"
    if not re.search(rf"^salvage: sd: {re.escape(cfg['controller'])} .*: {re.escape(want_card)} card", out, re.M):
        raise Fail(f"the console does not show an {want_card} card on the {cfg['controller']}:\n{out[-3000:]}")
    if not re.search(rf"^salvage: writing .* to extents:\S+: {len(extents)} extents", out, re.M):
        raise Fail(f"salvage did not take the {len(extents)} extents:\n{out[-3000:]}")

    # a. Both file systems are clean.
    cut(card, P1_START, P1_SECTORS, p1)
    cut(card, p2_start, P2_SECTORS, p2)
    sh(["fsck.vfat", "-n", p1], "fsck.vfat -n on partition 1")
    sh(["e2fsck", "-fn", p2], "e2fsck -fn on partition 2")

    # b. Nothing outside the file's extents changed.
    changed = changed_sectors(card, pristine, card_bytes)
    outside = [s for s in changed if not inside(s, extents)]
    if outside:
        raise Fail(f"{len(outside)} sectors outside the dump file's extents were written, first {outside[0]}")
    if extents[0][0] not in changed:
        raise Fail("the dump's header block (the first extent's first sector) was not written")

    # c. The file, copied out through its file system, is the dump.
    copied = os.path.join(work, "salvage.dump")
    if fs == "vfat":
        vfat_copy_out(p1, copied)
    else:
        ext4_copy_out(p2, copied)
    file_bytes = open(copied, "rb").read()
    if len(file_bytes) != dump_bytes or file_bytes != read_extents(card, extents, dump_bytes):
        raise Fail("the file as the file system reads it is not what the card holds at its extents")
    vmcore = os.path.join(work, "vmcore")
    extract(a.salvage, copied, vmcore)
    check_vmcore(vmcore, m)
    first = f"{extents[0][0]}+{extents[0][1]}"
    extract(a.salvage, card, vmcore, ["--extents", first])
    check_vmcore(vmcore, m)

    mib = sum(rg["size"] for rg in m["ranges"]) >> 20
    stream = re.search(r"dump complete: .*?, (\d+) stream bytes", out)
    return (f" ({mib} MiB equal byte for byte; {dump_bytes >> 20} MiB file in {len(extents)} extents, "
            f"{len(changed)} sectors written, none outside; {stream.group(1) if stream else '?'} stream bytes; "
            f"{want_card} card on the {cfg['controller'].split()[0]}; fsck clean; {secs:.1f} s)")


def make_vfat_plain(work, path):
    fill_pattern(path, P1_SECTORS * SECTOR)
    sh(["mkfs.vfat", "-F", "32", "-s", str(FAT_SECTORS_PER_CLUSTER), "-n", "BOOT", path], "mkfs.vfat")
    for name, data, keep in other_files(7):
        if keep:
            src = os.path.join(work, "src-" + name)
            open(src, "wb").write(data)
            sh(["mcopy", "-i", path, src, f"::/{name}"], "mcopy", env=MTOOLS_ENV)


def make_ext4_plain(work, path):
    fill_pattern(path, P2_SECTORS * SECTOR)
    sh(["mke2fs", "-q", "-F", "-t", "ext4", "-b", str(EXT4_BLOCK), "-L", "rootfs", "-E", "nodiscard", path], "mke2fs")
    for name, data, keep in other_files(7):
        if keep:
            src = os.path.join(work, "src-" + name)
            open(src, "wb").write(data)
            debugfs(path, f"write {src} /{name}", True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--machine", required=True, choices=sorted(MACHINES))
    ap.add_argument("--fs", required=True, choices=["vfat", "ext4"])
    ap.add_argument("--image", required=True, help="salvage.img for the machine (aarch64 for raspi3b, arm for raspi2b)")
    ap.add_argument("--salvage", required=True, help="the host salvage command")
    ap.add_argument("--synth", required=True, help="tools/synth-crash.py")
    ap.add_argument("--dtb", required=True, help="Debian's Pi DTB for the machine (build/pi-dtbs, tools/setup.sh)")
    ap.add_argument("--workdir", help="keep the files here")
    a = ap.parse_args()
    name = f"sd-file-{a.fs}"
    missing = [t for t in ("mkfs.vfat", "fsck.vfat", "mke2fs", "e2fsck", "debugfs", "mcopy", "mshowfat", "fdtput")
               if not shutil.which(t)]
    if missing:
        print(f"SALVAGE: FAIL {a.machine} {name}: missing {', '.join(missing)} (tools/setup.sh installs them)")
        return 1
    if not os.path.exists(a.dtb):
        print(f"SALVAGE: FAIL {a.machine} {name}: no {a.dtb} (run tools/setup.sh)")
        return 1
    return verdict(f"{a.machine} {name}", lambda work: run(a, work), a.workdir, prefix=f"salvage-{a.machine}-{name}-")


if __name__ == "__main__":
    sys.exit(main())
