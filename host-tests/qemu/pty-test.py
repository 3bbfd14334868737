#!/usr/bin/env python3
"""`salvage recv` on a serial device: a pseudo-terminal stands in for the USB serial
cable. QEMU captures a synthetic crashed machine's serial output to a file; the bytes
are then written into the master side of a pty at a steady pace while `salvage recv
/dev/pts/N -b 115200` reads the slave side (set raw, at that baud rate). The vmcore must
equal the machine's memory.

Prints "SALVAGE: PASS|FAIL <arch> recv-pty ..." and exits 0 only on PASS."""
import argparse
import importlib.util
import json
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("capturetest", os.path.join(HERE, "capture-test.py"))
ct = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ct)
Fail = ct.Fail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--salvage", required=True)
    ap.add_argument("--synth", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix=f"salvage-pty-{a.arch}-")
    try:
        detail = run(a, work)
        print(f"SALVAGE: PASS {a.arch} recv-pty{detail}")
        return 0
    except (Fail, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        print(f"SALVAGE: FAIL {a.arch} recv-pty: {e}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(a, work):
    synth = os.path.join(work, "machine")
    subprocess.run([sys.executable, a.synth, "--arch", a.arch, "--out", synth, "--scale", "0.25"],
                   check=True, capture_output=True)
    m = json.load(open(os.path.join(synth, "manifest.json")))
    ram = f"{m['ram_mib']}M"
    dtb = os.path.join(work, "crash.dtb")
    ct.dump_dtb(a.arch, ram, a.image, dtb)
    ct.set_chosen(dtb, m["elfcorehdr"], m["usable_memory_range"])
    log = os.path.join(work, "serial.bin")
    cmd, common = ct.machine_args(a.arch, ram)
    subprocess.run(cmd + common + ["-serial", f"file:{log}", "-kernel", a.image, "-dtb", dtb] +
                   sum((["-device", l] for l in m["loader_args"]), []), check=True, capture_output=True, timeout=120)
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
    d, loads, notes, is64 = ct.parse_vmcore(vmcore)
    for rg in m["ranges"]:
        want = open(rg["file"], "rb").read()
        for off in range(0, rg["size"], 4096):
            if ct.page_at(d, loads, rg["base"] + off) != want[off:off + 4096]:
                raise Fail(f"page 0x{rg['base'] + off:x} differs or is missing")
    return f" ({len(data)} bytes through {slave_path}, vmcore equal byte for byte)"


if __name__ == "__main__":
    sys.exit(main())
