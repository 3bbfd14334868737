// salvage::loader::load — salvage load, unload and status (see load.h).
#include "board/load/load.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <salvage/blockdump/target.h>
#include <salvage/devices/sd-binding.h>
#include <salvage/devices/uart-binding.h>
#include <salvage/dtb/dtb.h>

#include "board/dtb-edit/dtb-edit.h"
#include "board/elfcorehdr/builder.h"
#include "common/exit-codes.h"
#include "common/text.h"
#include "board/load/block-target.h"
#include "board/load/state.h"
#include "board/load/vmcoreinfo.h"
#include "options.h"
#include "board/proc/crashkernel.h"
#include "board/proc/iomem.h"
#include "board/proc/sysfs.h"

namespace salvage::loader::load {
namespace {

namespace fs = std::filesystem;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsRooted(std::string_view root) { return !root.empty() && root != "/"; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string Kib(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 20)) return Mib(bytes);
  return std::to_string((bytes + 1023) / 1024) + " KiB";
}

// "64 MiB", "768 KiB", "1.5 MiB".
std::string SizeText(uint64_t bytes) {
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes < 16 * kMiB && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return Mib(bytes);
}

std::string RangeText(PhysRange r) { return Hex(r.base) + "-" + Hex(r.Last()) + " (" + SizeText(r.size) + ")"; }

std::string BootId(std::string_view root) {
  auto id = proc::ReadTextFile(proc::RootedPath(root, "/proc/sys/kernel/random/boot_id"));
  return id.ok() ? Trim(*id) : "";
}

std::string Words(const std::vector<std::string_view>& w) {
  std::string out;
  for (std::string_view s : w) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

// The words of `text` separated by blanks.
std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// The architecture to load for: --arch, else the running kernel's (uname), else under
// --root the build's.
Expected<ArchInfo> ResolveArch(const LoadSettings& s, Kernel& kernel) {
  if (!s.arch.empty()) {
    auto a = ArchFromName(s.arch);
    if (!a) return Fail("--arch " + s.arch + ": salvage has images for aarch64, arm and riscv64");
    return *a;
  }
  if (IsRooted(s.root)) {
    if (auto a = BuildArch()) return *a;
    return Fail("with --root, say which architecture the tree is from: --arch aarch64, arm or riscv64");
  }
  const std::string machine = kernel.Machine();
  if (auto a = ArchFromName(machine)) return *a;
  return Fail("this kernel's architecture (uname -m: " + (machine.empty() ? std::string("unknown") : machine) +
              ") is not one salvage has an image for (aarch64, arm, riscv64)");
}

// LIBDIR/<base>-<arch>.<ext> when it exists, else LIBDIR/<base>.<ext>.
std::string DefaultBlob(const char* base, const char* ext, const ArchInfo& arch) {
  const std::string per_arch = LibDir() + "/" + base + "-" + std::string(arch.name) + ext;
  if (Exists(per_arch)) return per_arch;
  return LibDir() + "/" + base + ext;
}

// The console as the boot parameter block and the purgatory name it: 1 PL011, 2 16550;
// 0 (none) for any UART they have no driver for, which the image may still drive.
ConsoleParams ConsoleFrom(const devices::ConsoleChoice& c) {
  ConsoleParams p;
  if (c.driver == devices::UartDriverOf<uart::Pl011>) {
    p.kind = 1;
  } else if (c.driver == devices::UartDriverOf<uart::Ns16550>) {
    p.kind = 2;
  } else if (c.driver == devices::UartDriverOf<uart::MiniUart>) {
    p.kind = 3;  // the purgatory's only: the image's early console has no mini-UART kind
  } else {
    return p;
  }
  p.reg_shift = c.config.reg_shift;
  p.reg_io_width = c.config.reg_io_width;
  p.base = c.config.base;
  return p;
}

// The crash DTB's console, as the image will choose it (runtime/devices ChooseConsole:
// stdout-path first, then the first enabled supported UART).
ConsoleParams ChooseConsoleIn(const std::vector<uint8_t>& dtb_bytes, std::string* text) {
  *text = "none (no UART salvage drives in the DTB: the purgatory cannot report a damaged segment)";
  auto dtb = dtb::Dtb::Open(dtb_bytes.data(), dtb_bytes.size());
  if (!dtb.ok()) return {};
  const devices::ConsoleChoice c = devices::ChooseConsole(*dtb);
  if (c.driver == uart::kNoDriver) return {};
  char path[256];
  dtb->NodePath(c.node, path, sizeof(path));
  *text = std::string(devices::UartDriverName(c.driver)) + " at " + Hex(c.config.base) + " (" + path + ", " + c.how + ")";
  const ConsoleParams p = ConsoleFrom(c);
  if (p.kind == 0) *text += "; the purgatory cannot report a damaged segment on it";
  return p;
}

std::string SegmentTable(const LoadPlan& plan) {
  std::string out;
  for (const PlannedSegment& s : plan.segments) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-10s 0x%llx-0x%llx bufsz 0x%llx memsz 0x%llx\n", s.name.c_str(),
                  static_cast<unsigned long long>(s.addr), static_cast<unsigned long long>(s.addr + s.memsz - 1),
                  static_cast<unsigned long long>(s.bytes.size()), static_cast<unsigned long long>(s.memsz));
    out += line;
  }
  return out;
}

}  // namespace

// ---- options ------------------------------------------------------------------------------

