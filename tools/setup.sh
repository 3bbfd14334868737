#!/usr/bin/env bash
# salvage setup step: installs every Debian package the build and the tests need, and
# extracts the target-architecture libraries (libfdt, liblz4) from Debian packages of
# those architectures into the build tree, through a private apt configuration so the
# host's apt setup is never changed.
#
# Usage: tools/setup.sh [BUILD_DIR]      (default: build)
# Idempotent: when everything is present it only checks, in well under a second.
set -euo pipefail

build_dir=${1:-build}
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
sysroots="$build_dir/sysroots"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Host packages, each with why it is needed.
host_packages=(
  g++                              # the host compiler CMake picks for the host tools and tests (cc, c++)
  clang-16 lld-16 llvm-16          # the compiler, linker, objcopy/readelf for every target
  libc++-16-dev                    # C++ standard headers for the freestanding image
  cmake ninja-build                # the build
  picolibc-aarch64-linux-gnu picolibc-arm-none-eabi picolibc-riscv64-unknown-elf  # libc for the image
  gcc-aarch64-linux-gnu gcc-arm-none-eabi gcc-riscv64-unknown-elf                 # libgcc.a builtins
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-riscv64-linux-gnu             # static `salvage` for the boards
  qemu-user-static                 # tests: run the boards' `salvage` and arm64 makedumpfile on this machine
  libgtest-dev googletest          # host unit tests
  libclang-rt-16-dev               # libFuzzer and sanitizer runtimes for the fuzz targets
  libfdt-dev liblz4-dev            # host-side DTB and stream code
  device-tree-compiler             # dtc: fixtures and checking QEMU's DTB
  qemu-system-arm qemu-system-misc # QEMU smoke tests (aarch64, arm, riscv64 with OpenSBI)
  python3                          # test scripts
  gdb-multiarch                    # tests: gdb must open the vmcores of every architecture
  e2fsprogs dosfstools mtools      # SD dump-file tests: mke2fs/debugfs/e2fsck, mkfs.vfat/fsck.vfat, mcopy/mshowfat
  ca-certificates debian-archive-keyring  # the private apt download of target libraries
)
# Strip comments from the list above (they are only documentation).
pkgs=()
for p in "${host_packages[@]}"; do pkgs+=("$p"); done

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root or install them: apt-get install ${missing[*]}"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended-upgrades, a second setup) may hold the lock: wait for it.
  lock=(-o DPkg::Lock::Timeout=600)
  apt-get "${lock[@]}" update -qq || say "warning: apt-get update reported errors; trying the install anyway"
  apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi

# Debian archive URI, taken from the machine's own apt sources.
archive_uri() {
  local u
  u=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')
  [ -n "$u" ] || u=$(grep -rhoE 'https?://[^ ]*debian[^ ]*' /etc/apt/ 2>/dev/null | grep -v security | head -n1)
  [ -n "$u" ] || die "cannot find a Debian archive URI in /etc/apt; add one to the host's sources"
  printf '%s\n' "${u%/}"
}

