// Discover and plan: what salvage must never dump, the elfcorehdr, and the ranges and
// stream header of the dump (capture.h).
#include <salvage/arch/cpu.h>
#include <salvage/console/console.h>
#include <salvage/elfcore/elfcore.h>

#include "capture.h"
#include "old-memory.h"

namespace salvage::capture {
namespace {

constexpr size_t kMaxReserved = 16;
static_assert(kMaxReserved <= elfcore::kMaxPlanReserved);

// Large, so not on the 32 KiB stack.
constinit elfcore::CoreHeader g_header;
constinit elfcore::Plan g_plan;
constinit stream::LoadSegment g_segments[elfcore::kMaxLoads];
constinit std::span<const uint8_t> g_notes[elfcore::kMaxNotes];
constinit PhysRange g_ranges[elfcore::kMaxPlanRanges];
constinit char g_options_text[1024];  // a target of 64 extents fits
constinit CapturePlan g_capture_plan;

// Prints every problem the parser and the planner report.
struct ConsoleDiagnostics {
  void Problem(const char* what, uint64_t a, uint64_t b) {
    console::Printf("salvage: elfcorehdr: %s: 0x%llx 0x%llx\n", what, static_cast<unsigned long long>(a),
                    static_cast<unsigned long long>(b));
  }
};

// What salvage occupies or must not read: never dumped.
class Reserved {
 public:
  void Add(const PhysRange& r) {
    if (!r.Empty() && count_ < kMaxReserved) ranges_[count_++] = r;
  }
  std::span<const PhysRange> span() const { return {ranges_, count_}; }

 private:
  PhysRange ranges_[kMaxReserved];
  size_t count_ = 0;
};

// The image, the DTB, the reservation (linux,usable-memory-range, else mem=), and what
// the firmware keeps (/reserved-memory).
void CollectReserved(const CaptureInput& in, Reserved* reserved) {
  reserved->Add(in.image);
  reserved->Add(in.dtb);
  size_t usable_ranges = 0;
  Status usable = in.tree->ForEachUsableMemoryRange([&](const PhysRange& r) {
    reserved->Add(r);
    ++usable_ranges;
  });
  if (!usable.ok()) console::Printf("salvage: warning: %s\n", usable.what());
  const Options& o = *in.options;
  if (o.mem_size && o.mem_start) {
    reserved->Add(PhysRange{*o.mem_start, *o.mem_size});
  } else if (o.mem_size && usable_ranges == 0) {
    // A bare mem=SIZE (kexec-tools' 32-bit Arm form) and no linux,usable-memory-range:
    // the reservation starts where Linux's capture kernel would take its memory to
    // start, from where it was loaded: a zImage (AUTO_ZRELADDR) rounds its load address
    // down to 128 MiB, which is why Arm's crashkernel= reservation is 128 MiB aligned;
    // arm64 and RISC-V kernels sit 2 MiB aligned. Never dump the reservation.
    const uint64_t align = arch::ElfMachine() == elfcore::kEmArm ? (uint64_t{128} << 20) : (uint64_t{2} << 20);
    const PhysRange r{AlignDown(in.image.base, align), *o.mem_size};
    console::Printf("salvage: mem=0x%llx without @start and no usable-memory-range: the reservation is taken to be "
                    "0x%llx size 0x%llx (where salvage was loaded, rounded down to %llu MiB): not dumped\n",
                    static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.base),
                    static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(align >> 20));
    reserved->Add(r);
  }
  Status firmware = in.tree->ForEachFirmwareReservedRegion([&](const PhysRange& r) {
    console::Printf("salvage: /reserved-memory 0x%llx size 0x%llx: not dumped\n",
                    static_cast<unsigned long long>(r.base), static_cast<unsigned long long>(r.size));
    reserved->Add(r);
  });
  if (!firmware.ok()) {
    char buf[160];
    in.tree->DescribeError(firmware, buf, sizeof(buf));
    console::Printf("salvage: warning: %s\n", buf);
  }
}

// The elfcorehdr's bytes, or an empty span after saying why there are none.
std::span<const uint8_t> FindCoreHeader(const CaptureInput& in, PhysRange* where) {
  uint64_t addr = 0, size = 0;
  const char* source = nullptr;
  if (in.chosen_elfcorehdr) {
    addr = in.chosen_elfcorehdr->base;
    size = in.chosen_elfcorehdr->size;
    source = "/chosen/linux,elfcorehdr";
  } else if (in.options->elfcorehdr_addr) {
    addr = *in.options->elfcorehdr_addr;
    size = in.options->elfcorehdr_size.value_or(0);
    source = "bootargs elfcorehdr=";
  } else {
    console::Write("salvage: no elfcorehdr: neither /chosen/linux,elfcorehdr nor elfcorehdr= in bootargs\n");
    return {};
  }
  if (size == 0) {
    // elfcorehdr=addr without a size: the ELF header says where its program headers end.
    std::span<const uint8_t> ehdr;
    if (!MapOld(in.memory, PhysRange{addr, elfcore::kCoreHeaderProbeSize}, &ehdr)) {
      console::Printf("salvage: elfcorehdr at 0x%llx (%s) is not in /memory\n", static_cast<unsigned long long>(addr),
                      source);
      return {};
    }
    Result<uint64_t> sized = elfcore::CoreHeaderSize(ehdr);
    if (!sized.ok()) {
      console::Printf("salvage: elfcorehdr at 0x%llx (%s): %s\n", static_cast<unsigned long long>(addr), source,
                      sized.status().what());
      return {};
    }
    size = *sized;
  }
  if (size > elfcore::kMaxCoreHeaderSize) {
    console::Printf("salvage: elfcorehdr at 0x%llx (%s) claims 0x%llx bytes; not a core header\n",
                    static_cast<unsigned long long>(addr), source, static_cast<unsigned long long>(size));
    return {};
  }
  std::span<const uint8_t> bytes;
  if (!MapOld(in.memory, PhysRange{addr, size}, &bytes)) {
    console::Printf("salvage: elfcorehdr 0x%llx size 0x%llx (%s) is not inside /memory\n",
                    static_cast<unsigned long long>(addr), static_cast<unsigned long long>(size), source);
    return {};
  }
  *where = PhysRange{addr, size};
  console::Printf("salvage: elfcorehdr from %s: 0x%llx size 0x%llx\n", source, static_cast<unsigned long long>(addr),
                  static_cast<unsigned long long>(size));
  return bytes;
}

// The plan's ranges rounded out to whole pages (the stream's unit), merged where the
// rounding made them touch.
std::span<const PhysRange> WholePages(const elfcore::Plan& plan, uint64_t* total) {
  size_t n = 0;
  *total = 0;
  for (const PhysRange& r : plan.ranges) {
    const uint64_t base = AlignDown(r.base, kPageSize);
    const PhysRange p{base, AlignUp(r.Last() + 1, kPageSize) - base};
    if (n > 0 && g_ranges[n - 1].Last() >= p.base) {
      g_ranges[n - 1].size = p.Last() - g_ranges[n - 1].base + 1;
      continue;
    }
    g_ranges[n++] = p;
  }
  for (size_t i = 0; i < n; ++i) {
    console::Printf("salvage: dump 0x%llx size 0x%llx\n", static_cast<unsigned long long>(g_ranges[i].base),
                    static_cast<unsigned long long>(g_ranges[i].size));
    *total += g_ranges[i].size;
  }
  return {g_ranges, n};
}

}  // namespace

