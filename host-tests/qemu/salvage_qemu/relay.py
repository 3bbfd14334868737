"""TCP relays between QEMU's serial server and `salvage recv`, on 127.0.0.1 only: each
serves one client (recv) and connects to QEMU, and damages the stream in between in its
own way (docs/stream-format.md gives the record layout they look at)."""
import bisect
import random
import socket
import struct
import threading
import time

from . import Fail

CONNECT_WAIT = 20  # seconds to keep trying QEMU's serial server
SYNC = bytes([0xFE, 0x53, 0x4C, 0x56, 0x47, 0xC1, 0xA5, 0x96])  # a record's sync word


class Relay(threading.Thread):
    """Listens on 127.0.0.1:listen_port (bound at once, so recv can be started right
    after), accepts one client, connects to 127.0.0.1:upstream_port (retrying for
    CONNECT_WAIT s while QEMU starts) and hands both sockets to `relay(up, down)`, which
    a subclass gives. An exception ends the relay and is kept in `error` for the test."""

    def __init__(self, upstream_port, listen_port):
        super().__init__(daemon=True)
        self.up, self.listen = upstream_port, listen_port
        self.error = None
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", listen_port))
        self.srv.listen(1)

    def run(self):
        try:
            down, _ = self.srv.accept()
            deadline = time.monotonic() + CONNECT_WAIT
            while True:
                try:
                    up = socket.create_connection(("127.0.0.1", self.up))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            try:
                self.relay(up, down)
            finally:
                down.close()
                up.close()
        except Exception as e:  # reported by the test
            self.error = e

    def relay(self, up, down):
        raise NotImplementedError

    @staticmethod
    def chunks(up):
        """What QEMU sends, as it comes, until it closes the line."""
        while True:
            data = up.recv(65536)
            if not data:
                return
            yield data


class Proxy(Relay):
    """Damages the bytes at fixed stream offsets: `damage` is [(offset, "flip" | "drop"
    | "dup")], a bit flip, a dropped byte, a byte sent twice. `done` lists those applied."""

    def __init__(self, upstream_port, listen_port, damage):
        super().__init__(upstream_port, listen_port)
        self.damage = sorted(damage)
        self.offset = 0
        self.done = []

    def relay(self, up, down):
        for data in self.chunks(up):
            out = bytearray()
            for i, b in enumerate(data):
                pos = self.offset + i
                action = next((d for d in self.damage if d[0] == pos), None)
                if action is None:
                    out.append(b)
                elif action[1] == "flip":
                    out.append(b ^ 0x10)
                    self.done.append(action)
                elif action[1] == "drop":
                    self.done.append(action)  # this byte vanishes
                elif action[1] == "dup":
                    out += bytes([b]) * 2
                    self.done.append(action)
            self.offset += len(data)
            down.sendall(bytes(out))


class HeaderDamager(Relay):
    """Flips one bit in the payload of the stream header copies whose index (0 = the
    first) `damage(index)` says, leaving every other byte alone. Holds back a few bytes so
    that a record split over two reads is still found."""

    HOLD = 128

    def __init__(self, upstream_port, listen_port, damage):
        super().__init__(upstream_port, listen_port)
        self.damage = damage
        self.copies = []   # stream offsets of the header records seen
        self.damaged = []  # of those, the ones damaged

    def process(self, buf, base, final):
        """Damages header copies in buf (absolute offset base); returns how many bytes
        may be forwarded."""
        i = 0
        while True:
            i = buf.find(SYNC, i)
            if i < 0:
                break
            if len(buf) - i < 48 + 64:
                return i if not final else len(buf)
            payload_len, = struct.unpack_from("<I", buf, i + 36)
            if buf[i + 8] == 1 and buf[i + 10] == 12 and 64 <= payload_len <= 1 << 20 and base + i not in self.copies:
                self.copies.append(base + i)
                if self.damage(len(self.copies) - 1):
                    buf[i + 48 + 40] ^= 0x01  # a bit of the payload: the record CRC fails
                    self.damaged.append(base + i)
            i += 1
        return len(buf) if final else max(0, len(buf) - self.HOLD)

    def relay(self, up, down):
        buf, base = bytearray(), 0
        while True:
            data = up.recv(65536)
            buf += data
            n = self.process(buf, base, not data)
            down.sendall(bytes(buf[:n]))
            del buf[:n]
            base += n
            if not data:
                break