Expected<ImageOptions> BuildImageOptions(const Choices& c) {
  ImageOptions out;
  auto one_word = [](const std::string& v) { return v.find_first_of(" \t\n\r") == std::string::npos; };
  // Each value is checked by the image's own parser (runtime/options), so any sink it
  // knows is accepted here and nothing it would reject or ignore is written.
  const std::string sink = c.sink.value_or("uart");
  const Options so = ParseOptions("", "salvage.sink=" + sink);
  if (!one_word(sink) || sink.empty() || so.malformed_count != 0 || so.unknown_count != 0)
    return Fail("--sink " + sink + ": the image does not know this sink (uart, virtio-blk, virtio-blk@ADDR, sd, sd@ADDR "
                "with ADDR in 0x hex; docs/options.md lists them all), and salvage load knows sd-file");
  const bool is_uart = so.sink == SinkKind::kUart;
  std::vector<std::string> words = {"salvage.sink=" + sink};
  out.uart_sink = is_uart;
  const bool confirmed = c.confirm_whole_device.value_or(false);
  if (c.target) {
    if (is_uart)
      return Fail("--target " + *c.target + " is for a disk: it needs a block sink such as --sink virtio-blk (the "
                  "uart sink has no target)");
    auto spec = blockdump::ParseTarget(*c.target);
    if (!one_word(*c.target) || !spec.ok())
      return Fail("--target " + *c.target + ": " + (spec.ok() ? "no spaces allowed" : spec.status().what()) +
                  " (disk, mbr:N, gpt-name:NAME, gpt-uuid:UUID or extents:S+C,...; docs/options.md)");
    words.push_back("salvage.target=" + *c.target);
    if (spec->kind == blockdump::TargetKind::kDisk) {
      if (!confirmed)
        return Fail("--target disk overwrites the whole device (" + sink +
                    "), its partition table and everything on it, at every crash: add --confirm-whole-device "
                    "(SALVAGE_CONFIRM_WHOLE_DEVICE=1) if that is what you want; a partition of its own "
                    "(--target gpt-name:NAME or mbr:N) is safer");
      words.push_back("salvage.confirm=whole-disk");
    }
  } else if (!is_uart) {
    return Fail("--sink " + sink + " needs --target: where on the device the dump goes. There is no default, "
                "because the device may hold the system's own data: give a partition of its own (--target "
                "gpt-name:NAME, gpt-uuid:UUID or mbr:N), extents:S+C,..., or the whole device with --target disk "
                "--confirm-whole-device" + (so.sink == SinkKind::kSd ? "; on a Raspberry Pi, --sink sd-file puts "
                "the dump into a file of the SD card's file system instead" : std::string()));
  }
  if (confirmed && !(c.target && *c.target == "disk"))
    return Fail("--confirm-whole-device confirms --target disk, which is not given (target: " +
                c.target.value_or("none") + ")");
  const std::string after = c.after.value_or("poweroff");
  const Options ao = ParseOptions("", "salvage.after=" + after);
  if (!one_word(after) || after.empty() || ao.malformed_count != 0 || ao.unknown_count != 0)
    return Fail("--after " + after + ": the image knows poweroff, reboot and halt");
  words.push_back("salvage.after=" + after);
  std::string joined;
  for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;

  // Read the words back together: what the image understands must be what was asked for.
  const Options o = ParseOptions("", joined);
  if (o.malformed_count != 0 || o.unknown_count != 0 || o.sink != so.sink || o.after != ao.after ||
      (c.target && o.target != *c.target) || BlockTargetRefusal(o) != nullptr)
    return Fail("\"" + joined + "\": the image reads these options differently (a salvage bug)");
  out.words = joined;
  out.reset_on_stop = o.after == AfterAction::kReboot;
  out.after_text = after == "poweroff" ? "power off" : after;
  if (is_uart) {
    out.sink_text = "the console UART";
  } else {
    const std::string device = sink.substr(0, sink.find('@'));
    out.sink_text = o.sink_address ? "the " + device + " device at " + Hex(*o.sink_address)
                                   : "the first " + device + " device";
    out.sink_text += " (target " + std::string(o.target) + ")";
  }

  if (c.append) {
    const std::vector<std::string_view> append = SplitWords(*c.append);
    for (std::string_view w : append) {
      const Options a = ParseOptions(w);
      if (w.starts_with("elfcorehdr="))
        return Fail("--append " + std::string(w) + ": salvage load sets the elfcorehdr itself");
      if (a.malformed_count != 0) return Fail("--append " + std::string(w) + ": the image would not accept it");
      if (a.unknown_count != 0) return Fail("--append " + std::string(w) + ": the image does not know this option");
    }
    out.append = Words(append);
  }
  return out;
}

// ---- advice ---------------------------------------------------------------------------------

std::string LockdownMode(std::string_view text) {
  const size_t open = text.find('[');
  const size_t close = text.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return "";
  return std::string(text.substr(open + 1, close - open - 1));
}

std::string CommandLineHint(std::string_view root, const std::string& arg) {
  auto has = [&](const char* path) { return Exists(proc::RootedPath(root, path)); };
  if (has("/boot/firmware/cmdline.txt"))
    return "This is a Raspberry Pi: add " + arg + " to the single line in /boot/firmware/cmdline.txt, and reboot.";
  if (has("/boot/cmdline.txt"))
    return "This is a Raspberry Pi: add " + arg + " to the single line in /boot/cmdline.txt, and reboot.";
  if (has("/etc/default/grub"))
    return "This system boots with GRUB: add " + arg +
           " to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub, and reboot.";
  if (has("/etc/default/u-boot"))
    return "This system boots with U-Boot (u-boot-menu): add " + arg +
           " to U_BOOT_PARAMETERS in /etc/default/u-boot, run u-boot-update, and reboot.";
  if (has("/etc/default/flash-kernel"))
    return "This system uses flash-kernel: add " + arg +
           " to LINUX_KERNEL_CMDLINE in /etc/default/flash-kernel, run flash-kernel, and reboot.";
  if (has("/boot/extlinux/extlinux.conf"))
    return "Add " + arg + " to the append line of your entry in /boot/extlinux/extlinux.conf, and reboot.";
  if (has("/etc/kernel/cmdline"))
    return "Add " + arg + " to /etc/kernel/cmdline, reinstall the kernel's boot entry (kernel-install), and reboot.";
  return "Add " + arg + " where your boot loader keeps the kernel command line, and reboot.";
}

// ---- PrepareLoad ----------------------------------------------------------------------------
//
// Named stages, in order; each does one job and hands on what it found in LoadWork:
// ReadBlobs (image, purgatory, options) → ReadMemoryMap (/proc/iomem) → FindPageSize
// (VMCOREINFO) → BuildHeader (the elfcorehdr) → ReadCrashDtb → CheckBlockSink → SizeCrashDtb →
// FindPlaces → MakeDumpFile (--sink sd-file) → BuildSegments → CheckSegments.

namespace {

/// What PrepareLoad's stages hand on to each other.
struct LoadWork {
  LoadWork(const LoadSettings& settings, Kernel& k, std::vector<std::string>* n) : s(settings), kernel(k), notes(n) {}

  const LoadSettings& s;
  Kernel& kernel;
  std::vector<std::string>* notes;
  LoadPlan plan;

  void Note(std::string text) { notes->push_back(std::move(text)); }

