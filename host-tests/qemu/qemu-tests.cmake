# QEMU tests: added below