def split_records(buf, start):
    """The stream's records in buf from the first sync word at or after start, up to and
    including the trailer: (offset, size, type, phys, count), as docs/stream-format.md §3
    lays them out."""
    out = []
    i = buf.find(SYNC, start)
    while 0 <= i and i + 48 <= len(buf) and buf[i:i + 8] == SYNC:
        rtype = buf[i + 8]
        phys, count, payload_len = struct.unpack_from("<QII", buf, i + 24)
        out.append((i, 48 + payload_len, rtype, phys, count))
        if rtype == 3:
            break
        i += 48 + payload_len
    return out


class LineDamager(Relay):
    """A line that damages 1 byte in RATE, at random, between the stream's first byte and
    the end of its trailer: it flips a bit, drops the byte or sends it twice. It first
    reads everything QEMU sends (recv waits for a stream indefinitely), then picks the
    first seed from 1 on under which a header copy and the trailer come through intact
    (without a header a decoder cannot know which pages a frame it lost would have held,
    docs/stream-format.md §8.5), damages the bytes and sends them to recv. `damaged_pages`
    are the pages of every frame record the damage touched: what recv must report lost."""

    RATE = 1e-3

    def __init__(self, upstream_port, listen_port):
        super().__init__(upstream_port, listen_port)
        self.seed = None
        self.damages = 0
        self.frames_hit = 0
        self.damaged_pages = set()

    def plan(self, records, seed):
        """Damage positions under `seed`: [(offset, action)], geometric gaps at RATE."""
        rnd = random.Random(seed)
        first, end = records[0][0], records[-1][0] + records[-1][1]
        out, pos = [], first
        while True:
            pos += 1 + int(rnd.expovariate(self.RATE))
            if pos >= end:
                return out
            out.append((pos, rnd.choice(("flip", "drop", "dup")), 1 << rnd.randrange(8)))

    @staticmethod
    def hit_record(records, starts, pos, action):
        """The index of the record damage at `pos` breaks, or None. A byte sent twice at a
        record's first or last byte leaves the record whole (one extra byte before its
        sync word or after its end, which a decoder takes as line noise)."""
        k = bisect.bisect_right(starts, pos) - 1
        offset, size = records[k][0], records[k][1]
        if action == "dup" and pos in (offset, offset + size - 1):
            return None
        return k

    def relay(self, up, down):
        clean = bytearray()
        for data in self.chunks(up):
            clean += data
        up.close()
        records = split_records(clean, 0)
        if not records or records[-1][2] != 3:
            raise Fail(f"no complete stream from QEMU ({len(records)} records, {len(clean)} bytes)")
        starts = [r[0] for r in records]
        for seed in range(1, 1000):
            damage = self.plan(records, seed)
            hit = {k for k in (self.hit_record(records, starts, pos, action) for pos, action, _ in damage)
                   if k is not None}
            if len(records) - 1 not in hit and any(r[2] == 1 and k not in hit for k, r in enumerate(records)):
                break
        else:
            raise Fail("no seed below 1000 leaves a header copy and the trailer intact")
        self.seed, self.damages = seed, len(damage)
        for k in hit:
            _, _, rtype, phys, count = records[k]
            if rtype == 2:
                self.frames_hit += 1
                self.damaged_pages.update(phys + p * 4096 for p in range(count))
        out, prev = bytearray(), 0
        for pos, action, bit in damage:
            out += clean[prev:pos]
            if action == "flip":
                out.append(clean[pos] ^ bit)
            elif action == "dup":
                out += clean[pos:pos + 1] * 2
            prev = pos + 1
        out += clean[prev:]
        down.sendall(bytes(out))