# private_apt DIR ARCH SUITE: an apt configuration of its own under DIR for Debian SUITE's
# ARCH packages (the host's apt setup is never touched), its package lists fetched. Sets
# APT_O, the options every apt-get/apt-cache call with it takes. Remove DIR when done.
private_apt() {
  local dir=$1 arch=$2 suite=$3
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  cat > "$dir/arch.sources" <<SRC
Types: deb
URIs: $(archive_uri)
Suites: $suite
Components: main
Architectures: $arch
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  APT_O=(-o "Dir::Etc::SourceList=$dir/arch.sources" -o Dir::Etc::SourceParts=/dev/null
         -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
         -o "Dir::State::status=/dev/null"
         -o APT::Sandbox::User=root -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
  apt-get "${APT_O[@]}" update -qq >/dev/null || die "apt-get update for $arch ($suite) failed"
}

# kernel_flavour META: the versioned kernel package (linux-image-<abi>-<flavour>) that the
# metapackage META (linux-image-arm64, linux-image-armmp) depends on, under APT_O.
kernel_flavour() {
  local f
  f=$(apt-cache "${APT_O[@]}" depends "$1" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
  [ -n "$f" ] || die "cannot resolve the kernel behind $1"
  printf '%s\n' "$f"
}

# fetch_target_libs DEBARCH SUITE: libfdt-dev and liblz4-dev of that architecture into
# $sysroots/DEBARCH/root, once.
fetch_target_libs() {
  local arch=$1 suite=$2 d="$sysroots/$1"
  local stamp="$d/.done-v1"
  [ -f "$stamp" ] && return 0
  say "fetching libfdt-dev:$arch liblz4-dev:$arch from Debian $suite"
  rm -rf "$d"; mkdir -p "$d/debs" "$d/root"
  private_apt "$d/apt" "$arch" "$suite"
  (cd "$d/debs" && apt-get "${APT_O[@]}" download libfdt-dev libfdt1 liblz4-dev >/dev/null) \
    || die "apt-get download libfdt-dev:$arch liblz4-dev:$arch failed"
  for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$d/root"; done
  rm -rf "$d/apt"
  touch "$stamp"
}

fetch_target_libs arm64 bookworm
fetch_target_libs armhf bookworm
fetch_target_libs armel bookworm
fetch_target_libs riscv64 trixie

# fetch_crash_kit DEBARCH: what the real-crash tests and benchmarks boot and read, for
# DEBARCH (arm64, armhf), from Debian bookworm, into $build_dir/crash-kit/DEBARCH, once:
#   Image (arm64)       the Debian kernel: arm64 linux-image-<abi>-arm64-unsigned (an
#   zImage (armhf)      uncompressed Image), armhf linux-image-<abi>-armmp (a zImage); its
#                       ABI number is resolved through the metapackage (linux-image-arm64,
#                       linux-image-armmp), never written here
#   System.map, config, release   of that kernel
#   modules/            virtio_mmio.ko and virtio_blk.ko (=m in Debian's config), for
#                       guests that check or use the dump disk and for the Linux kdump
#                       baseline's capture kernel
#   lpae/ (armhf)       the same for linux-image-<abi>-armmp-lpae (zImage, System.map,
#                       config, release, modules/): the 32-bit kernel with RAM above 4 GiB
#   root/               busybox-static, kexec-tools and makedumpfile with their shared
#                       libraries (dpkg -x; the binaries run in the guest, and makedumpfile
#                       on this machine under qemu-aarch64-static / qemu-arm-static)
# The shared libraries are the closure of kexec-tools' and makedumpfile's dependencies on
# both architectures (kexec-tools links Xen's libraries on arm64 and armhf alike).
fetch_crash_kit() {
  local arch=$1 d="$build_dir/crash-kit/$1"
  local stamp="$d/.done-v1"
  [ -f "$stamp" ] && return 0
  local meta kname size
  case $arch in
    arm64) meta=linux-image-arm64; kname=Image; size="about 65 MB" ;;
    armhf) meta=linux-image-armmp; kname=zImage; size="about 90 MB" ;;
    *) die "fetch_crash_kit: no crash kit for $arch" ;;
  esac
  say "fetching Debian bookworm's $arch kernel, busybox, kexec-tools and makedumpfile ($size, once)"
  rm -rf "$d"; mkdir -p "$d/debs" "$d/root"
  private_apt "$d/apt" "$arch" bookworm
  local flavour; flavour=$(kernel_flavour "$meta")
  local kernels=("$flavour")
  [ $arch = arm64 ] && kernels=("$flavour-unsigned")
  [ $arch = armhf ] && kernels+=("$(kernel_flavour linux-image-armmp-lpae)")
  local pkgs=("${kernels[@]}" busybox-static kexec-tools makedumpfile
              libc6 libgcc-s1 zlib1g liblzma5 libbz2-1.0 libdw1 libelf1 liblzo2-2 libzstd1
              libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
              libxenhypfs1 libxenmisc4.17 libxenstore4 libxentoolcore1 libxentoollog1 libyajl2 libuuid1)
  (cd "$d/debs" && apt-get "${APT_O[@]}" download "${pkgs[@]}" >/dev/null) \
    || die "apt-get download of the $arch crash kit failed: ${pkgs[*]}"
  for deb in "$d"/debs/*.deb; do
    case $(basename "$deb") in linux-image-*) ;; *) dpkg-deb -x "$deb" "$d/root" ;; esac
  done
  # kernel_to DEB DIR: the kernel, its System.map, config, release and the two modules.
  kernel_to() {
    local kroot="$d/kernel-root"; rm -rf "$kroot"; mkdir -p "$kroot" "$2/modules"
    dpkg-deb --fsys-tarfile "$1" | tar -x -C "$kroot" --wildcards './boot/*' '*/virtio_mmio.ko' '*/virtio_blk.ko'
    cp "$kroot"/boot/vmlinuz-* "$2/$kname"; cp "$kroot"/boot/System.map-* "$2/System.map"; cp "$kroot"/boot/config-* "$2/config"
    find "$kroot" -name '*.ko' -exec cp {} "$2/modules/" \;
    basename "$kroot"/boot/vmlinuz-* | sed 's/^vmlinuz-//' > "$2/release"
    rm -rf "$kroot"
  }
  local k
  for k in "$d"/debs/linux-image-*.deb; do
    case $(basename "$k") in *-lpae_*) kernel_to "$k" "$d/lpae" ;; *) kernel_to "$k" "$d" ;; esac
  done
  rm -rf "$d/debs" "$d/apt"
  local want=("$kname" modules/virtio_mmio.ko modules/virtio_blk.ko root/bin/busybox root/sbin/kexec root/usr/bin/makedumpfile)
  [ $arch = armhf ] && want+=("lpae/$kname" lpae/modules/virtio_mmio.ko lpae/modules/virtio_blk.ko)
  for f in "${want[@]}"; do
    [ -f "$d/$f" ] || die "expected $d/$f after extraction; remove $d and run again"
  done
  touch "$stamp"
}
fetch_crash_kit arm64
fetch_crash_kit armhf

