#!/usr/bin/env bash
# Long fuzzing runs of salvage's parsers of untrusted input (ctest only runs each for
# 20 s). Builds first. Crashes are written to build/fuzz/ as crash-*.
#
# Usage: tools/fuzz.sh [elfcore|stream-decoder] [seconds]    (default: both, 600 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
names=${1:-"elfcore stream-decoder"}
secs=${2:-600}
tools/setup.sh build
cmake --preset default >/dev/null
cmake --build --preset default --target salvage-fuzzers
jobs=$(nproc)
for n in $names; do
  echo "fuzz: $n for $secs s on $jobs jobs (corpus build/fuzz/$n-corpus)"
  (cd build/fuzz && "./$n-fuzz" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" -rss_limit_mb=2048 "$n-corpus")
done