  ImageFile image;
  PurgatoryFile purgatory;
  bool sd_file = false;                 ///< --sink sd-file: the dump file is made once placed.
  std::optional<uint64_t> file_size;    ///< --file-size, parsed.
  std::optional<proc::Iomem> iomem;
  std::vector<PhysRange> ram;
  std::string vmcoreinfo_text;
  std::vector<PhysRange> cpu_notes;
  std::optional<PhysRange> vmcoreinfo_note;
  elfcorehdr::Header header;
  DumpSize dump_size;
  std::vector<uint8_t> dtb_in;          ///< The DTB as read.
  CrashDtbEdits edits;
  size_t sized_dtb_bytes = 0;           ///< The crash DTB with placeholder addresses.
  std::string controller_text;          ///< The dump file's SD host controller, for the summary.
};

Expected<void> ReadBlobs(LoadWork& w) {
  const LoadSettings& s = w.s;
  auto arch = ResolveArch(s, w.kernel);
  if (!arch.ok()) return arch.failure();
  w.plan.arch = *arch;
  w.plan.image_path = s.choices.image.value_or(DefaultBlob("salvage", ".img", w.plan.arch));
  w.plan.purgatory_path = s.choices.purgatory.value_or(DefaultBlob("purgatory", ".bin", w.plan.arch));
  auto image = ReadImageFile(w.plan.image_path, w.plan.arch);
  if (!image.ok()) return image.failure();
  w.image = std::move(*image);
  auto purgatory = ReadPurgatoryFile(w.plan.purgatory_path, w.plan.arch);
  if (!purgatory.ok()) return purgatory.failure();
  w.purgatory = std::move(*purgatory);
  // --sink sd-file: the image gets salvage.sink=sd@ADDR salvage.target=extents:... once
  // the file is made (MakeDumpFile); until then the other options are checked with "sd".
  w.sd_file = s.choices.sink && *s.choices.sink == kSdFileSink;
  Choices image_choices = s.choices;
  if (w.sd_file) {
    if (s.choices.target)
      return Fail("--target " + *s.choices.target + " does not go with --sink sd-file: the dump file's blocks are the "
                  "target (to dump to a partition of the card instead, use --sink sd --target mbr:N)");
    if (s.choices.confirm_whole_device.value_or(false))
      return Fail("--confirm-whole-device goes with --target disk, not with --sink sd-file (which writes only the "
                  "dump file's blocks)");
    image_choices.sink = "sd";
    image_choices.target = std::string(kDryRunTarget);  // until the file's extents are known
    auto size = ParseFileSize(s.choices.file_size.value_or("auto"));
    if (!size.ok()) return size.failure();
    w.file_size = *size;
  }
  auto options = BuildImageOptions(image_choices);
  if (!options.ok()) return options.failure();
  w.plan.options = *options;
  return {};
}

/// /proc/iomem: System RAM and the reservation(s).
Expected<void> ReadMemoryMap(LoadWork& w) {
  const std::string iomem_path = proc::RootedPath(w.s.root, "/proc/iomem");
  auto iomem_text = proc::ReadIomemText(w.s.root);
  if (!iomem_text.ok()) return iomem_text.failure();
  auto iomem = proc::ParseIomem(*iomem_text, proc::IomemAddresses::kRequired, iomem_path);
  if (!iomem.ok()) return iomem.failure();
  w.iomem = std::move(*iomem);
  w.ram = w.iomem->SystemRam();
  w.plan.reservations = w.iomem->CrashKernel();
  if (w.plan.reservations.size() > kMaxUsableRanges)
    return Fail(iomem_path + ": " + std::to_string(w.plan.reservations.size()) +
                " \"Crash kernel\" ranges; the kernel makes at most two (crashkernel= and crashkernel=,low)");
  return {};
}

/// VMCOREINFO text: kernel addresses for the elfcorehdr, and the page size under --root.
Expected<void> FindPageSize(LoadWork& w) {
  if (auto v = ReadVmcoreinfoText(w.s.root); v.ok()) {
    w.vmcoreinfo_text = v->text;
    w.Note("VMCOREINFO text from " + v->source);
  } else if (!elfcorehdr::AddressesNeedVmcoreinfo(w.plan.arch.e_machine)) {
    // Debian's armmp kernels have no /proc/kcore (CONFIG_PROC_KCORE is off), and nothing
    // is lost: not a warning.
    w.Note("no VMCOREINFO text (" + v.error() + "); the elfcorehdr's addresses on this architecture need none");
  } else {
    w.Note("warning: " + v.error() +
           "; the elfcorehdr gets no kernel virtual addresses (crash and makedumpfile still find them in VMCOREINFO)");
  }
  if (IsRooted(w.s.root)) {
    w.plan.page_size = VmcoreinfoDecimal(w.vmcoreinfo_text, "PAGESIZE").value_or(4096);
  } else {
    w.plan.page_size = w.kernel.PageSize();
  }
  if (w.plan.page_size < 4096 || (w.plan.page_size & (w.plan.page_size - 1)) != 0)
    return Fail("page size " + std::to_string(w.plan.page_size) + " is not a power of two of at least 4096");
  return {};
}

/// The elfcorehdr (and, for --sink sd-file, the size of the dump it describes).
Expected<void> BuildHeader(LoadWork& w) {
  const std::string_view root = w.s.root;
  const uint16_t machine = w.plan.arch.e_machine;
  auto crash_notes = proc::ReadCrashNotes(root, machine);
  if (!crash_notes.ok()) return crash_notes.failure();
  for (const proc::CpuCrashNote& n : crash_notes->cpus) w.cpu_notes.push_back(n.note);
  if (!crash_notes->missing.empty())
    w.Note("warning: " + std::to_string(crash_notes->missing.size()) +
           " possible CPU(s) have no crash_notes (not present)");
  if (Exists(proc::RootedPath(root, "/sys/kernel/vmcoreinfo"))) {
    auto v = proc::ReadVmcoreinfo(root);
    if (!v.ok()) return v.failure();
    w.vmcoreinfo_note = *v;
  } else {
    w.Note("warning: no /sys/kernel/vmcoreinfo (a kernel without CONFIG_VMCORE_INFO): the dump will have no VMCOREINFO note");
  }
  std::optional<uint64_t> kallsyms_stext;
  if (elfcorehdr::PageOffsetFromStext(machine) && w.vmcoreinfo_text.find("SYMBOL(_stext)=") == std::string::npos) {
    // Debian's armmp kernels have no /proc/kcore: _stext from /proc/kallsyms, as kexec-tools.
    if (auto stext = proc::ReadKallsymsAddress(root, "_stext"); stext.ok()) {
      kallsyms_stext = *stext;
    } else {
      w.Note("warning: " + stext.error() +
             "; the elfcorehdr's virtual addresses assume PAGE_OFFSET 0xc0000000 (VMSPLIT_3G), as kexec-tools does then");
    }
  }
  const elfcorehdr::Addressing addressing =
      elfcorehdr::AddressingFromVmcoreinfo(w.vmcoreinfo_text, machine, w.ram, kallsyms_stext);
  if (!addressing.basis.empty()) w.Note("kernel addresses: " + addressing.basis);
  elfcorehdr::Input in;
  in.machine = machine;
  in.elf_class = w.s.elf_class.value_or(elfcorehdr::DefaultElfClass(machine, w.ram));
  in.cpu_notes = w.cpu_notes;
  in.vmcoreinfo = w.vmcoreinfo_note;
  in.system_ram = w.ram;
  in.reserved = w.plan.reservations;
  in.linear_map = addressing.linear_map;
  if (elfcorehdr::HasKernelTextSegment(machine) && addressing.kernel_voffset && w.iomem->KernelImage()) {
    const PhysRange text = *w.iomem->KernelImage();
    in.kernel_text = elfcorehdr::KernelText{text, text.base + *addressing.kernel_voffset};
  }
  auto header = elfcorehdr::Build(in);
  if (!header.ok()) return header.failure();
  w.header = std::move(*header);
  if (w.sd_file) {
    DumpSizeInput din;
    din.ram = w.header.ram_loads;
    for (const PhysRange& n : w.cpu_notes) din.note_bytes.push_back(n.size);
    if (w.vmcoreinfo_note) din.note_bytes.push_back(w.vmcoreinfo_note->size);
    din.segment_count = w.header.load_count;
    w.dump_size = DumpFileSize(din);
    w.Note("the dump of " + std::to_string(w.dump_size.pages) + " pages (" +
           MibText(w.dump_size.pages * kDumpPageSize) + " of RAM) needs at most " +
           MibText(w.dump_size.file_bytes) + " (every page uncompressed, " +
           std::to_string(w.dump_size.stream_bytes) + " stream bytes, and the dump area's header and trailer blocks)");
  }
  w.plan.elfcorehdr_text = std::string(in.elf_class == elfcorehdr::ElfClass::k64 ? "ELF64" : "ELF32") + ", " +
                           std::to_string(w.header.note_count) + " PT_NOTE (" + std::to_string(w.cpu_notes.size()) +
                           " CPUs" + (w.vmcoreinfo_note ? " + VMCOREINFO" : "") + "), " +
                           std::to_string(w.header.load_count) + " PT_LOAD" +
                           (in.kernel_text ? " (kernel text + RAM)" : " (RAM)");
  return {};
}

Expected<void> ReadCrashDtb(LoadWork& w) {
  w.plan.dtb_path = w.s.choices.dtb.value_or(proc::RootedPath(w.s.root, "/sys/firmware/fdt"));
  std::string message;
  auto dtb_in = ReadDtbFile(w.plan.dtb_path, &message);
  if (!dtb_in.ok()) {
    if (!w.s.choices.dtb && dtb_in.status().error() == Error::kNotFound)
      return Fail(message + ": this kernel was not booted with a device tree (ACPI?): give salvage one with --dtb FILE");
    return Fail(message);
  }
  w.dtb_in = std::move(*dtb_in);
  return {};
}

/// A block sink's disk, as the image will find it, before anything is armed (the dump
/// file's card is checked by MakeDumpFile instead).
Expected<void> CheckBlockSink(LoadWork& w) {
  if (w.plan.options.uart_sink || w.sd_file) return {};
  const std::string_view root = w.s.root;
  const Options o = ParseOptions("", w.plan.options.words);
  auto disk = FindSinkDisk(root, o, w.dtb_in);
  if (!disk.ok()) return disk.failure();
  BlockTargetCheck check;
  check.disk = *disk;
  check.target_text = std::string(o.target);
  auto spec = blockdump::ParseTarget(o.target);
  if (!spec.ok()) return Fail("salvage.target=" + check.target_text + ": " + spec.status().what() + " (a salvage bug)");
  check.target = *spec;
  auto mountinfo = proc::ReadTextFile(proc::RootedPath(root, "/proc/self/mountinfo"));
  if (!mountinfo.ok()) return mountinfo.failure();
  check.mountinfo = *mountinfo;
  auto swaps = proc::ReadTextFile(proc::RootedPath(root, "/proc/swaps"));
  check.swaps = swaps.ok() ? *swaps : "";  // no /proc/swaps: a kernel without swap
  check.read = DeviceFileReader(root, disk->name);
  auto checked = CheckBlockTarget(check);
  if (!checked.ok()) {
    // An unprivileged dry run cannot read the device: say what a real load will check.
    const bool unreadable = checked.error().starts_with("cannot check /dev/");
    if (!(w.s.dry_run && unreadable)) return checked.failure();
    w.Note("warning: " + checked.error() + "; a real load (as root) checks it and refuses a disk that holds data");
  } else {
    w.Note("disk: " + *checked);
    w.plan.options.sink_text += ": /dev/" + disk->name;
  }
  return {};
}

/// The crash DTB, sized first with placeholder addresses: its properties' sizes depend
/// only on the root's cells, so the real edit (BuildSegments) has the same size.
Expected<void> SizeCrashDtb(LoadWork& w) {
  CrashDtbEdits& edits = w.edits;
  edits.elfcorehdr = PhysRange{w.plan.page_size, w.header.bytes.size()};
  edits.usable_memory = w.plan.reservations.empty()
                            ? std::vector<PhysRange>{PhysRange{w.plan.page_size, w.plan.page_size}}
                            : w.plan.reservations;
  edits.salvage_options = w.plan.options.words;
  // The dump file's words are known only once it is made, after the placement: size the
  // DTB for the longest they can be (an address, and 64 extents of 20-digit numbers).
  if (w.sd_file) edits.salvage_options += std::string(24 + 16 + 64 * 42, ' ');
  edits.bootargs_append = w.plan.options.append;
  edits.replace_bootargs = true;
  std::string message;
  auto sized = EditCrashDtb(w.dtb_in, edits, &message);
  if (!sized.ok()) return Fail(w.plan.dtb_path + ": " + message);
  w.sized_dtb_bytes = sized->size();
  return {};
}

/// The segments' places in the reservation; when they do not fit, what to change.
Expected<void> FindPlaces(LoadWork& w) {
  const std::string_view root = w.s.root;
  const uint64_t page_size = w.plan.page_size;
  PlacementInput pin;
  pin.reservations = w.plan.reservations;
  pin.page_size = page_size;
  pin.image_memsz = ImageMemsz(w.image, page_size);
  pin.purgatory_memsz = PurgatoryMemsz(w.purgatory, page_size);
  pin.dtb_bytes = w.sized_dtb_bytes;
  pin.elfcorehdr_bytes = w.header.bytes.size();
  const uint64_t needed = NeededBytes(pin);
  const std::string breakdown = "salvage needs " + Kib(needed) + " (" + std::to_string(needed) +
                                " bytes): image " + Kib(pin.image_memsz) + ", purgatory " +
                                Kib(pin.purgatory_memsz) + ", DTB " + Kib(AlignUp(pin.dtb_bytes, page_size)) +
                                ", elfcorehdr " + Kib(elfcorehdr::SegmentSize(pin.elfcorehdr_bytes, page_size)) +
                                " and 2 pages the kernel takes (kexec control code, vmcoreinfo copy)";
  auto placement = PlaceSegments(pin);
  if (!placement.ok()) {
    std::string msg = placement.error() + ".\n" + CommandLineHint(root, proc::CrashkernelArgument(needed)) + "\n(" +
                      breakdown + ")";
    if (w.plan.reservations.empty()) {
      auto cmdline = proc::ReadCmdline(root);
      if (cmdline.ok()) {
        auto req = proc::ParseCrashkernelCmdline(*cmdline, w.iomem->SystemRamBytes());
        if (req.ok() && req->present)
          msg += "\nThe kernel command line has " + req->parameter +
                 " but the kernel reserved nothing: `dmesg | grep -i crash` says why (often: no free memory where it "
                 "was asked for)" + (req->note.empty() ? "" : "; " + req->note);
      }
    }
    return Fail(msg);
  }
  w.plan.placement = *placement;
  w.Note(breakdown);
  return {};
}

/// --sink sd-file: the dump file, now that nothing else can refuse the load; the image's
/// options then name its blocks.
Expected<void> MakeDumpFile(LoadWork& w) {
  if (!w.sd_file) return {};
  const LoadSettings& s = w.s;
  DumpFileRequest rq;
  rq.path = s.choices.file.value_or(std::string(kDefaultDumpFile));
  rq.root = s.root;
  rq.needed = w.dump_size.file_bytes;
  rq.size = w.file_size;
  rq.dry_run = s.dry_run;
  rq.check_card = [&w](const SdCardDevice& card) -> Expected<void> {
    // The image looks for the controller in this DTB as salvage.sink=sd@ADDR says
    // (runtime/devices sd-binding.h): it must be there, enabled, of a kind it drives.
    auto tree = dtb::Dtb::Open(w.dtb_in.data(), w.dtb_in.size());
    if (!tree.ok()) return Fail(w.plan.dtb_path + ": not a device tree salvage can read");
    std::array<devices::SdChoice, devices::kMaxSdControllers> found;
    auto n = devices::FindSdControllers(*tree, card.controller_address, found);
    if (!n.ok() || *n == 0)
      return Fail("the SD card (/dev/" + card.disk + ") is on the host controller " + card.controller + ", but " +
                  w.plan.dtb_path + " has no enabled " +
                  (card.controller_address ? "SD host controller at " + Hex(*card.controller_address) + " "
                                           : std::string("SD host controller ")) +
                  "that salvage drives (brcm,bcm2835-sdhci, brcm,bcm2711-emmc2, brcm,bcm2835-sdhost): the image "
                  "would not find the card");
    w.controller_text = std::string(found[0].name) + " at " + Hex(found[0].base);
    if (!card.controller_address) w.controller_text = "the first SD host controller whose card answers";
    return {};
  };
  auto df = PrepareDumpFile(rq, w.kernel.Files(), w.notes);
  if (!df.ok()) return df.failure();
  Choices c = s.choices;
  c.sink = df->sink;
  c.target = df->target;
  auto o = BuildImageOptions(c);
  if (!o.ok()) return Fail("the dump file's options: " + o.error() + " (a salvage bug)");
  w.plan.options = *o;
  w.plan.options.sink_text =
      "the dump file " + df->path + " on the SD card (" + df->device + ", " + w.controller_text + ")";
  w.plan.dump_file = std::move(*df);
  return {};
}

/// The real DTB, then the console it names, then the image and the purgatory: the
/// segments in address order, the entry and the flags.
Expected<void> BuildSegments(LoadWork& w) {
  LoadPlan& plan = w.plan;
  const Placement& pl = plan.placement;
  CrashDtbEdits& edits = w.edits;
  edits.salvage_options = plan.options.words;
  edits.elfcorehdr = pl.elfcorehdr_range;
  edits.usable_memory.clear();
  edits.usable_memory.push_back(pl.reservation);  // crashk_res first, as kexec-tools writes it
  for (const PhysRange& r : plan.reservations)
    if (!(r == pl.reservation)) edits.usable_memory.push_back(r);
  std::string message;
  auto dtb = EditCrashDtb(w.dtb_in, edits, &message);
  if (!dtb.ok()) return Fail(plan.dtb_path + ": " + message);
  if (AlignUp(dtb->size(), plan.page_size) > pl.dtb.memsz)
    return Fail("the crash DTB grew from " + std::to_string(w.sized_dtb_bytes) + " to " + std::to_string(dtb->size()) +
                " bytes between sizing and writing (a salvage bug)");
  plan.console = ChooseConsoleIn(*dtb, &plan.console_text);

  std::vector<uint8_t> image_bytes = std::move(w.image.bytes);
  // The image's early console (used only without a usable DTB) knows PL011 and 16550.
  ConsoleParams early = plan.console;
  if (early.kind == 3) early = ConsoleParams{};
  PatchBootParams(image_bytes, early, plan.options.reset_on_stop ? kBootFlagResetOnStop : 0);
  const CheckedSegment checked[] = {
      {pl.image.addr, image_bytes},
      {pl.dtb.addr, *dtb},
      {pl.elfcorehdr.addr, w.header.bytes},
  };
  std::vector<uint8_t> purgatory_bytes = std::move(w.purgatory.bytes);
  if (!FillPurgatoryParams(purgatory_bytes, pl.image.addr, pl.dtb.addr, plan.console, checked))
    return Fail("too many segments for the purgatory (a salvage bug)");

  auto add = [&](const char* name, std::vector<uint8_t> bytes, const Place& place) {
    PlannedSegment seg;
    seg.name = name;
    seg.sha256 = Sha256::Hash(bytes.data(), bytes.size());
    seg.bytes = std::move(bytes);
    seg.addr = place.addr;
    seg.memsz = place.memsz;
    plan.segments.push_back(std::move(seg));
  };
  add("image", std::move(image_bytes), pl.image);
  add("purgatory", std::move(purgatory_bytes), pl.purgatory);
  add("dtb", std::move(*dtb), pl.dtb);
  add("elfcorehdr", std::move(w.header.bytes), pl.elfcorehdr);
  plan.entry = pl.purgatory.addr;
  plan.flags = kKexecOnCrash | plan.arch.kexec_arch;
  return {};
}

/// Our own invariants, as the kernel will check them (kernel/kexec_core.c
/// sanity_check_segment_list): page aligned, bufsz <= memsz, inside the reservation, no
/// overlaps, entry inside.
Expected<void> CheckSegments(LoadWork& w) {
  const LoadPlan& plan = w.plan;
  for (size_t i = 0; i < plan.segments.size(); ++i) {
    const PlannedSegment& a = plan.segments[i];
    const bool ok = a.addr % plan.page_size == 0 && a.memsz % plan.page_size == 0 && a.bytes.size() <= a.memsz &&
                    plan.placement.reservation.Contains(PhysRange{a.addr, a.memsz}) &&
                    (i == 0 || plan.segments[i - 1].addr + plan.segments[i - 1].memsz <= a.addr);
    if (!ok) return Fail("segment " + a.name + " is misplaced (a salvage bug):\n" + SegmentTable(plan));
  }
  return {};
}

}  // namespace