# fetch_pi_dtbs: the Raspberry Pi device trees the raspi QEMU tests boot with, from
# Debian bookworm's kernel packages (docs/toolchain.md section 1), into
# $build_dir/pi-dtbs, once. The kernel ABI number is resolved through the metapackages,
# never written here:
#   bcm2837-rpi-3-b.dtb     linux-image-<abi>-arm64 (broadcom/): QEMU raspi3b, arm64
#   bcm2836-rpi-2-b.dtb     linux-image-<abi>-armmp:armhf: QEMU raspi2b, 32-bit
#   bcm2835-rpi-zero.dtb    the same package: QEMU raspi0 (ARMv6)
# Its own download (not the crash kit's), so a running crash test never sees its kit
# removed and refetched.
fetch_pi_dtbs() {
  local d="$build_dir/pi-dtbs"
  local stamp="$d/.done-v1"
  [ -f "$stamp" ] && return 0
  say "fetching the Raspberry Pi DTBs from Debian bookworm's arm64 and armhf kernel packages (about 100 MB, once)"
  rm -rf "$d"; mkdir -p "$d"
  local arch meta want
  for arch in arm64 armhf; do
    local a="$d/apt-$arch"
    mkdir -p "$a/debs" "$a/root"
    private_apt "$a/apt" "$arch" bookworm
    if [ $arch = arm64 ]; then
      meta=linux-image-arm64
      want=('*/broadcom/bcm2837-rpi-3-b.dtb')
    else
      meta=linux-image-armmp
      want=('*/bcm2836-rpi-2-b.dtb' '*/bcm2835-rpi-zero.dtb')
    fi
    local flavour; flavour=$(kernel_flavour "$meta")
    (cd "$a/debs" && apt-get "${APT_O[@]}" download "$flavour" >/dev/null) \
      || die "apt-get download $flavour:$arch failed"
    dpkg-deb --fsys-tarfile "$a"/debs/*.deb | tar -x -C "$a/root" --wildcards "${want[@]}" \
      || die "no Raspberry Pi DTB in $flavour:$arch"
    find "$a/root" -name '*.dtb' -exec cp {} "$d/" \;
    echo "$flavour:$arch" >> "$d/source"
    rm -rf "$a"
  done
  for f in bcm2837-rpi-3-b.dtb bcm2836-rpi-2-b.dtb bcm2835-rpi-zero.dtb; do
    [ -f "$d/$f" ] || die "expected $d/$f after extraction; remove $d and run again"
  done
  touch "$stamp"
}
fetch_pi_dtbs

# Every library the target builds link must be there.
for f in arm64/root/usr/lib/aarch64-linux-gnu/libfdt.a armhf/root/usr/lib/arm-linux-gnueabihf/libfdt.a \
         armel/root/usr/lib/arm-linux-gnueabi/libfdt.a riscv64/root/usr/lib/riscv64-linux-gnu/libfdt.a \
         arm64/root/usr/lib/aarch64-linux-gnu/liblz4.a armhf/root/usr/lib/arm-linux-gnueabihf/liblz4.a \
         armel/root/usr/lib/arm-linux-gnueabi/liblz4.a \
         riscv64/root/usr/lib/riscv64-linux-gnu/liblz4.a; do
  [ -f "$sysroots/$f" ] || die "expected $sysroots/$f after extraction; remove $sysroots and run again"
done
say "ready (sysroots in $sysroots)"
