#!/usr/bin/env python3
"""Hostile inputs for the salvage command (issue #10): crafted streams, a crafted disk
and crafted ELF files given to `salvage convert`, `extract` and `inspect`, and
`recv --save-stream` pointed at a symbolic link or an existing file.

Each case checks that the command ends with a clean exit code (never a signal), that
its memory stays bounded by what the input holds (never by what a header claims), that
no vmcore or .partial file is left behind when it fails, and that a vmcore holds only
what arrived. The streams are written here from docs/stream-format.md alone (CRC-32C
in Python), independent of the code under test.

Prints one "SALVAGE: PASS hostile-inputs" or "SALVAGE: FAIL hostile-inputs ..." line.
"""
import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile

SYNC = bytes([0xFE, 0x53, 0x4C, 0x56, 0x47, 0xC1, 0xA5, 0x96])
EM_AARCH64, EM_X86_64, EM_RISCV = 183, 62, 243
MAX_RSS_KIB = 200 * 1024  # far above what these inputs need, far below what they claim
# The address space each run may have: a salvage that sizes memory by what a header
# claims fails here at once (bad_alloc) instead of taking the machine's memory. Not
# under AddressSanitizer, which reserves terabytes of shadow.
ADDRESS_SPACE_LIMIT = 2 << 30


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc_table()


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _T[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def record(rtype, enc, tag, seq, phys, count, payload, shift=12):
    fields = struct.pack("<BBBBIQQII", rtype, enc, shift, 0, tag, seq, phys, count, len(payload))
    hcrc = crc32c(fields)
    return SYNC + fields + struct.pack("<II", hcrc, crc32c(payload, hcrc)) + payload


def header(machine, ranges, stream_id=0x5A5A0001, segments=(), options=b"salvage.sink=uart", total=None):
    if total is None:
        total = sum(size >> 12 for _, size in ranges)
    fixed = struct.pack("<HHHBBB3xIIIIIQQQQ", 1, 64, machine, 2, 1, 12, 1, len(ranges), len(segments), 0,
                        len(options), stream_id, total & (2**64 - 1), 0, 0)
    body = b"".join(struct.pack("<QQ", b, s) for b, s in ranges)
    body += b"".join(struct.pack("<QQQ", p, v, s) for p, v, s in segments)
    return record(1, 0, stream_id & 0xFFFFFFFF, 0, 0, 0, fixed + body + options)


def trailer(stream_id, frames, stopped_early=False):
    payload = struct.pack("<HHIQQQQQQQQQQ", 88, 0, 1 if stopped_early else 0, frames, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return record(3, 0, stream_id & 0xFFFFFFFF, frames, 0, 0, payload)


def frame_zero(stream_id, seq, phys, count):
    return record(2, 0, stream_id & 0xFFFFFFFF, seq, phys, count, b"")


def frame_raw(stream_id, seq, phys, fill):
    return record(2, 1, stream_id & 0xFFFFFFFF, seq, phys, 1, bytes([fill]) * 4096)


def disk_with(stream, dump_id, area=1 << 20):
    """A dump area (docs/disk-format.md) holding `stream`, marked complete."""
    usable = area // 4096 * 4096
    h = b"SLVGDUMP" + struct.pack("<HHIQQQQQII", 1, 12, 1, dump_id, area, 4096, usable - 8192, usable - 4096, 512, 1)
    h += struct.pack("<QQ", 0, area // 512)
    h = h.ljust(4092, b"\0")
    h += struct.pack("<I", crc32c(h))
    t = b"SLVGDEND" + struct.pack("<HHIQQQ", 1, 12, 1, dump_id, len(stream), area)
    t = t.ljust(4092, b"\0")
    t += struct.pack("<I", crc32c(t))
    d = bytearray(area)
    d[0:4096] = h
    d[4096:4096 + len(stream)] = stream
    d[usable - 4096:usable] = t
    return bytes(d)


def elf64_core(phdrs, phoff=64, phnum=None, notes=b""):
    """An ELF64 core file: header, then `phdrs` (tuples type, offset, vaddr, paddr, filesz)."""
    if phnum is None:
        phnum = len(phdrs)
    eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIQQQIHHHHHH", 4, EM_AARCH64, 1, 0, phoff & (2**64 - 1), 0, 0, 64, 56, phnum, 0, 0, 0)
    body = b"".join(struct.pack("<IIQQQQQQ", t, 7, off & (2**64 - 1), v, p, fs & (2**64 - 1), fs & (2**64 - 1), 0)
                    for t, off, v, p, fs in phdrs)
    return eh + body + notes


class Fail(Exception):
    pass


_ASAN = {}


def run(salvage, args, cwd):
    """Runs salvage; returns (exit code or -signal, stdout+stderr, max RSS in KiB)."""
    if salvage not in _ASAN:
        _ASAN[salvage] = b"__asan_init" in open(salvage, "rb").read()

    def limit():
        if not _ASAN[salvage]:
            resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    p = subprocess.Popen([salvage] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         preexec_fn=limit)
    out = p.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out, usage.ru_maxrss


def check_clean(rc, out, rss, what, want_rc):
    if rc < 0:
        raise Fail(f"{what}: killed by signal {-rc}:\n{out[-1500:]}")
    if rc != want_rc:
        raise Fail(f"{what}: exit {rc}, expected {want_rc}:\n{out[-1500:]}")
    if rss > MAX_RSS_KIB:
        raise Fail(f"{what}: resident memory grew to {rss >> 10} MiB:\n{out[-800:]}")


def only(d, names, what):
    left = sorted(os.listdir(d))
    if left != sorted(names):
        raise Fail(f"{what}: the directory holds {left}, expected only {sorted(names)}")


def case(salvage, name, fn):
    with tempfile.TemporaryDirectory(prefix=f"salvage-hostile-{name}-") as d:
        fn(salvage, d)
    print(f"  ok {name}", flush=True)


def huge_range(salvage, d):
    # One range of 2^60 bytes on arm64 (52-bit physical addresses at most): 277 bytes.
    sid = 0x5A5A0001
    s = header(EM_AARCH64, [(0, 1 << 60)], sid, options=b"salvage.x=1") + trailer(sid, 0)
    open(os.path.join(d, "in.stream"), "wb").write(s)
    rc, out, rss = run(salvage, ["convert", "-o", "vmcore", "in.stream"], d)
    check_clean(rc, out, rss, f"convert of a {len(s)}-byte stream claiming 2^60 bytes", 1)
    if "physical address space" not in out or "refused" not in out:
        raise Fail(f"the message does not say why the header was refused:\n{out}")
    only(d, ["in.stream"], "convert of a refused header")
    rc, out, rss = run(salvage, ["inspect", "in.stream"], d)
    check_clean(rc, out, rss, "inspect of the same stream", 1)


def many_ranges(salvage, d):
    # 8000 ranges of 2^44 bytes: more ranges than any machine has.
    sid = 0x5A5A0002
    s = header(EM_X86_64, [(i << 45, 1 << 44) for i in range(8000)], sid) + trailer(sid, 0)
    open(os.path.join(d, "in.stream"), "wb").write(s)
    rc, out, rss = run(salvage, ["convert", "-o", "vmcore", "in.stream"], d)
    check_clean(rc, out, rss, "convert of 8000 ranges of 2^44 bytes", 1)
    only(d, ["in.stream"], "convert of 8000 ranges")


def big_plausible(salvage, d):
    # 120 ranges of 16 TiB each on RISC-V (56-bit): a header that passes every check;
    # what arrives is one raw page and one zero frame, then the input ends.
    sid = 0x5A5A0003
    ranges = [(i << 45, 1 << 44) for i in range(120)]
    s = header(EM_RISCV, ranges, sid)
    s += frame_raw(sid, 0, (3 << 45) + 0x5000, 0xAB)
    s += frame_zero(sid, 1, 5 << 45, 65536)
    open(os.path.join(d, "in.stream"), "wb").write(s)
    rc, out, rss = run(salvage, ["convert", "-o", "vmcore", "in.stream"], d)
    check_clean(rc, out, rss, "convert of 120 ranges of 16 TiB with two frames", 3)
    st = os.stat(os.path.join(d, "vmcore"))
    if st.st_size > (300 << 20) or st.st_blocks * 512 > (8 << 20):
        raise Fail(f"the vmcore is {st.st_size} bytes ({st.st_blocks * 512} on disk) for one page and one zero run")
    only(d, ["in.stream", "vmcore"], "convert of 120 ranges")


def terabyte_range(salvage, d):
    # A 1 TiB range of which nothing arrives: the vmcore holds no pages at all.
    sid = 0x5A5A0004
    s = header(EM_AARCH64, [(1 << 40, 1 << 40)], sid) + trailer(sid, 0, stopped_early=True)
    open(os.path.join(d, "in.stream"), "wb").write(s)
    rc, out, rss = run(salvage, ["convert", "-o", "vmcore", "in.stream"], d)
    check_clean(rc, out, rss, "convert of a 1 TiB range with no frames", 3)
    size = os.stat(os.path.join(d, "vmcore")).st_size
    if size > (4 << 20):
        raise Fail(f"a vmcore of {size} bytes for a stream that sent no page")


def extract_hostile(salvage, d):
    sid = 0x5A5A0005
    s = header(EM_AARCH64, [(0, 1 << 60)], sid) + trailer(sid, 0)
    open(os.path.join(d, "disk.img"), "wb").write(disk_with(s, sid))
    rc, out, rss = run(salvage, ["extract", "disk.img", "-o", "vmcore"], d)
    check_clean(rc, out, rss, "extract of a disk holding a stream claiming 2^60 bytes", 1)
    only(d, ["disk.img"], "extract of a refused header")


def inspect_overflows(salvage, d):
    # e_phoff + e_phnum * 56 wraps past 2^64.
    open(os.path.join(d, "a.core"), "wb").write(elf64_core([], phoff=2**64 - 8, phnum=2))
    rc, out, rss = run(salvage, ["inspect", "a.core"], d)
    check_clean(rc, out, rss, "inspect with e_phoff near 2^64", 1)
    # p_offset + p_filesz wraps past 2^64, for a PT_NOTE and a PT_LOAD.
    f = elf64_core([(4, 2**64 - 16, 0, 0, 64), (1, 2**64 - 4096, 0, 0x40000000, 8192)])
    open(os.path.join(d, "b.core"), "wb").write(f)
    rc, out, rss = run(salvage, ["inspect", "b.core"], d)
    if rc < 0:
        raise Fail(f"inspect with p_offset + p_filesz wrapping: killed by signal {-rc}")
    if "past the end" not in out:
        raise Fail(f"inspect does not say the program headers point past the end:\n{out}")


def inspect_foreign(salvage, d):
    # A vmcore with a note but no SALVAGE note (as /proc/vmcore or makedumpfile write).
    note = struct.pack("<III", 5, 4, 1) + b"CORE\0\0\0\0" + b"abcd"
    f = elf64_core([(4, 64 + 2 * 56, 0, 0, len(note)), (1, 4096, 0, 0x40000000, 4096)], notes=note)
    f = f.ljust(8192, b"\0")
    open(os.path.join(d, "vmcore"), "wb").write(f)
    rc, out, rss = run(salvage, ["inspect", "vmcore"], d)
    check_clean(rc, out, rss, "inspect of a vmcore not written by salvage", 4)
    if "not written by salvage, completeness unknown" not in out or "complete and intact" in out:
        raise Fail(f"inspect does not say it cannot tell:\n{out}")


def save_stream_files(salvage, d):
    sid = 0x5A5A0006
    s = header(EM_AARCH64, [(0x40000000, 0x1000)], sid) + frame_raw(sid, 0, 0x40000000, 1) + trailer(sid, 1)
    open(os.path.join(d, "in.stream"), "wb").write(s)
    victim = os.path.join(d, "victim")
    open(victim, "wb").write(b"precious")
    os.symlink("victim", os.path.join(d, "link.stream"))
    rc, out, _ = run(salvage, ["recv", "--save-stream", "link.stream", "-o", "vm1", "in.stream"], d)
    if rc != 1 or "symbolic link" not in out:
        raise Fail(f"recv --save-stream through a symbolic link: exit {rc}:\n{out}")
    if open(victim, "rb").read() != b"precious" or os.path.exists(os.path.join(d, "vm1")):
        raise Fail("recv --save-stream wrote through a symbolic link")
    rc, out, _ = run(salvage, ["recv", "--save-stream", "victim", "-o", "vm2", "in.stream"], d)
    if rc != 1 or "--force" not in out or open(victim, "rb").read() != b"precious":
        raise Fail(f"recv --save-stream replaced an existing file without --force: exit {rc}:\n{out}")
    rc, out, _ = run(salvage, ["recv", "--save-stream", "new.stream", "-o", "vm3", "in.stream"], d)
    st = os.stat(os.path.join(d, "new.stream"))
    if st.st_mode & 0o777 != 0o600 or open(os.path.join(d, "new.stream"), "rb").read() != s:
        raise Fail(f"recv --save-stream: mode {oct(st.st_mode & 0o777)} or contents differ (exit {rc}):\n{out}")


def many_holes(salvage, d):
    # 70000 received pages between 70000 holes (a long flaky line): every page is kept,
    # with ELF extended numbering; readelf and gdb read the vmcore when installed.
    sid, n, view = 0x5A5A0007, 70000, 0xFFFF000000000000
    s = bytearray(header(EM_AARCH64, [(0x40000000, 2 * n * 4096)], sid, segments=[(0x40000000, view, 2 * n * 4096)]))
    for i in range(n):
        phys = 0x40000000 + 2 * i * 4096
        s += frame_raw(sid, 2 * i, phys, 0xA5) if i % 7000 == 0 else frame_zero(sid, 2 * i, phys, 1)
    open(os.path.join(d, "in.stream"), "wb").write(s)
    rc, out, rss = run(salvage, ["convert", "-o", "vmcore", "in.stream"], d)
    check_clean(rc, out, rss, "convert of a stream with 70000 holes", 3)
    if "PN_XNUM" not in out:
        raise Fail(f"convert does not say the program headers use extended numbering:\n{out[-1500:]}")
    if shutil.which("readelf"):
        r = subprocess.run(["readelf", "-h", "vmcore"], cwd=d, capture_output=True, text=True)
        if "65535 (70001)" not in r.stdout:
            raise Fail(f"readelf does not see 70001 program headers:\n{r.stdout}{r.stderr}")
    if shutil.which("gdb"):
        r = subprocess.run(["gdb", "-batch", "-ex", "core-file vmcore", "-ex", f"x/2bx {view + 7000 * 2 * 4096:#x}"],
                           cwd=d, capture_output=True, text=True)
        if "0xa5\t0xa5" not in r.stdout:
            raise Fail(f"gdb does not read a page of the vmcore:\n{r.stdout}{r.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--salvage", required=True)
    a = ap.parse_args()
    try:
        for name, fn in [("huge-range", huge_range), ("many-ranges", many_ranges), ("big-plausible", big_plausible),
                         ("terabyte-range", terabyte_range), ("extract", extract_hostile),
                         ("inspect-overflows", inspect_overflows), ("inspect-foreign", inspect_foreign),
                         ("save-stream-files", save_stream_files), ("many-holes", many_holes)]:
            case(a.salvage, name, fn)
    except Fail as e:
        print(f"SALVAGE: FAIL hostile-inputs {e}")
        return 1
    print("SALVAGE: PASS hostile-inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