Expected<LoadPlan> PrepareLoad(const LoadSettings& s, Kernel& kernel, std::vector<std::string>* notes) {
  LoadWork w{s, kernel, notes};
  using Stage = Expected<void> (*)(LoadWork&);
  for (const Stage stage : {ReadBlobs, ReadMemoryMap, FindPageSize, BuildHeader, ReadCrashDtb, CheckBlockSink,
                            SizeCrashDtb, FindPlaces, MakeDumpFile, BuildSegments, CheckSegments}) {
    if (auto done = stage(w); !done.ok()) return done.failure();
  }
  return std::move(w.plan);
}

// ---- dry run --------------------------------------------------------------------------------

Expected<void> WriteSegments(const LoadPlan& plan, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(dir + ": cannot create it: " + ec.message());
  std::string table;
  for (size_t i = 0; i < plan.segments.size(); ++i) {
    const PlannedSegment& s = plan.segments[i];
    char name[96];
    std::snprintf(name, sizeof(name), "%02zu-%s-0x%llx.bin", i, s.name.c_str(), static_cast<unsigned long long>(s.addr));
    const std::string path = dir + "/" + name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(s.bytes.data()), static_cast<std::streamsize>(s.bytes.size()));
    f.close();
    if (!f) return Fail(path + ": cannot write it");
    table += s.name + " " + Hex(s.addr) + " " + Hex(s.bytes.size()) + " " + Hex(s.memsz) + " " + HexDigest(s.sha256) + "\n";
  }
  table += "entry " + Hex(plan.entry) + "\n";
  table += "flags " + Hex(plan.flags) + "\n";
  const std::string path = dir + "/segments.txt";
  std::ofstream f(path, std::ios::trunc);
  f << table;
  f.close();
  if (!f) return Fail(path + ": cannot write it");
  return {};
}

