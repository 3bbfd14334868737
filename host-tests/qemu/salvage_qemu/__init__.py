"""The QEMU test harness: what host-tests/qemu/*-test.py and bench/*.py share.

  salvage_qemu          Fail, the verdict line (`verdict`), small file helpers
  salvage_qemu.qemu     QEMU's command line per architecture and board, -serial order,
                        free 127.0.0.1 ports, a QEMU process that always ends (`Qemu`),
                        the DTB QEMU hands a guest (`dump_dtb`)
  salvage_qemu.dtb      reading and editing DTBs with fdtget/fdtput: cells, /memory,
                        stdout-path, bus address translation, /chosen for a crash
  salvage_qemu.relay    TCP relays between QEMU's serial server and `salvage recv`, all on
                        127.0.0.1: the damaged line, the damaged header copies
  salvage_qemu.vmcore   a vmcore's PT_LOADs and notes, the page at a physical address
  salvage_qemu.synth    the synthetic crashed machine (tools/synth-crash.py) and checks
                        of a vmcore or an extracted card against it; a Pi board's run
  salvage_qemu.linux    a real Debian arm64 kernel as the crashing guest (the crash kit):
                        its initramfs, its QEMU command, and the checks of its vmcore

How to import it: a test in host-tests/qemu/ just says `import salvage_qemu` (Python puts
a script's own directory first on sys.path). bench/common.py puts host-tests/qemu on
sys.path, so a bench imports `common` first and then `salvage_qemu`. Nothing needs
PYTHONPATH, and ctest runs the scripts as they are.

Every socket here binds or connects to 127.0.0.1 only; every QEMU run has a timeout after
which it is killed.
"""
import os
import re
import shutil
import subprocess
import tempfile

__all__ = ["Fail", "verdict", "read", "save", "find"]


class Fail(Exception):
    """A test's verdict is FAIL; the message says why."""


# What a test reports as FAIL rather than a traceback, unless it says otherwise.
TEST_ERRORS = (Fail, subprocess.CalledProcessError, subprocess.TimeoutExpired)


def verdict(name, body, workdir=None, prefix="salvage-", errors=TEST_ERRORS, why=str, keep_on_fail=False):
    """Runs body(work) in `workdir` (kept) or in a new temporary directory (removed
    afterwards), prints "SALVAGE: PASS <name><detail>" with the detail body returns, or
    "SALVAGE: FAIL <name>: <why(e)>" for an exception in `errors`, and returns the exit
    code (0 only on PASS). keep_on_fail: a failed run's temporary directory stays, and
    the line after the verdict says where."""
    work = workdir or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(work, exist_ok=True)
    keep = bool(workdir)
    try:
        detail = body(work)
        print(f"SALVAGE: PASS {name}{detail}")
        return 0
    except errors as e:
        print(f"SALVAGE: FAIL {name}: {why(e)}")
        if keep_on_fail:
            print(f"(files kept in {work})")
            keep = True
        return 1
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def read(path):
    """A text file (a serial console) as text, "" when it does not exist (yet)."""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def save(work, name, text):
    with open(os.path.join(work, name), "w") as f:
        f.write(text)


def find(pattern, text, what):
    """The first match of `pattern` (multiline) in `text`; Fail naming `what` without one."""
    m = re.search(pattern, text, re.M)
    if not m:
        raise Fail(f"the output has no {what} (pattern {pattern!r}); output:\n{text}")
    return m
