// salvage::loader::load — `salvage load`, `salvage unload` and `salvage status`: put the
// salvage image into the crash reservation as the kdump capture kernel, take it out,
// and say what is there. docs/load.md is the user's description.
//
// `salvage load` does what kexec-tools' `kexec -p` does for a Linux capture kernel,
// with salvage's own pieces (see docs/load.md for the layout):
//   1. reads /proc/iomem (System RAM, "Crash kernel"), each CPU's crash_notes,
//      /sys/kernel/vmcoreinfo and the VMCOREINFO text (/proc/kcore);
//   2. builds the elfcorehdr (loader/board/elfcorehdr) and the crash DTB (loader/board/dtb-edit:
//      linux,elfcorehdr, linux,usable-memory-range, salvage,options, bootargs);
//   3. places image, purgatory, DTB and elfcorehdr in the reservation (placement.h);
//   4. patches the image's early console and flags, fills the purgatory's parameter
//      block with the entry, the DTB and every segment's SHA-256 (blobs.h);
//   5. calls kexec_load(2) with KEXEC_ON_CRASH (kexec.h), or with --dry-run writes the
//      segments to files; records the state file (state.h).
// The steps that need no privilege and no kexec are PrepareLoad, which host tests run
// against the fixture trees in host-tests/data/proc-*-virt.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/base/phys.h>
#include <salvage/base/sha256.h>

#include "board/load/blobs.h"
#include "board/load/config.h"
#include "board/load/dump-file.h"
#include "board/load/kexec.h"
#include "board/load/placement.h"
#include "common/exit-codes.h"
#include "common/expected.h"

namespace salvage::loader::load {

/// The image's options, checked with the image's own parsers (runtime/options,
/// runtime/blockdump ParseTarget) so that salvage load never writes a word the image
/// would reject or ignore.
struct ImageOptions {
  std::string words;   ///< For /chosen/salvage,options: "salvage.sink=uart salvage.after=poweroff".
  std::string append;  ///< For /chosen/bootargs (--append), checked the same way.
  bool reset_on_stop = false;  ///< salvage.after=reboot: boot parameter flag bit 0.
  std::string sink_text;       ///< "the console UART", "the virtio-blk device at 0xa003e00 (target gpt-name:dump)".
  std::string after_text;      ///< "power off", "reboot", "halt".
  bool uart_sink = true;
};

/// Checks sink, target, after and append and builds the words. Every sink the image's
/// parser knows is accepted (uart, virtio-blk[@ADDR], and whatever docs/options.md adds).
/// Errors name the option and the accepted forms: a sink or after the image does not know
/// (or with spaces); --target with the uart sink; a target ParseTarget rejects (its
/// message); in --append, a salvage.* word the image does not know or cannot parse, or
/// elfcorehdr= (salvage load sets that itself).
Expected<ImageOptions> BuildImageOptions(const Choices& choices);

/// The active mode in /sys/kernel/security/lockdown ("none [integrity] confidentiality"
/// → "integrity"); "" when no word is bracketed.
std::string LockdownMode(std::string_view text);

/// Where this system sets the kernel command line, as advice: "This system sets it in
/// /etc/default/grub: add crashkernel=2M to GRUB_CMDLINE_LINUX_DEFAULT, run update-grub,
/// and reboot." Looks (under `root`) for a Raspberry Pi's cmdline.txt, GRUB,
/// u-boot-menu, flash-kernel, extlinux and /etc/kernel/cmdline, in that order; a
/// generic sentence when none is there.
std::string CommandLineHint(std::string_view root, const std::string& argument);

/// One segment as it is handed to kexec_load.
struct PlannedSegment {
  std::string name;            ///< "image", "purgatory", "dtb", "elfcorehdr".
  std::vector<uint8_t> bytes;  ///< bufsz = bytes.size().
  uint64_t addr = 0;
  uint64_t memsz = 0;
  Sha256::Digest sha256{};
};

/// Everything kexec_load needs, and what the summary says.
struct LoadPlan {
  ArchInfo arch;
  uint64_t page_size = 0;
  std::string image_path, purgatory_path, dtb_path;
  /// image, purgatory, dtb, elfcorehdr: in address order.
  std::vector<PlannedSegment> segments;
  uint64_t entry = 0;        ///< The purgatory's address.
  unsigned long flags = 0;   ///< KEXEC_ON_CRASH | KEXEC_ARCH_*.
  std::vector<PhysRange> reservations;  ///< Every "Crash kernel" range.
  Placement placement;
  ImageOptions options;
  ConsoleParams console;
  std::string console_text;     ///< "pl011 at 0x9000000 (/pl011@9000000, stdout-path)" or "none".
  std::string elfcorehdr_text;  ///< "ELF64, 5 notes (4 CPUs + VMCOREINFO), 3 PT_LOAD".
  /// --sink sd-file: the dump file on the SD card (dump-file.h), whose extents the
  /// options name.
  std::optional<DumpFile> dump_file;
};

/// Everything `salvage load` does before kexec_load, reading the system (or the tree)
/// under settings.root. With --sink sd-file it also makes the dump file (not in a dry
/// run; PrepareDumpFile through kernel.Files()), after every check that could refuse the
/// load, and checks that the DTB has the SD host controller the card is on. `notes` receives the -v details and the warnings ("warning: ...").
/// Runs as named stages (load.cc: ReadBlobs, ReadMemoryMap, FindPageSize, BuildHeader,
/// ReadCrashDtb, CheckBlockSink, SizeCrashDtb, FindPlaces, MakeDumpFile, BuildSegments,
/// CheckSegments), each one job.
/// Errors: every file and check above, with a message naming the file and what to do;
/// no or too small a reservation (proc::CrashkernelAdvice, then CommandLineHint).
Expected<LoadPlan> PrepareLoad(const LoadSettings& settings, Kernel& kernel, std::vector<std::string>* notes);

/// Writes DIR/NN-NAME-0xADDR.bin for each segment and DIR/segments.txt:
///   NAME 0xADDR 0xBUFSZ 0xMEMSZ SHA256     one line per segment, in address order
///   entry 0xADDR
///   flags 0xFLAGS
/// creating DIR. Errors name the file.
Expected<void> WriteSegments(const LoadPlan& plan, const std::string& dir);

/// What to tell the user when kexec_load failed with `err` (an errno).
std::string KexecErrorMessage(int err, const LoadPlan& plan);

/// `salvage load`: checks (root, lockdown, kexec_load_disabled), PrepareLoad, then
/// kexec_load and the state file, or with dry_run the segment files; prints the summary
/// on `out`, errors on `err`. Returns 0, 1 (failed) or 2 (usage).
int RunLoad(const LoadSettings& settings, Kernel& kernel, std::FILE* out, std::FILE* err);

/// `salvage unload`: kexec_load with no segments and KEXEC_ON_CRASH, then removes the
/// state file. With dry_run, says what it would do. Returns 0 or 1.
int RunUnload(std::string_view root, bool dry_run, Kernel& kernel, std::FILE* out, std::FILE* err);

/// `salvage status`. Returns 0 when salvage is the loaded crash kernel, kExitNotLoaded
/// when nothing or another crash kernel is loaded, 1 when the kernel's files cannot be read.
int RunStatus(std::string_view root, std::FILE* out, std::FILE* err);

}  // namespace salvage::loader::load