// ---- kexec_load errors ----------------------------------------------------------------------

std::string KexecErrorMessage(int err, const LoadPlan& plan) {
  const std::string call = "kexec_load failed (" + std::string(std::strerror(err)) + "): ";
  switch (err) {
    case EPERM:
      return call +
             "the kernel refused to load a crash kernel. It needs root with CAP_SYS_BOOT in the initial user "
             "namespace (not in a container), and is refused under kernel lockdown or kernel.kexec_load_disabled=1";
    case EBUSY:
      return call + "another crash kernel load is in progress, or a kexec is under way: wait and run salvage load again";
    case EADDRNOTAVAIL:
      return call + "the kernel says a segment or the entry is outside its crash reservation (crashk_res " +
             RangeText(plan.placement.reservation) + "?). This is a salvage bug; please report it with this placement:\n" +
             SegmentTable(plan) + "  entry " + Hex(plan.entry);
    case EINVAL:
      return call + "the kernel refused the segment list or the flags " + Hex(plan.flags) + ". Check that --arch (" + std::string(plan.arch.name) +
             ") is the running kernel's architecture; otherwise this is a salvage bug; please report it with "
             "this placement:\n" + SegmentTable(plan) + "  entry " + Hex(plan.entry);
    case ENOMEM:
      return call + "the kernel could not find memory for the crash kernel: either kernel memory is short, or no "
             "two pages of the reservation are left for its control page and vmcoreinfo copy (" + RangeText(plan.placement.reservation) +
             "; a larger crashkernel= helps)";
    case ENOSYS:
      return call + "this kernel was built without kexec_load (CONFIG_KEXEC); salvage cannot load there. Debian's "
             "kernels have it; a custom kernel needs CONFIG_KEXEC=y and CONFIG_CRASH_DUMP=y";
    case EOVERFLOW:
      return call + "an address does not fit this process's unsigned long (a 32-bit salvage with a reservation "
             "above 4 GiB): use the 64-bit salvage command";
    default:
      return call + "see kexec_load(2)";
  }
}

