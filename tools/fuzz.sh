#!/usr/bin/env bash
# Long fuzzing runs of salvage's parsers of untrusted input (ctest runs each target for
# a few seconds only). Builds first, then runs every target (or those named) one after
# the other for SECONDS each, from its checked-in seeds (host-tests/fuzz-corpus/<name>/)
# and what earlier runs found (build/fuzz/<name>-corpus/), with its dictionary.
# Crashes, leaks, timeouts and out-of-memory inputs are written to build/fuzz/ as
# crash-*, leak-*, timeout-*, oom-*; reproduce one with build/fuzz/<name>-fuzz FILE.
# Each run's log is build/fuzz/<name>.log; a summary line per target (executions,
# coverage as libFuzzer counts it, crashes) ends the output. docs/security.md says what
# the targets reach.
#
# Usage: tools/fuzz.sh [--no-build] [SECONDS [TARGET...]]     (default: 600 s, all)
#   FUZZ_JOBS=N   N processes per target (libFuzzer -jobs/-workers; default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [ "${1:-}" = "--no-build" ]; then
  build=0
  shift
fi
secs=${1:-600}
shift || true
all="elfcore blockdump iomem stream-decoder receiver inspect extract dtb config crashkernel dump-file"
names=${*:-$all}
jobs=${FUZZ_JOBS:-1}
if [ "$build" = 1 ]; then
  tools/setup.sh build
  cmake --preset default >/dev/null
  cmake --build --preset default --target salvage-fuzzers
fi
seeds=$PWD/host-tests/fuzz-corpus
summary=()
for n in $names; do
  bin=build/fuzz/$n-fuzz
  [ -x "$bin" ] || { echo "fuzz: no $bin (build the target salvage-fuzzers)" >&2; exit 1; }
  mkdir -p "build/fuzz/$n-corpus"
  dict=()
  [ -f "$seeds/$n.dict" ] && dict=(-dict="$seeds/$n.dict")
  before=$(ls build/fuzz | grep -cE '^(crash|leak|timeout|oom)-' || true)
  echo "fuzz: $n for $secs s, $jobs job(s) (log build/fuzz/$n.log)"
  args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -close_fd_mask=3 -print_final_stats=1 "${dict[@]}"
        "$n-corpus" "$seeds/$n")
  if [ "$jobs" -gt 1 ]; then
    args=(-jobs="$jobs" -workers="$jobs" "${args[@]}")
  fi
  (cd build/fuzz && "./$n-fuzz" "${args[@]}") >"build/fuzz/$n.log" 2>&1 || true
  after=$(ls build/fuzz | grep -cE '^(crash|leak|timeout|oom)-' || true)
  logs=("build/fuzz/$n.log")
  for l in build/fuzz/fuzz-*.log; do [ -f "$l" ] && logs+=("$l"); done
  execs=$(awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}' "${logs[@]}")
  last=$(grep -E '#[0-9]+.*cov: ' "build/fuzz/$n.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || true)
  summary+=("$(printf '%-15s %12s executions  %s  crashes: %d' "$n" "$execs" "${last:-?}" $((after - before)))")
  rm -f build/fuzz/fuzz-*.log
done
echo "fuzz: summary ($secs s per target)"
printf '  %s\n' "${summary[@]}"
