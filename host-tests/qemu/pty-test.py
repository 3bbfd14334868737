#!/usr/bin/env python3
"""`salvage recv` on a serial device: a pseudo-terminal stands in for the USB serial
cable. QEMU captures a synthetic crashed machine's serial output to a file; the bytes
are then written into the master side of a pty at a steady pace while `salvage recv
/dev/pts/N -b 115200` reads the slave side (set raw, at that baud rate). The vmcore must
equal the machine's memory.

Prints "SALVAGE: PASS|FAIL <arch> recv-pty ..." and exits 0 only on PASS."""
import argparse
import os
import pty
import subprocess
import sys
import threading
import time
import tty

from salvage_qemu import Fail, verdict
from salvage_qemu.dtb import set_chosen
from salvage_qemu.qemu import dump_dtb, machine_cmd
from salvage_qemu.synth import compare_memory, loader_devices, synth_machine


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--salvage", required=True)
    ap.add_argument("--synth", required=True)
    a = ap.parse_args()
    return verdict(f"{a.arch} recv-pty", lambda work: run(a, work), prefix=f"salvage-pty-{a.arch}-")


def run(a, work):
    m = synth_machine(a.synth, a.arch, work, "0.25")
    ram = f"{m['ram_mib']}M"
    dtb = os.path.join(work, "crash.dtb")
    dump_dtb(a.arch, dtb, ["-kernel", a.image], ram=ram)
    set_chosen(dtb, m["elfcorehdr"], m["usable_memory_range"])
    log = os.path.join(work, "serial.bin")
    subprocess.run(machine_cmd(a.arch, ram=ram) + ["-serial", f"file:{log}", "-kernel", a.image, "-dtb", dtb] +
                   loader_devices(m), check=True, capture_output=True, timeout=120)
    data = open(log, "rb").read()

    master, slave = pty.openpty()
    tty.setraw(master)
    slave_path = os.ttyname(slave)
    vmcore = os.path.join(work, "vmcore")
    recv = subprocess.Popen([a.salvage, "recv", slave_path, "-b", "115200", "-o", vmcore, "--timeout", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")

    def feed():
        time.sleep(0.5)  # let recv open and configure the line first
        for i in range(0, len(data), 4096):
            os.write(master, data[i:i + 4096])
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    out, err = recv.communicate(timeout=120)
    t.join(timeout=5)
    os.close(master)
    os.close(slave)
    if recv.returncode != 0:
        raise Fail(f"recv exited {recv.returncode}:\n{err[-2000:]}")
    if f"serial {slave_path} at 115200 baud" not in err:
        raise Fail(f"recv did not treat {slave_path} as a serial line at 115200 baud:\n{err[:500]}")
    missing, wrong = compare_memory(m, vmcore)[4:]
    if missing or wrong:
        raise Fail(f"page 0x{min(missing + wrong):x} differs or is missing")
    return f" ({len(data)} bytes through {slave_path}, vmcore equal byte for byte)"


if __name__ == "__main__":
    sys.exit(main())
