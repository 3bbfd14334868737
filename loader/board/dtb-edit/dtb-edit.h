// `salvage load`'s device tree: the running system's tree (/sys/firmware/fdt, or
// --dtb FILE) with the /chosen properties a capture kernel is given, written with libfdt.
//
// What the image reads back (runtime/dtb/dtb.h, runtime/options.h) decides the format:
//   linux,elfcorehdr           one (address, size) pair in the root's #address-cells /
//                              #size-cells (Linux Documentation/devicetree/bindings/
//                              chosen.txt; dt-schema chosen.yaml)
//   linux,usable-memory-range  1 or 2 pairs, same cells: the crashkernel reservation;
//                              salvage never dumps it (it is where salvage runs)
//   salvage,options            a string of salvage words (docs/options.md); it wins over
//                              bootargs
//   bootargs                   optionally with words appended, or replaced
//
// Stale properties. The tree comes from a running kernel, so /chosen may already hold
// what that kernel was booted with:
//   linux,elfcorehdr, linux,usable-memory-range — present when the running system is
//     itself a capture kernel, or when --dtb names a tree an earlier load wrote. Always
//     deleted and rewritten: salvage trusts /chosen over `elfcorehdr=`, so a stale
//     header address would make it parse old memory as the core header, and a stale
//     usable range would keep real memory out of the dump as "salvage's own".
//   linux,initrd-start, linux,initrd-end — the running kernel's initrd, whose memory
//     that kernel freed after boot and has reused since. salvage takes no initrd, so
//     the pair would describe memory that holds something else; removed by default,
//     as kexec-tools does (dtb_clear_initrd when there is no --initrd) and Linux's
//     kexec_file_load does (of_kexec_alloc_and_setup_fdt).
//   salvage,options — deleted when no options are given, so an earlier load's words
//     cannot come back.
// Left alone, on purpose: kaslr-seed (Linux zeroes it after use; kexec-tools refreshes
// it only for a non-crash kexec), rng-seed (Linux removes it after use), and
// linux,ima-kexec-buffer; salvage reads none of them. The memory reservation block is
// not edited: salvage does not read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::loader {

/// The largest DTB salvage reads or writes: the arm64 boot protocol's limit
/// (Documentation/arch/arm64/booting.rst: "must not exceed 2 megabytes"), also applied
/// on arm and riscv64, where real trees are tens of KiB.
inline constexpr size_t kMaxDtbSize = 2 * 1024 * 1024;

/// At most this many linux,usable-memory-range entries: Linux's crashkernel= plus
/// crashkernel=,low (arm64 puts the low range last; entries are written in the order
/// given).
inline constexpr size_t kMaxUsableRanges = 2;

/// What EditCrashDtb writes into /chosen.
struct CrashDtbEdits {
  /// linux,elfcorehdr: where the loader placed the ELF core header. size > 0.
  PhysRange elfcorehdr;
  /// linux,usable-memory-range: 1 to kMaxUsableRanges non-empty, non-overlapping
  /// ranges, written in this order.
  std::vector<PhysRange> usable_memory;
  /// salvage,options: salvage words (docs/options.md), written as given. Empty: the
  /// property is removed if present.
  std::string salvage_options;
  /// Words for bootargs. Appended after one space to the tree's bootargs (or the whole
  /// value when there is none); empty with replace_bootargs false: bootargs untouched.
  std::string bootargs_append;
  /// Drop the tree's bootargs first: bootargs becomes bootargs_append, or is removed
  /// when that is empty. The running kernel's command line means nothing to salvage,
  /// and a `mem=size@start` in it would be taken as salvage's own memory (not dumped).
  bool replace_bootargs = false;
  /// Remove linux,initrd-start and linux,initrd-end (see the file comment).
  bool remove_initrd = true;
};

/// Returns a copy of `dtb` with `edits` applied to /chosen (created under the root when
/// absent), packed (no free space). `dtb` is untrusted: it must pass fdt_check_full.
/// Trailing bytes after the header's totalsize are ignored.
///
/// Errors (Status::what() names the property or step; when `message` is not null it
/// receives the same text followed by the libfdt error, fdt_strerror(), or the reason):
///   kInvalidArgument  edits out of contract (empty or wrapping range, 0 or more than
///                     kMaxUsableRanges ranges, overlapping ranges, NUL in a string)
///   kMalformed        not a device tree, truncated, structure corrupt, bad root
///                     #address-cells/#size-cells, bootargs without a NUL to append to
///   kUnsupported      root cells of 3 or more, #size-cells 0, unsupported DTB version
///   kOutOfRange       input or result larger than kMaxDtbSize, or an address or size
///                     that does not fit the root's cells (e.g. above 4 GiB with 1 cell)
///   kResourceExhausted  libfdt ran out of room although the buffer was grown
Result<std::vector<uint8_t>> EditCrashDtb(std::span<const uint8_t> dtb, const CrashDtbEdits& edits,
                                          std::string* message = nullptr);

/// Reads a flattened device tree from `path` (/sys/firmware/fdt or a --dtb file) and
/// checks its header: magic, a supported version, header block offsets inside
/// totalsize, and totalsize no larger than the file. Bytes after totalsize are dropped.
/// The structure itself is checked by EditCrashDtb.
/// Errors (`message` as for EditCrashDtb, with the path and strerror): kNotFound (no
/// such file), kIo (cannot open or read), kOutOfRange (file larger than kMaxDtbSize),
/// kMalformed (shorter than a header, bad magic, totalsize beyond the end of the file
/// or smaller than a header, bad header), kUnsupported (version).
Result<std::vector<uint8_t>> ReadDtbFile(const std::string& path, std::string* message = nullptr);

}  // namespace salvage::loader
