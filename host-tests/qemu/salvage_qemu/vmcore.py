"""A vmcore (an ELF core file) as the tests read it: its PT_LOADs and notes."""
import struct

from . import Fail


def parse_vmcore(path):
    """(bytes, [(phys, virt, offset, filesz) of each PT_LOAD], the PT_NOTE bytes, is ELF64)."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != b"\x7fELF":
        raise Fail(f"{path} is not an ELF file")
    is64 = d[4] == 2
    if is64:
        phoff, = struct.unpack_from("<Q", d, 32)
        phentsize, phnum = struct.unpack_from("<HH", d, 54)
    else:
        phoff, = struct.unpack_from("<I", d, 28)
        phentsize, phnum = struct.unpack_from("<HH", d, 42)
    loads, notes = [], b""
    for i in range(phnum):
        o = phoff + i * phentsize
        if is64:
            t, _, off, va, pa, fs, ms, _ = struct.unpack_from("<IIQQQQQQ", d, o)
        else:
            t, off, va, pa, fs, ms, _, _ = struct.unpack_from("<IIIIIIII", d, o)
        if t == 1:
            loads.append((pa, va, off, fs))
        elif t == 4:
            notes += d[off:off + fs]
    return d, loads, notes, is64


def page_at(d, loads, phys, page=4096):
    """The vmcore's bytes for the page at phys, or None when no PT_LOAD holds it."""
    for pa, va, off, size in loads:
        if pa <= phys and phys + page <= pa + size:
            return d[off + phys - pa: off + phys - pa + page]
    return None
