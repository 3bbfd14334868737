// SalvageMain: what runs after boot/<arch>/start.S has set a stack, cleared .bss and
// relocated the image: discover (DTB), map (MMU and caches), report (the boot report on
// the console), capture (runtime/capture: plan, encode, emit), then stop
// (docs/architecture.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <salvage/arch/cpu.h>
#include <salvage/arch/fault.h>
#include <salvage/arch/mmu.h>
#include <salvage/arch/reset.h>
#include <salvage/base/byte-order.h>
#include <salvage/base/phys.h>
#include <salvage/base/status.h>
#include <salvage/boot/boot-params.h>
#include <salvage/console/console.h>
#include <salvage/devices/uart-binding.h>
#include <salvage/dtb/dtb.h>

#include <libfdt.h>
#include <salvage/arch/timer.h>

#include "capture/capture.h"
#include "options.h"
#include "stop.h"

extern "C" char __image_start[];
extern "C" char _end[];

namespace salvage {
namespace {

constexpr uint32_t kFdtMagic = 0xd00dfeed;
// Larger than any real DTB; a bigger totalsize means the pointer is not a DTB.
constexpr uint32_t kMaxDtbSize = 8u << 20;
constexpr size_t kMaxMemoryRanges = 32;

constinit bool g_reset_on_stop = false;

// What salvage.after= (or, before the options are read, the boot parameter block) asks:
// see stop::SetAction.
[[noreturn]] void Stop() {
  console::Flush();
  stop::Stop();
}

[[noreturn]] void Fail(const char* what) {
  console::Printf("salvage: error: %s\n", what);
  console::Write("salvage: stopping; no dump was written\n");
  Stop();
}

// The early console from the boot parameter block, used until the DTB names one.
void SelectEarlyConsole() {
  const boot::BootParams& p = salvage_boot_params;
  if (p.version != boot::kBootParamsVersion || p.earlycon_base == 0) return;
  uart::Config cfg{p.earlycon_base, 0, p.earlycon_reg_shift, p.earlycon_reg_io_width};
  switch (static_cast<boot::EarlyConsoleKind>(p.earlycon_kind)) {
    case boot::EarlyConsoleKind::kPl011: (void)console::Select(devices::UartDriverOf<uart::Pl011>, cfg); break;
    case boot::EarlyConsoleKind::kNs16550: (void)console::Select(devices::UartDriverOf<uart::Ns16550>, cfg); break;
    case boot::EarlyConsoleKind::kNone: break;
  }
}

// Before the MMU is on and before libfdt: only aligned 32-bit reads of the header.
// Returns the DTB's total size, or nullopt after printing why it is not a DTB.
std::optional<uint32_t> ProbeDtb(uintptr_t dtb) {
  if (dtb == 0) {
    console::Write("salvage: error: no DTB: the boot loader passed a null DTB pointer\n"
                   "salvage:   salvage needs the DTB for memory, console and the elfcorehdr;\n"
                   "salvage:   load it with `salvage load`, `kexec -p --dtb=...`, or a loader that passes one\n");
    return std::nullopt;
  }
  if (dtb % 8 != 0) {
    console::Printf("salvage: error: DTB pointer 0x%lx is not 8-byte aligned (a DTB must be)\n",
                    static_cast<unsigned long>(dtb));
    return std::nullopt;
  }
  const volatile uint32_t* header = reinterpret_cast<const volatile uint32_t*>(dtb);
  const uint32_t magic = FromBe32(header[0]);
  const uint32_t size = FromBe32(header[1]);
  if (magic != kFdtMagic) {
    console::Printf("salvage: error: no DTB at 0x%lx: magic is 0x%08x, a DTB starts with 0xd00dfeed\n",
                    static_cast<unsigned long>(dtb), static_cast<unsigned>(magic));
    return std::nullopt;
  }
  if (size < 40 || size > kMaxDtbSize) {
    console::Printf("salvage: error: DTB at 0x%lx claims a total size of %u bytes; not a usable DTB\n",
                    static_cast<unsigned long>(dtb), static_cast<unsigned>(size));
    return std::nullopt;
  }
  return size;
}

// "salvage: warning: dtb: ... (at /memory@0, reg)": names the node and property.
void WarnDtb(const dtb::Dtb& tree, const Status& s) {
  char buf[160];
  tree.DescribeError(s, buf, sizeof(buf));
  console::Printf("salvage: warning: %s\n", buf);
}

void PrintRange(const char* what, const PhysRange& r) {
  console::Printf("salvage: %s 0x%llx size 0x%llx\n", what, static_cast<unsigned long long>(r.base),
                  static_cast<unsigned long long>(r.size));
}

}  // namespace
}  // namespace salvage