Result<const CapturePlan*> PlanCapture(const CaptureInput& in) {
  ConsoleDiagnostics diag;
  Reserved reserved;
  CollectReserved(in, &reserved);

  PhysRange header_range{};
  const std::span<const uint8_t> header_bytes = FindCoreHeader(in, &header_range);
  reserved.Add(header_range);
  bool have_header = false;
  if (!header_bytes.empty()) {
    Status parsed = elfcore::ParseCoreHeaderInto(header_bytes, diag, &g_header);
    if (parsed.ok()) {
      have_header = true;
      console::Printf("salvage: elfcorehdr: ELF%d, e_machine %u, %u PT_NOTE, %u PT_LOAD\n", g_header.elf_class,
                      static_cast<unsigned>(g_header.machine), static_cast<unsigned>(g_header.notes.size()),
                      static_cast<unsigned>(g_header.loads.size()));
    } else {
      console::Printf("salvage: elfcorehdr unusable: %s\n", parsed.what());
    }
  }

  // Whole pages: a page that holds any of salvage's bytes is left out, as reported.
  const elfcore::PlanInput plan_in{in.memory, reserved.span(), kPageSize};
  SALVAGE_TRY(elfcore::MakePlanInto(have_header ? &g_header : nullptr, plan_in, diag, &g_plan));
  if (g_plan.fallback) console::Write("salvage: FALLBACK: dumping all of /memory minus salvage's reservation\n");

  CapturePlan& plan = g_capture_plan;
  plan = CapturePlan{};
  plan.ranges = WholePages(g_plan, &plan.total);
  plan.entry_ticks = in.entry_ticks;

  size_t nnotes = 0;
  for (const PhysRange& n : g_plan.notes) {
    std::span<const uint8_t> bytes;
    if (MapOld(in.memory, n, &bytes)) g_notes[nnotes++] = bytes;
  }
  size_t nsegments = 0;
  if (have_header) {
    for (const auto& l : g_header.loads) {
      g_segments[nsegments++] = stream::LoadSegment{PhysAddr{l.phys.base}, l.vaddr, l.phys.size};
    }
  }
  stream::HeaderInfo& info = plan.info;
  const int elf_class = have_header ? g_header.elf_class : arch::ElfClass();
  info.e_machine = have_header ? g_header.machine : arch::ElfMachine();
  info.elf_class = static_cast<uint8_t>(elf_class == 32 ? stream::kElfClass32 : stream::kElfClass64);
  info.page_size = kPageSize;
  info.ranges = plan.ranges;
  info.segments = std::span<const stream::LoadSegment>(g_segments, nsegments);
  info.notes = std::span<const std::span<const uint8_t>>(g_notes, nnotes);
  // The options in force, as the dump's reader will see them (inspect shows them).
  info.options = std::string_view(g_options_text, FormatStreamOptions(*in.options, g_options_text));
  return &plan;
}

}  // namespace salvage::capture
