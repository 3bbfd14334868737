// salvage::loader::proc — what the running kernel says about kdump through sysfs and
// procfs: where each CPU's crash notes and the VMCOREINFO note are, how much memory
// crashkernel= reserved, and whether a crash kernel is loaded or loading is disabled.
//
// Every reader takes a root directory: "" or "/" for the live system, a fixture tree in
// tests, or `salvage load --root DIR`. Paths in messages are the real ones under it.
//
// Files (Linux drivers/base/cpu.c, kernel/ksysfs.c, kernel/kexec_core.c,
// Documentation/ABI/testing/sysfs-devices-system-cpu):
//   /sys/devices/system/cpu/possible        CPU list, "0-3" or "0,2-5" (cpumask list)
//   /sys/devices/system/cpu/cpuN/crash_notes       "%llx\n": physical address of CPU N's
//       note buffer (crash_notes is a per-CPU note_buf_t); mode 0400, root only
//   /sys/devices/system/cpu/cpuN/crash_notes_size  "%zu\n": sizeof(note_buf_t) (kernels since
//       2013); 0400
//   /sys/kernel/vmcoreinfo        "%pa %x\n" ("0x000000004172c000 1024": address with 0x,
//       zero-padded to phys_addr_t's width) on current kernels, "%lx %x\n" ("4172c000
//       1024") on old ones: the VMCOREINFO note's physical address and its size in hex.
//       The size is VMCOREINFO_NOTE_SIZE: two note headers (24) + "VMCOREINFO\0" padded
//       (12) + a page (4096) = 0x1024 with 4 KiB pages.
//   /sys/kernel/kexec_crash_size  "%zd\n": bytes reserved by crashkernel= (low + high)
//   /sys/kernel/kexec_crash_loaded "%d\n": 1 when a crash kernel is loaded
//   /proc/sys/kernel/kexec_load_disabled "%d\n": 1 when kexec_load(2) is disabled until
//       reboot (and kexec_file_load(2))
//
// note_buf_t (include/linux/kexec.h / crash_core.h): CRASH_CORE_NOTE_BYTES =
//   2 note headers (2 * 12: the NT_PRSTATUS header and the final empty one)
//   + "CORE\0" padded to 4 (8) + sizeof(struct elf_prstatus), in 32-bit words. With the
// generic elf_prstatus (pr_info, pr_cursig, pr_sigpend, pr_sighold, 4 pids, 4 timevals =
// 112 bytes on 64-bit, 72 on 32-bit; then pr_reg and pr_fpvalid, padded to a long):
//   arm64:   112 + 34 * 8 (user_pt_regs) + 8 = 392  ->  424
//   riscv64: 112 + 32 * 8 (user_regs_struct) + 8 = 376  ->  408
//   arm:      72 + 18 * 4 + 4 = 148  ->  180
// kexec-tools ignores crash_notes_size and uses 1024 (MAX_NOTE_BYTES); the capture
// kernel's vmcore.c stops at the empty note either way. salvage reads crash_notes_size
// and falls back to the computed size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/base/phys.h>

#include "common/expected.h"

namespace salvage::loader::proc {

/// `path` (absolute, "/proc/iomem") under `root` ("" or "/" for the live system).
std::string RootedPath(std::string_view root, std::string_view path);

/// The whole file. Errors name the path and say what to do: "... Permission denied: run
/// salvage as root"; for a missing file the message is errno's ("No such file or
/// directory"); the callers below add what a missing file means.
Expected<std::string> ReadTextFile(const std::string& path);

/// sizeof(note_buf_t) of the architecture (see above); 0 for others.
uint64_t CrashNoteBufSize(uint16_t e_machine);

// ---- parsers of one file's text (`source` names it in messages) ---------------------------

/// A cpumask list: "0-3", "0,2-5", "0". Sorted, without duplicates. Errors: anything
/// else, a range whose end is below its start, a CPU number above 65535.
Expected<std::vector<uint32_t>> ParseCpuList(std::string_view text, std::string_view source);
/// One hexadecimal number, with or without 0x, then optional whitespace (crash_notes).
Expected<uint64_t> ParseHexFile(std::string_view text, std::string_view source);
/// One decimal number, then optional whitespace (crash_notes_size, kexec_crash_size,
/// kexec_crash_loaded, kexec_load_disabled).
Expected<uint64_t> ParseDecimalFile(std::string_view text, std::string_view source);
/// /proc/kallsyms ("c0300000 T _stext" per line, module symbols with " [module]" after):
/// the address of the first symbol called `name`; nullopt when there is none, when its
/// line is malformed, or when the address is 0 (kptr_restrict hides every address from
/// readers without CAP_SYSLOG).
std::optional<uint64_t> KallsymsAddress(std::string_view text, std::string_view name);
/// /sys/kernel/vmcoreinfo: "ADDRESS SIZE", both hex, ADDRESS with or without 0x.
/// Errors: not two numbers; size 0.
Expected<PhysRange> ParseVmcoreinfoFile(std::string_view text, std::string_view source);

// ---- readers -------------------------------------------------------------------------

/// One CPU's crash note buffer.
struct CpuCrashNote {
  uint32_t cpu = 0;
  PhysRange note{};              ///< crash_notes and its size.
  bool size_from_kernel = false; ///< The size came from crash_notes_size.
};

struct CrashNotes {
  std::vector<CpuCrashNote> cpus;  ///< In CPU order.
  /// Possible CPUs without a cpuN/crash_notes (not present: kexec-tools skips them too).
  std::vector<uint32_t> missing;
};

/// crash_notes of every possible CPU (the possible list; when that file is missing, the
/// cpuN directories). The size is crash_notes_size when the file exists, else
/// CrashNoteBufSize(e_machine).
/// Errors: no possible list and no cpuN directory; a file that cannot be read or parsed;
/// address 0; no CPU with crash_notes ("the kernel was built without CONFIG_CRASH_DUMP");
/// no crash_notes_size and an architecture CrashNoteBufSize does not know.
Expected<CrashNotes> ReadCrashNotes(std::string_view root, uint16_t e_machine);

/// The VMCOREINFO note's physical range. Errors: unreadable or malformed; missing ("the
/// kernel was built without CONFIG_VMCORE_INFO", CONFIG_CRASH_CORE on older kernels).
Expected<PhysRange> ReadVmcoreinfo(std::string_view root);

/// Bytes reserved by crashkernel= (0: none). Errors: unreadable or malformed; missing
/// ("the kernel was built without CONFIG_CRASH_DUMP").
Expected<uint64_t> ReadKexecCrashSize(std::string_view root);

/// Whether a crash kernel is loaded now. Errors: as ReadKexecCrashSize.
Expected<bool> ReadKexecCrashLoaded(std::string_view root);

/// Whether kexec_load(2) is disabled until the next boot (sysctl kernel.kexec_load_disabled).
/// Errors: unreadable or malformed; missing ("the kernel was built without
/// CONFIG_KEXEC_CORE").
Expected<bool> ReadKexecLoadDisabled(std::string_view root);

/// The text of /proc/iomem and /proc/cmdline under `root`.
Expected<std::string> ReadIomemText(std::string_view root);
Expected<std::string> ReadCmdline(std::string_view root);

/// KallsymsAddress of /proc/kallsyms under `root`. Errors: the file cannot be read; no
/// such symbol, or its address hidden (the message says which).
Expected<uint64_t> ReadKallsymsAddress(std::string_view root, std::string_view name);

}  // namespace salvage::loader::proc
