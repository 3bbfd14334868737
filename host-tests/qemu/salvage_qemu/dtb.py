"""Reading and editing DTBs with dtc's fdtget and fdtput."""
import struct
import subprocess

from . import Fail


def run(cmd, **kw):
    """A command that must succeed (fdtput, dtc): CalledProcessError otherwise."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def fdtget(dtb, node, prop, kind="x"):
    r = subprocess.run(["fdtget", "-t", kind, dtb, node, prop], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return r.stdout.strip()


def cells(dtb, node, prop):
    v = fdtget(dtb, node, prop)
    return [] if v is None else [int(x, 16) for x in v.split()]


def pairs(values, ac, sc):
    out, step = [], ac + sc
    for i in range(0, len(values) - step + 1, step):
        a = 0
        for c in values[i:i + ac]:
            a = (a << 32) | c
        s = 0
        for c in values[i + ac:i + step]:
            s = (s << 32) | c
        out.append((a, s))
    return out


def split_cells(value, n):
    return [(value >> (32 * (n - 1 - i))) & 0xFFFFFFFF for i in range(n)]


def hex_cells(value, n):
    """`value` as n cells in fdtput's hex words."""
    return [hex(c) for c in split_cells(value, n)]


def root_cells(dtb):
    ac = cells(dtb, "/", "#address-cells") or [2]
    sc = cells(dtb, "/", "#size-cells") or [1]
    return ac[0], sc[0]


def root_children(dtb):
    """Names of the root node's children, read from the structure block directly
    (fdtget -l stops at some QEMU DTBs with "Unknown tag")."""
    with open(dtb, "rb") as f:
        data = f.read()
    off_struct = struct.unpack_from(">I", data, 8)[0]
    pos, depth, names = off_struct, 0, []
    while pos < len(data):
        tag = struct.unpack_from(">I", data, pos)[0]
        pos += 4
        if tag == 1:  # FDT_BEGIN_NODE
            end = data.index(b"\0", pos)
            if depth == 1:
                names.append(data[pos:end].decode())
            depth += 1
            pos = (end + 1 + 3) & ~3
        elif tag == 2:  # FDT_END_NODE
            depth -= 1
        elif tag == 3:  # FDT_PROP
            length = struct.unpack_from(">I", data, pos)[0]
            pos = (pos + 8 + length + 3) & ~3
        elif tag == 4:  # FDT_NOP
            pass
        elif tag == 9:  # FDT_END
            break
        else:
            raise Fail(f"{dtb}: unknown structure tag {tag}")
    return names


def memory_ranges(dtb):
    ac, sc = root_cells(dtb)
    out = []
    for n in root_children(dtb):
        if fdtget(dtb, "/" + n, "device_type", "s") == "memory":
            out += pairs(cells(dtb, "/" + n, "reg"), ac, sc)
    return out


def stdout_node(dtb):
    path = fdtget(dtb, "/chosen", "stdout-path", "s")
    if path is None:
        raise Fail("the DTB has no /chosen/stdout-path")
    path = path.split(":")[0]
    if not path.startswith("/"):
        path = fdtget(dtb, "/aliases", path, "s")
    return path


def node_reg_base(dtb, node):
    """The CPU address of `node`'s first reg entry: translated through the `ranges` of
    every bus above it (virt's buses have empty ranges; the Pi's /soc maps the VideoCore
    bus 0x7e000000 to 0x3f000000 or 0x20000000)."""
    parent = node.rsplit("/", 1)[0] or "/"
    ac = (cells(dtb, parent, "#address-cells") or [2])[0]
    sc = (cells(dtb, parent, "#size-cells") or [1])[0]
    addr = pairs(cells(dtb, node, "reg"), ac, sc)[0][0]
    while parent != "/":
        grand = parent.rsplit("/", 1)[0] or "/"
        if fdtget(dtb, parent, "ranges") is None:
            raise Fail(f"{parent} has no ranges: {node} has no CPU address")
        rng = cells(dtb, parent, "ranges")
        pac = (cells(dtb, grand, "#address-cells") or [2])[0]
        step = ac + pac + sc
        for i in range(0, len(rng) - step + 1, step):
            child = pairs(rng[i:i + ac] + [0] * sc, ac, sc)[0][0]
            cpu = pairs(rng[i + ac:i + ac + pac] + [0] * sc, pac, sc)[0][0]
            size = pairs([0] * ac + rng[i + ac + pac:i + step], ac, sc)[0][1]
            if child <= addr < child + size:
                addr = cpu + addr - child
                break
        else:
            if rng:
                raise Fail(f"0x{addr:x} of {node} is in no ranges entry of {parent}")
        parent, ac, sc = grand, pac, (cells(dtb, grand, "#size-cells") or [1])[0]
    return addr


def dtb_totalsize(path):
    with open(path, "rb") as f:
        magic, size = struct.unpack(">II", f.read(8))
    if magic != 0xD00DFEED:
        raise Fail(f"{path} is not a DTB")
    return size


def set_chosen(dtb, elfcorehdr, usable):
    """linux,elfcorehdr and linux,usable-memory-range in the root's cell sizes."""
    ac, sc = root_cells(dtb)
    if elfcorehdr is not None:
        run(["fdtput", "-t", "x", dtb, "/chosen", "linux,elfcorehdr"] + hex_cells(elfcorehdr[0], ac) +
            hex_cells(elfcorehdr[1], sc))
    vals = []
    for b, s in usable:
        vals += hex_cells(b, ac) + hex_cells(s, sc)
    run(["fdtput", "-t", "x", dtb, "/chosen", "linux,usable-memory-range"] + vals)


UART_COMPAT = {"pl011": "arm,pl011", "mini-uart": "brcm,bcm2835-aux-uart"}


def point_stdout_at(dtb, uart):
    """Sets /chosen/stdout-path to the serialN alias of the `uart` kind; returns the alias."""
    for alias in ("serial0", "serial1"):
        node = fdtget(dtb, "/aliases", alias, "s")
        if node and UART_COMPAT[uart] in (fdtget(dtb, node, "compatible", "s") or "").split():
            run(["fdtput", "-t", "s", dtb, "/chosen", "stdout-path", f"{alias}:115200n8"])
            return alias
    raise Fail(f"no serial0/serial1 alias names a {UART_COMPAT[uart]} node")