// ---- the commands ---------------------------------------------------------------------------
//
// RunLoad's stages: KexecBlockers (what refuses kexec_load whatever is loaded) →
// PrepareLoad → StateFor (the state file's record) → Arm (kexec_load, the state file) or
// the dry run's segment files → PrintSummary.

namespace {

/// What refuses kexec_load whatever we load: errors for a real load, warnings for a dry run.
std::vector<std::string> KexecBlockers(std::string_view root) {
  std::vector<std::string> blockers;
  if (auto lock = proc::ReadTextFile(proc::RootedPath(root, "/sys/kernel/security/lockdown")); lock.ok()) {
    const std::string mode = LockdownMode(*lock);
    if (mode == "integrity" || mode == "confidentiality")
      blockers.push_back("the kernel is locked down (" + mode +
                         "), and lockdown refuses kexec_load: only kexec_file_load of a signed kernel is allowed, "
                         "and the salvage image is not a signed kernel. Lockdown is usually on because of UEFI "
                         "Secure Boot: to use salvage, turn Secure Boot off (or mokutil --disable-validation), and "
                         "do not put lockdown= on the kernel command line; then reboot");
  }
  if (auto disabled = proc::ReadKexecLoadDisabled(root); disabled.ok() && *disabled) {
    blockers.push_back("kexec is disabled until reboot (kernel.kexec_load_disabled=1); it cannot be turned back on. "
                       "Find what sets it (grep -r kexec_load_disabled /etc/sysctl.conf /etc/sysctl.d "
                       "/usr/lib/sysctl.d /run/sysctl.d), remove that, reboot, and run salvage load before anything "
                       "sets it again");
  }
  return blockers;
}

/// The state file's record of what is loaded.
LoadState StateFor(const LoadPlan& plan, std::string_view root) {
  LoadState state;
  state.loaded_at = static_cast<int64_t>(std::time(nullptr));
  state.boot_id = BootId(root);
  state.arch = plan.arch.name;
  state.image = plan.image_path;
  state.purgatory = plan.purgatory_path;
  state.dtb = plan.dtb_path;
  state.options = plan.options.words;
  state.append = plan.options.append;
  state.reservation = plan.placement.reservation;
  state.entry = plan.entry;
  for (const PlannedSegment& seg : plan.segments)
    state.segments.push_back({seg.name, seg.addr, seg.bytes.size(), seg.memsz, HexDigest(seg.sha256)});
  return state;
}

/// kexec_load of the plan, then the state file (a warning on `err` when it cannot be
/// written). Returns what was replaced ("" when no crash kernel was loaded before).
Expected<std::string> Arm(const LoadPlan& plan, const LoadState& state, std::string_view root, Kernel& kernel,
                          std::FILE* err) {
  std::string replaced;
  auto was_loaded = proc::ReadKexecCrashLoaded(root);
  auto before = ReadStateFile(StatePath(root));
  if (was_loaded.ok() && *was_loaded) {
    replaced = before.ok() && before->loaded_at != 0 ? "replaced the salvage loaded at " + FormatTime(before->loaded_at)
                                                     : "replaced the crash kernel that was loaded (not salvage's)";
  }
  std::vector<KexecSegment> segs;
  for (const PlannedSegment& seg : plan.segments) segs.push_back({seg.bytes.data(), seg.bytes.size(), seg.addr, seg.memsz});
  if (const int e = kernel.KexecLoad(plan.entry, segs, plan.flags); e != 0) {
    std::string msg = KexecErrorMessage(e, plan);
    // The kernel frees the old crash image before it loads the new one.
    auto now = proc::ReadKexecCrashLoaded(root);
    if (was_loaded.ok() && *was_loaded && now.ok() && !*now) {
      msg += "\nThe crash kernel that was loaded before is gone too: no crash kernel is loaded now";
      (void)RemoveStateFile(StatePath(root));
    }
    return Fail(msg);
  }
  auto w = WriteStateFile(StatePath(root), state);
  if (!w.ok()) std::fprintf(err, "salvage load: warning: salvage is loaded, but: %s\n", w.error().c_str());
  return replaced;
}

/// What was loaded (or would be) and what salvage will do after a panic.
void PrintSummary(const LoadSettings& s, const LoadPlan& p, const std::string& replaced, std::FILE* out) {
  std::fprintf(out, "salvage load: %s%s\n",
               s.dry_run ? "dry run, nothing loaded" : "loaded salvage as the crash kernel",
               replaced.empty() ? "" : (" (" + replaced + ")").c_str());
  for (const PhysRange& r : p.reservations)
    std::fprintf(out, "  reservation %s%s\n", RangeText(r).c_str(),
                 p.reservations.size() > 1 && r == p.placement.reservation ? " (segments here)" : "");
  for (const PlannedSegment& seg : p.segments) {
    std::string what;
    if (seg.name == "image") what = p.image_path;
    if (seg.name == "purgatory") what = p.purgatory_path + " (entry)";
    if (seg.name == "dtb") what = "from " + p.dtb_path;
    if (seg.name == "elfcorehdr") what = p.elfcorehdr_text;
    std::fprintf(out, "  %-11s %s  %7llu bytes in %-8s %s\n", seg.name.c_str(), Hex(seg.addr).c_str(),
                 static_cast<unsigned long long>(seg.bytes.size()), Kib(seg.memsz).c_str(), what.c_str());
  }
  if (p.dump_file) {
    const DumpFile& f = *p.dump_file;
    std::string what = MibText(f.bytes) + " on " + f.device + " (" + f.fs_name + "), ";
    if (f.extents.empty()) {
      what += std::string(f.created ? "would be created" : "would be written") + " (" + MibText(f.written) +
              " of zeros); its extents are known only then";
    } else {
      what += std::to_string(f.extents.size()) + (f.extents.size() == 1 ? " extent" : " extents");
      if (f.written != 0) what += std::string(", ") + (f.created ? "created" : MibText(f.written) + " written") + " now";
      if (f.immutable) what += ", immutable (chattr -i to delete it)";
    }
    if (f.bytes < f.needed)
      what += "; the whole dump may need " + MibText(f.needed) + ": the pages that do not fit are left out (truncated)";
    std::fprintf(out, "  dump file   %s: %s\n", f.path.c_str(), what.c_str());
  }
  std::fprintf(out, "  options     %s\n", p.options.words.c_str());
  if (!p.options.append.empty()) std::fprintf(out, "  bootargs    %s\n", p.options.append.c_str());
  std::fprintf(out, "  console     %s\n", p.console_text.c_str());
  if (s.dry_run && !s.out.empty()) std::fprintf(out, "  segments written to %s (segments.txt lists them)\n", s.out.c_str());
  std::string after = "salvage " + std::string(s.dry_run ? "would be" : "is") + " ready: after a panic it will ";
  if (p.options.uart_sink) {
    after += "stream the crashed kernel's memory over " + p.options.sink_text;
    if (p.console.kind != 0) after += " (" + p.console_text.substr(0, p.console_text.find(" (")) + ")";
    after += " for salvage recv";
  } else if (p.dump_file) {
    after += "write the crashed kernel's memory into " + p.options.sink_text +
             "; after the reboot, salvage extract " + p.dump_file->path + " -o vmcore reads it";
  } else {
    after += "write the crashed kernel's memory to " + p.options.sink_text + " for salvage extract";
  }
  after += ", then " + p.options.after_text + ".";
  std::fprintf(out, "%s\n", after.c_str());
}

}  // namespace

