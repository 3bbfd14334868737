#!/usr/bin/env bash
# Runs commands in a fresh Debian bookworm root, as a newcomer on a new machine would:
# debootstrap minbase plus git, a clone of this repository, each command in a chroot with a
# clean environment, as root. A README command that relies on something installed by hand
# fails here. Needs root, a Debian host and its package archive.
#
# Usage: .ci/fresh-root.sh [--timeout MINUTES] CMD [CMD ...]
#   e.g. .ci/fresh-root.sh tools/test.sh
# Environment: SALVAGE_FRESH_CACHE  where the pristine root's tarball is kept between runs
#                                   (default /var/cache/salvage-fresh; made once, ~40 s)
#              SALVAGE_FRESH_KEEP=1 keep the root folder after the run (for a look inside)
# Exit: 0 when every command passed, 1 when one failed or timed out, 2 on a setup error.
set -euo pipefail

say() { printf 'fresh-root: %s\n' "$*" >&2; }
die() { printf 'fresh-root: error: %s\n' "$*" >&2; exit 2; }

timeout_min=80
if [ "${1:-}" = --timeout ]; then timeout_min=$2; shift 2; fi
[ $# -gt 0 ] || die "no command given; usage: .ci/fresh-root.sh [--timeout MINUTES] CMD [CMD ...]"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"

repo=$(cd "$(dirname "$0")/.." && pwd)
name=$(basename "$repo")
cache=${SALVAGE_FRESH_CACHE:-/var/cache/salvage-fresh}
tarball="$cache/bookworm-minbase.tar"

# The Debian archive the host itself uses (never written down here).
mirror() {
  local u
  u=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')
  [ -n "$u" ] || die "cannot find a Debian archive URI in the host's /etc/apt"
  printf '%s\n' "${u%/}"
}

# The pristine root: debootstrap minbase + git + ca-certificates, no package lists (as in
# Debian's container images), cached as a tarball.
make_root() {
  [ -f "$tarball" ] && return 0
  command -v debootstrap >/dev/null || {
    say "installing debootstrap on the host"
    apt-get -o DPkg::Lock::Timeout=600 update -qq && \
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap >/dev/null
  } || die "cannot install debootstrap"
  local m; m=$(mirror)
  local tmp; tmp=$(mktemp -d /tmp/salvage-fresh-make.XXXXXX)
  say "debootstrap --variant=minbase bookworm from $m (once; cached in $tarball)"
  debootstrap --variant=minbase --include=git,ca-certificates bookworm "$tmp/root" "$m" \
    > "$tmp/debootstrap.log" 2>&1 || { tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed (log: $tmp/debootstrap.log)"; }
  rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/archives/"*.deb
  printf '#!/bin/sh\nexit 101\n' > "$tmp/root/usr/sbin/policy-rc.d"; chmod 755 "$tmp/root/usr/sbin/policy-rc.d"
  mkdir -p "$cache"
  tar -C "$tmp/root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$tmp"
}

# Everything below runs in a private mount namespace: the mounts vanish with the run,
# even if it is killed.
if [ -z "${SALVAGE_FRESH_NS:-}" ]; then
  make_root
  SALVAGE_FRESH_NS=1 exec unshare --mount --propagation private "$0" --timeout "$timeout_min" "$@"
fi

run_dir=$(mktemp -d /tmp/salvage-fresh-run.XXXXXX)
root="$run_dir/root"
cleanup() {
  local rc=$?
  # Stop whatever still runs inside the root (a QEMU left by a killed test, say).
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  grep -oE " $root[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  if [ -z "${SALVAGE_FRESH_KEEP:-}" ] && ! grep -q " $root" /proc/self/mountinfo; then
    rm -rf --one-file-system "$root"
  fi
  say "logs in $run_dir"
  exit $rc
}
trap cleanup EXIT INT TERM HUP

mkdir -p "$root"
tar -C "$root" -xf "$tarball"
for d in proc sys dev dev/pts; do mount --bind "/$d" "$root/$d"; mount --make-private "$root/$d"; done
mount -t tmpfs -o nosuid,nodev,mode=1777 fresh-shm "$root/dev/shm"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# Settings for reaching the archive (proxies, date checks) are the host's; nothing else is.
apt-config dump 2>/dev/null | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date)' \
  > "$root/etc/apt/apt.conf.d/99host-access" || true
mkdir -p "$root/mnt/src"
mount --bind "$repo" "$root/mnt/src"; mount -o remount,bind,ro "$root/mnt/src"

in_root() {
  timeout --kill-after=30 "${timeout_min}m" chroot "$root" env -i --chdir="${2:-/root}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
    LANG=C.UTF-8 CI=true DEBIAN_FRONTEND=noninteractive /bin/bash -c "$1" </dev/null
}

in_root "git -c safe.directory='*' clone -q file:///mnt/src /root/$name" || die "git clone inside the fresh root failed"
rc=0
for cmd in "$@"; do
  say "running in a fresh Debian bookworm root: $cmd"
  start=$(date +%s)
  if in_root "$cmd" "/root/$name" 2>&1 | tee -a "$run_dir/run.log"; then
    say "passed in $(( $(date +%s) - start )) s: $cmd"
  else
    rc=1
    say "FAILED after $(( $(date +%s) - start )) s: $cmd"
    break
  fi
done
exit $rc
