#!/usr/bin/env bash
# Runs every salvage test from nothing: installs what is needed (tools/setup.sh),
# configures and builds everything (host tools, host tests, the three images), then
# runs ctest: host unit tests, image checks and the QEMU boot tests.
#
# Usage: tools/test.sh [ctest arguments...]     e.g. tools/test.sh -R qemu-arm
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default "$@"