/// Entered from boot/<arch>/start.S: stack set, .bss clear, image relocated, vectors
/// installed, MMU off. `dtb` is the physical DTB address the boot loader passed,
/// `load_address` where the image runs, `boot_arg` the machine type (arm) or hart id
/// (riscv64).
extern "C" [[noreturn]] void SalvageMain(uintptr_t dtb, uintptr_t load_address, uintptr_t boot_arg) {
  using namespace salvage;
  const uint64_t entry_ticks = arch::Ticks();
  arch::EarlyInit();
  g_reset_on_stop = (salvage_boot_params.flags & boot::kFlagResetOnStop) != 0;
  stop::SetAction(g_reset_on_stop ? AfterAction::kReboot : AfterAction::kPowerOff);
  SelectEarlyConsole();

  const std::optional<uint32_t> dtb_size = ProbeDtb(dtb);
  if (!dtb_size) {
    console::Write("salvage: stopping; no dump was written\n");
    Stop();
  }

  const PhysRange image{load_address, static_cast<uint64_t>(_end - __image_start)};
  const PhysRange dtb_range{dtb, *dtb_size};
  if (Status s = arch::MmuBootstrap(image, dtb_range); !s.ok()) {
    console::Printf("salvage: warning: %s; continuing with caches off\n", s.what());
  }

  Result<dtb::Dtb> opened = dtb::Dtb::Open(reinterpret_cast<const void*>(dtb), *dtb_size);
  if (!opened.ok()) Fail(opened.status().what());
  dtb::Dtb& tree = opened.value();

  const devices::ConsoleChoice choice = devices::ChooseConsole(tree);
  if (choice.driver != uart::kNoDriver) {
    if (Status s = console::Select(choice.driver, choice.config); !s.ok()) {
      console::Printf("salvage: warning: console init: %s\n", s.what());
    }
  }

  if (Result<std::string_view> method = tree.PsciMethod(); method.ok()) {
    if (*method == "hvc") arch::SetFirmwareCall(arch::FirmwareCall::kPsciHvc);
    if (*method == "smc") arch::SetFirmwareCall(arch::FirmwareCall::kPsciSmc);
  }
  stop::SelectResetDevice(tree);

  // RISC-V's counter frequency is only in the DTB.
  if (int cpus = fdt_path_offset(tree.blob(), "/cpus"); cpus >= 0) {
    if (Result<uint32_t> hz = tree.GetU32(cpus, "timebase-frequency"); hz.ok()) arch::SetTicksPerSecond(*hz);
  }

  console::Printf("\nsalvage %s (%s): kdump capture runtime\n", SALVAGE_VERSION, SALVAGE_BUILD);
  console::Printf("salvage: arch %s %s", arch::Name(), arch::Mode());
  if (std::string_view(arch::Name()) == "riscv64") console::Printf(" hart %lu", static_cast<unsigned long>(boot_arg));
  console::Write("\n");
  console::Printf("salvage: load-address 0x%lx\n", static_cast<unsigned long>(load_address));
  console::Printf("salvage: image-size 0x%lx\n", static_cast<unsigned long>(image.size));
  console::Printf("salvage: dtb 0x%lx size 0x%x\n", static_cast<unsigned long>(dtb), static_cast<unsigned>(*dtb_size));

  PhysRange memory[kMaxMemoryRanges];
  size_t memory_count = 0;
  bool memory_overflow = false;
  Status walked = tree.ForEachMemoryRange([&](const PhysRange& r) {
    if (memory_count < kMaxMemoryRanges) {
      memory[memory_count++] = r;
    } else {
      memory_overflow = true;
    }
  });
  if (!walked.ok()) WarnDtb(tree, walked);
  if (memory_overflow) console::Printf("salvage: warning: more than %u /memory ranges; the rest are ignored\n",
                                       static_cast<unsigned>(kMaxMemoryRanges));
  if (memory_count == 0) console::Write("salvage: warning: the DTB describes no memory\n");
  for (size_t i = 0; i < memory_count; ++i) PrintRange("memory", memory[i]);

  // Read once: the report shows it, the capture uses it.
  PhysRange chosen_elfcorehdr;
  bool have_elfcorehdr = false;
  if (Result<std::optional<PhysRange>> read = tree.ChosenElfCoreHdr(); !read.ok()) {
    WarnDtb(tree, read.status());
  } else if (read->has_value()) {
    chosen_elfcorehdr = **read;
    have_elfcorehdr = true;
    PrintRange("elfcorehdr", chosen_elfcorehdr);
  } else {
    console::Write("salvage: elfcorehdr none\n");
  }
  size_t usable = 0;
  Status usable_walk = tree.ForEachUsableMemoryRange([&](const PhysRange& r) {
    PrintRange("usable-memory-range", r);
    ++usable;
  });
  if (!usable_walk.ok()) WarnDtb(tree, usable_walk);
  if (usable == 0 && usable_walk.ok()) console::Write("salvage: usable-memory-range none\n");

  if (choice.driver != uart::kNoDriver) {
    char path[128];
    tree.NodePath(choice.node, path, sizeof(path));
    console::Printf("salvage: console %s 0x%llx %s (%s)\n", console::DriverName(),
                    static_cast<unsigned long long>(choice.config.base), path, choice.how);
  } else {
    console::Printf("salvage: console none (%s)\n", choice.how);
  }

  if (Status s = arch::MmuMapRam(std::span<const PhysRange>(memory, memory_count), image, dtb_range); !s.ok()) {
    console::Printf("salvage: warning: %s\n", s.what());
  }
  console::Printf("salvage: mmu %s\n", arch::MmuDescribe());
  stop::PrintReport(tree);

  const std::string_view bootargs = tree.ChosenBootargs();
  console::Printf("salvage: bootargs \"%.*s\"\n", static_cast<int>(bootargs.size()), bootargs.data());
  console::Write("salvage: boot report end\n");

  std::string_view salvage_options;
  if (int chosen = fdt_path_offset(tree.blob(), "/chosen"); chosen >= 0) {
    if (Result<std::string_view> v = tree.GetString(chosen, "salvage,options"); v.ok()) {
      salvage_options = *v;
      console::Printf("salvage: options \"%.*s\"\n", static_cast<int>(v->size()), v->data());
    }
  }
  const Options options = ParseOptions(bootargs, salvage_options);
  // The boot parameter block's reset flag turns the default power off into a reboot.
  stop::SetAction(g_reset_on_stop && options.after == AfterAction::kPowerOff ? AfterAction::kReboot : options.after);
  for (size_t i = 0; i < options.malformed_count; ++i) {
    console::Printf("salvage: warning: cannot read \"%.*s\"; ignored\n", static_cast<int>(options.malformed[i].size()),
                    options.malformed[i].data());
  }
  for (size_t i = 0; i < options.unknown_count; ++i) {
    console::Printf("salvage: warning: unknown option \"%.*s\" ignored\n", static_cast<int>(options.unknown[i].size()),
                    options.unknown[i].data());
  }
  if (options.debug_fault) {
    console::Write("salvage: debug: faulting on purpose (salvage.debug=fault)\n");
    console::Flush();
    arch::DeliberateFault();
  }

  if (options.debug_report_only) {
    console::Write("salvage: debug: stopping after the boot report (salvage.debug=report)\n");
    Stop();
  }

  capture::CaptureInput input;
  input.tree = &tree;
  input.memory = std::span<const PhysRange>(memory, memory_count);
  input.image = image;
  input.dtb = dtb_range;
  input.options = &options;
  input.chosen_elfcorehdr = have_elfcorehdr ? &chosen_elfcorehdr : nullptr;
  input.entry_ticks = entry_ticks;
  if (Status s = capture::Capture(input); !s.ok()) {
    console::Printf("\nsalvage: error: the dump failed: %s\n", s.what());
    console::Write("salvage: stopping; the dump is incomplete\n");
    Stop();
  }
  console::Write("salvage: done; stopping\n");
  Stop();
}
