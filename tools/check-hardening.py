#!/usr/bin/env python3
"""Checks that a host build of the salvage command has the usual hardening (the top
CMakeLists.txt sets it for the host build): a position-independent executable, full
RELRO (a GNU_RELRO segment and BIND_NOW), the stack protector (__stack_chk_fail) and
fortified libc calls (__*_chk). Prints one line per property; exits 1 when one is missing.

Usage: tools/check-hardening.py BINARY
"""
import re
import subprocess
import sys


def main():
    binary = sys.argv[1]
    header = subprocess.run(["readelf", "-hlWd", binary], check=True, capture_output=True, text=True).stdout
    symbols = subprocess.run(["readelf", "--dyn-syms", "-W", binary], check=True, capture_output=True, text=True).stdout
    checks = {
        "PIE (ELF type DYN with the PIE flag)": re.search(r"Type:\s+DYN", header) is not None
        and re.search(r"FLAGS_1\).*\bPIE\b", header) is not None,
        "RELRO (a GNU_RELRO segment)": "GNU_RELRO" in header,
        "full RELRO (BIND_NOW)": re.search(r"\(FLAGS\).*BIND_NOW|FLAGS_1\).*\bNOW\b", header) is not None,
        "stack protector (__stack_chk_fail)": "__stack_chk_fail" in symbols,
        "FORTIFY_SOURCE (__*_chk calls)": re.search(r"\b__\w+_chk\b", symbols.replace("__stack_chk_fail", "")) is not None,
    }
    ok = True
    for what, good in checks.items():
        print(f"{'ok  ' if good else 'MISSING'} {what}")
        ok = ok and good
    print("SALVAGE: PASS hardening" if ok else "SALVAGE: FAIL hardening")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