int RunLoad(const LoadSettings& s, Kernel& kernel, std::FILE* out, std::FILE* err) {
  auto fail = [&](const std::string& msg) {
    std::fprintf(err, "salvage load: error: %s\n", msg.c_str());
    return 1;
  };
  if (s.choices.enabled && !*s.choices.enabled) {
    std::fprintf(out, "salvage load: USE_SALVAGE=0 in the configuration file: not loading\n");
    return 0;
  }
  if (!s.out.empty() && !s.dry_run) {
    std::fprintf(err, "salvage load: --out writes the segments of a --dry-run; add --dry-run\n");
    return 2;
  }
  const std::string_view root = s.root;
  if (!s.dry_run && !kernel.IsRoot())
    return fail("salvage load must run as root: kexec_load needs CAP_SYS_BOOT, and /proc/iomem's addresses, the "
                "crash notes and /proc/kcore are root's. Try sudo salvage load, or salvage load --dry-run to see "
                "what it would do");
  const std::vector<std::string> blockers = KexecBlockers(root);
  if (!s.dry_run && !blockers.empty()) return fail(blockers.front());

  std::vector<std::string> notes;
  auto plan = PrepareLoad(s, kernel, &notes);
  for (const std::string& n : notes)
    if (s.verbose || n.starts_with("warning: ")) std::fprintf(err, "salvage load: %s\n", n.c_str());
  if (!plan.ok()) return fail(plan.error());
  const LoadState state = StateFor(*plan, root);

  std::string replaced;
  if (s.dry_run) {
    for (const std::string& b : blockers) std::fprintf(err, "salvage load: warning: a real load would fail: %s\n", b.c_str());
    if (!s.out.empty()) {
      auto w = WriteSegments(*plan, s.out);
      if (!w.ok()) return fail(w.error());
    }
  } else {
    auto armed = Arm(*plan, state, root, kernel, err);
    if (!armed.ok()) return fail(armed.error());
    replaced = *armed;
  }
  PrintSummary(s, *plan, replaced, out);
  return 0;
}

int RunUnload(std::string_view root, bool dry_run, Kernel& kernel, std::FILE* out, std::FILE* err) {
  auto fail = [&](const std::string& msg) {
    std::fprintf(err, "salvage unload: error: %s\n", msg.c_str());
    return 1;
  };
  if (!dry_run && !kernel.IsRoot())
    return fail("salvage unload must run as root (kexec_load needs CAP_SYS_BOOT): try sudo salvage unload");
  auto loaded = proc::ReadKexecCrashLoaded(root);
  if (!loaded.ok()) std::fprintf(err, "salvage unload: warning: %s\n", loaded.error().c_str());
  const std::string state_path = StatePath(root);
  auto state = ReadStateFile(state_path);
  if (!state.ok()) std::fprintf(err, "salvage unload: warning: %s\n", state.error().c_str());
  const bool ours = state.ok() && state->loaded_at != 0;
  const bool is_loaded = loaded.ok() && *loaded;
  std::string what;
  if (is_loaded && ours) what = "salvage (loaded at " + FormatTime(state->loaded_at) + ")";
  else if (is_loaded) what = "a crash kernel that salvage did not load";
  if (dry_run) {
    std::fprintf(out, "salvage unload: dry run: would unload %s\n",
                 what.empty() ? "nothing (no crash kernel is loaded)" : what.c_str());
    return 0;
  }
  // KEXEC_ARCH_DEFAULT: unloading works whatever the architecture.
  if (const int e = kernel.KexecLoad(0, {}, kKexecOnCrash | kKexecArchDefault); e != 0) {
    std::string msg = "kexec_load (unload) failed (" + std::string(std::strerror(e)) + ")";
    if (e == EPERM) msg += ": refused by the kernel (lockdown, kexec_load_disabled, or not CAP_SYS_BOOT)";
    else if (e == EBUSY) msg += ": a crash kernel load is in progress; try again";
    else if (e == ENOSYS) msg += ": this kernel has no kexec_load (CONFIG_KEXEC), so nothing can be loaded either";
    return fail(msg);
  }
  auto removed = RemoveStateFile(state_path);
  if (!removed.ok()) std::fprintf(err, "salvage unload: warning: %s\n", removed.error().c_str());
  if (!what.empty()) {
    std::fprintf(out, "salvage unload: unloaded %s; no crash kernel is loaded now\n", what.c_str());
  } else {
    std::fprintf(out, "salvage unload: no crash kernel was loaded%s\n",
                 removed.ok() && *removed ? " (removed salvage's stale state file)" : "");
  }
  return 0;
}

int RunStatus(std::string_view root, std::FILE* out, std::FILE* err) {
  auto loaded = proc::ReadKexecCrashLoaded(root);
  if (!loaded.ok()) {
    std::fprintf(err, "salvage status: error: %s\n", loaded.error().c_str());
    return 1;
  }
  const std::string state_path = StatePath(root);
  auto state = ReadStateFile(state_path);
  if (!state.ok()) std::fprintf(err, "salvage status: warning: %s\n", state.error().c_str());
  bool ours = state.ok() && state->loaded_at != 0;
  const std::string boot_id = BootId(root);
  if (ours && !state->boot_id.empty() && !boot_id.empty() && state->boot_id != boot_id) {
    std::fprintf(err, "salvage status: warning: %s is from an earlier boot; ignoring it\n", state_path.c_str());
    ours = false;
  }
  int rc = kExitNotLoaded;
  if (*loaded && ours) {
    std::fprintf(out, "loaded: salvage (options %s) since %s\n", state->options.c_str(),
                 FormatTime(state->loaded_at).c_str());
    std::fprintf(out, "image: %s\n", state->image.c_str());
    if (!state->append.empty()) std::fprintf(out, "bootargs: %s\n", state->append.c_str());
    for (const StateSegment& seg : state->segments)
      std::fprintf(out, "segment: %-10s %s  %llu bytes\n", seg.name.c_str(), Hex(seg.addr).c_str(),
                   static_cast<unsigned long long>(seg.bufsz));
    rc = 0;
  } else if (*loaded) {
    std::fprintf(out, "loaded: another crash kernel (not salvage)\n");
  } else {
    std::fprintf(out, "not loaded\n");
    if (ours)
      std::fprintf(out, "note: %s says salvage was loaded at %s; something unloaded it since\n", state_path.c_str(),
                   FormatTime(state->loaded_at).c_str());
  }

  // The reservation, which non-root readers see without addresses.
  auto size = proc::ReadKexecCrashSize(root);
  auto text = proc::ReadIomemText(root);
  const std::string iomem_path = proc::RootedPath(root, "/proc/iomem");
  auto iomem = text.ok() ? proc::ParseIomem(*text, proc::IomemAddresses::kMayBeHidden, iomem_path)
                         : Expected<proc::Iomem>(text.failure());
  if (!iomem.ok()) {
    std::fprintf(err, "salvage status: warning: %s\n", iomem.error().c_str());
  } else if (iomem->Find("Crash kernel").empty()) {
    std::fprintf(out, "reservation: none (add crashkernel= to the kernel command line; salvage load says how much)\n");
  } else if (iomem->addresses_hidden()) {
    std::fprintf(out, "reservation: %s (addresses hidden in %s: run as root to see them)\n",
                 size.ok() ? SizeText(*size).c_str() : "size unknown", iomem_path.c_str());
  } else {
    for (const PhysRange& r : iomem->CrashKernel()) std::fprintf(out, "reservation: %s\n", RangeText(r).c_str());
  }
  if (!size.ok()) std::fprintf(err, "salvage status: warning: %s\n", size.error().c_str());
  return rc;
}

}  // namespace salvage::loader::load
