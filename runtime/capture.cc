#include "capture.h"

#include <cstring>

#include <libfdt.h>

#include <salvage/arch/cpu.h>
#include <salvage/arch/mmio.h>
#include <salvage/blockdump/sink.h>
#include <salvage/blockdump/target.h>
#include <salvage/devices/mmio.h>
#include <salvage/devices/clock.h>
#include <salvage/devices/sd-binding.h>
#include <salvage/devices/virtio-binding.h>
#include <salvage/sd/bcm2835-sdhost.h>
#include <salvage/sd/card.h>
#include <salvage/sd/sdhci.h>
#include <salvage/virtio/blk.h>
#include <salvage/virtio/mmio.h>
#include <salvage/arch/mmu.h>
#include <salvage/arch/timer.h>
#include <salvage/console/console.h>
#include <salvage/elfcore/elfcore.h>
#include <salvage/stream/encoder.h>
#include <salvage/stream/lz4-compressor.h>

namespace salvage {
namespace {

constexpr uint32_t kPageSize = 4096;
// A core header larger than this is not one kexec would write (4096 program headers).
constexpr uint64_t kMaxCoreHeaderSize = 1u << 20;
constexpr size_t kMaxReserved = 16;
static_assert(kMaxReserved <= elfcore::kMaxPlanReserved);

// Large, so not on the 32 KiB stack.
constinit elfcore::CoreHeader g_header;
constinit elfcore::Plan g_plan;
constinit stream::LoadSegment g_segments[elfcore::kMaxLoads];
constinit std::span<const uint8_t> g_notes[elfcore::kMaxNotes];
alignas(8) constinit uint8_t g_lz4_state[stream::kLz4StateSize];
alignas(8) constinit uint8_t g_scratch[kPageSize];

// The block path: virtqueue memory, and the block sink's header block plus staging
// buffers (4 x 64 KiB: several requests in flight without a large reservation).
constexpr size_t kVirtioDmaBytes = 16 * 1024;
constexpr uint32_t kSinkBufferSize = 64 * 1024;
constexpr size_t kSinkBuffers = 4;
alignas(4096) constinit uint8_t g_virtio_dma[kVirtioDmaBytes];
alignas(4096) constinit uint8_t g_sink_memory[blockdump::BlockSinkMemoryBytes(kSinkBuffers, kSinkBufferSize)];

struct ArchDmaBarrier {
  static void Write() { arch::DmaWriteBarrier(); }
  static void Read() { arch::DmaReadBarrier(); }
};
using Blk = virtio::VirtioBlk<virtio::VirtioMmio<devices::Mmio>, ArchDmaBarrier>;

// Prints every problem the parser and the planner report.
struct ConsoleDiagnostics {
  unsigned count = 0;
  void Problem(const char* what, uint64_t a, uint64_t b) {
    ++count;
    console::Printf("salvage: elfcorehdr: %s: 0x%llx 0x%llx\n", what, static_cast<unsigned long long>(a),
                    static_cast<unsigned long long>(b));
  }
};

// Old memory as bytes: only ranges inside one /memory range and inside the identity map.
bool MapOld(std::span<const PhysRange> memory, PhysRange r, std::span<const uint8_t>* out) {
  if (r.Empty() || r.Last() >= arch::IdentityMapLimit()) return false;
  for (const PhysRange& m : memory) {
    if (m.Contains(r)) {
      *out = {reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(r.base)), static_cast<size_t>(r.size)};
      return true;
    }
  }
  return false;
}

struct ConsoleSink {
  uint64_t bytes = 0;
  Status Write(std::span<const uint8_t> b) {
    console::WriteRaw(b);
    bytes += b.size();
    return Status::Ok();
  }
};

// The elfcorehdr's bytes, or an empty span after saying why there are none.
std::span<const uint8_t> FindCoreHeader(const CaptureInput& in, PhysRange* where) {
  uint64_t addr = 0, size = 0;
  const char* source = nullptr;
  Result<std::optional<PhysRange>> chosen = in.tree->ChosenElfCoreHdr();
  if (chosen.ok() && chosen->has_value()) {
    addr = (*chosen)->base;
    size = (*chosen)->size;
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
    // elfcorehdr=addr without a size: read the ELF header for the program headers' end.
    std::span<const uint8_t> ehdr;
    if (!MapOld(in.memory, PhysRange{addr, 64}, &ehdr)) {
      console::Printf("salvage: elfcorehdr at 0x%llx (%s) is not in /memory\n", static_cast<unsigned long long>(addr),
                      source);
      return {};
    }
    const bool is64 = ehdr[4] == 2;
    uint64_t phoff, phentsize, phnum;
    if (is64) {
      std::memcpy(&phoff, ehdr.data() + 32, 8);
      phentsize = ehdr[54] | (ehdr[55] << 8);
      phnum = ehdr[56] | (ehdr[57] << 8);
    } else {
      uint32_t off32;
      std::memcpy(&off32, ehdr.data() + 28, 4);
      phoff = off32;
      phentsize = ehdr[42] | (ehdr[43] << 8);
      phnum = ehdr[44] | (ehdr[45] << 8);
    }
    size = phoff < kMaxCoreHeaderSize ? phoff + phentsize * phnum : kMaxCoreHeaderSize + 1;
    if (size < 64) size = 64;
  }
  if (size > kMaxCoreHeaderSize) {
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

// Calls fn for every reg range of /reserved-memory children that are not `reusable`:
// memory the firmware or devices keep for themselves. OpenSBI's own region
// (mmode_resv0@80000000) is guarded by PMP, so reading it faults, and OpenSBI 1.1 marks
// it no-map only on harts without PMP. A kexec elfcorehdr never covers these; a fallback
// dump leaves them out too. `reusable` pools (CMA) hold ordinary kernel pages and stay in.
template <class Fn>
void ForEachFirmwareReservedRegion(const dtb::Dtb& tree, Fn fn) {
  const void* fdt = tree.blob();
  const int parent = fdt_path_offset(fdt, "/reserved-memory");
  if (parent < 0) return;
  const int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
  if (ac < 1 || ac > 2 || sc < 1 || sc > 2) return;
  int node;
  fdt_for_each_subnode(node, fdt, parent) {
    if (fdt_getprop(fdt, node, "reusable", nullptr) != nullptr) continue;
    int len = 0;
    const uint8_t* reg = static_cast<const uint8_t*>(fdt_getprop(fdt, node, "reg", &len));
    if (reg == nullptr) continue;
    const int entry = 4 * (ac + sc);
    for (int off = 0; off + entry <= len; off += entry) {
      auto cell = [&](int i) {
        const uint8_t* p = reg + off + 4 * i;
        return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
      };
      uint64_t base = cell(0), size = cell(ac);
      if (ac == 2) base = (base << 32) | cell(1);
      if (sc == 2) size = (size << 32) | cell(ac + 1);
      fn(PhysRange{base, size});
    }
  }
}

// What the planning found: the stream header and the ranges to send.
struct Plan {
  stream::HeaderInfo info;
  std::span<const PhysRange> ranges;
  uint64_t total;
  uint64_t entry_ticks;
};

// Sends every page of the plan through `encoder`. `room()` says whether one more page
// still fits the sink; when it says no, the stream ends early (its trailer says so).
// Returns whether every page was sent.
template <class Room>
Result<bool> SendPages(stream::Encoder& encoder, const CaptureInput& in, const Plan& plan, Room room) {
  SALVAGE_TRY(encoder.WriteHeader(plan.info));
  for (const PhysRange& r : plan.ranges) {
    std::span<const uint8_t> bytes;
    if (!MapOld(in.memory, r, &bytes)) {
      // Beyond what the identity map reaches: sent as skipped, reported by the receiver.
      if (!room()) return false;
      SALVAGE_TRY(encoder.SkipPages(PhysAddr{r.base}, r.size / kPageSize));
      continue;
    }
    for (uint64_t off = 0; off < r.size; off += kPageSize) {
      if (!room()) return false;
      SALVAGE_TRY(encoder.WritePage(PhysAddr{r.base + off}, bytes.subspan(off, kPageSize)));
    }
  }
  return true;
}

void ReportTotals(const stream::Encoder& encoder, uint64_t stream_bytes, const Plan& plan, uint64_t start,
                  uint64_t end) {
  const stream::StreamTotals t = encoder.totals();
  const uint64_t us = arch::MicrosBetween(start, end);
  const uint64_t us_entry = arch::MicrosBetween(plan.entry_ticks, end);
  console::Printf("\nsalvage: dump complete: %llu pages (%llu zero, %llu lz4, %llu raw), %llu stream bytes for %llu MiB\n",
                  static_cast<unsigned long long>(t.pages), static_cast<unsigned long long>(t.zero_pages),
                  static_cast<unsigned long long>(t.lz4_pages), static_cast<unsigned long long>(t.raw_pages),
                  static_cast<unsigned long long>(stream_bytes), static_cast<unsigned long long>(plan.total >> 20));
  if (us != 0) {
    console::Printf("salvage: stream took %llu.%03llu s; entry to trailer %llu.%03llu s\n",
                    static_cast<unsigned long long>(us / 1000000), static_cast<unsigned long long>(us / 1000 % 1000),
                    static_cast<unsigned long long>(us_entry / 1000000),
                    static_cast<unsigned long long>(us_entry / 1000 % 1000));
  }
}

// The benchmark's baseline (bench/virtio-throughput.py): a plain copy of every page of
// the plan into RAM, in the same guest, with the same caches, before the dump.
void CopyBench(const CaptureInput& in, const Plan& plan) {
  std::span<uint8_t> dst(g_sink_memory, sizeof(g_sink_memory));
  uint64_t copied = 0, sum = 0;
  const uint64_t start = arch::Ticks();
  size_t at = 0;
  for (const PhysRange& r : plan.ranges) {
    std::span<const uint8_t> bytes;
    if (!MapOld(in.memory, r, &bytes)) continue;
    for (uint64_t off = 0; off < r.size; off += kPageSize) {
      if (at + kPageSize > dst.size()) at = 0;
      std::memcpy(dst.data() + at, bytes.data() + off, kPageSize);
      sum += dst[at];
      at += kPageSize;
      copied += kPageSize;
    }
  }
  const uint64_t us = arch::MicrosBetween(start, arch::Ticks());
  console::Printf("salvage: debug: copy-bench: copied %llu MiB in %llu.%03llu s (check %llu)\n",
                  static_cast<unsigned long long>(copied >> 20), static_cast<unsigned long long>(us / 1000000),
                  static_cast<unsigned long long>(us / 1000 % 1000), static_cast<unsigned long long>(sum & 0xff));
}

Status DumpToConsole(const CaptureInput& in, const Plan& plan) {
  console::Printf("salvage: sending %llu MiB in %u ranges with %u notes over the console; stream follows\n",
                  static_cast<unsigned long long>(plan.total >> 20), static_cast<unsigned>(plan.ranges.size()),
                  static_cast<unsigned>(plan.info.notes.size()));
  console::Flush();
  ConsoleSink sink;
  stream::Lz4Compressor lz4(std::span<uint8_t>(g_lz4_state, sizeof(g_lz4_state)));
  stream::Encoder encoder(sink, lz4, std::span<uint8_t>(g_scratch, sizeof(g_scratch)));
  const uint64_t start = arch::Ticks();
  SALVAGE_ASSIGN_OR_RETURN(bool all, SendPages(encoder, in, plan, [] { return true; }));
  (void)all;
  SALVAGE_TRY(encoder.WriteTrailer());
  const uint64_t end = arch::Ticks();
  console::Flush();
  ReportTotals(encoder, sink.bytes, plan, start, end);
  return Status::Ok();
}

template <drivers::BlockDevice Device>
Status DumpToBlockDevice(Device& dev, const CaptureInput& in, const Plan& plan);

// Reads the device ID of a virtio-mmio transport (0 when it is not one).
uint32_t ProbeVirtio(uint64_t base) {
  devices::Mmio io(base);
  if (io.Read32(0x000) != 0x74726976) return 0;  // MagicValue "virt"
  const uint32_t version = io.Read32(0x004);
  if (version != 1 && version != 2) return 0;
  return io.Read32(0x008);  // DeviceID
}

Status DumpToVirtioBlk(const CaptureInput& in, const Plan& plan) {
  SALVAGE_ASSIGN_OR_RETURN(devices::VirtioBlkChoice where, devices::FindVirtioBlk(*in.tree, in.options->sink_address, ProbeVirtio));
  const virtio::DmaMemory dma{std::span<uint8_t>(g_virtio_dma, sizeof(g_virtio_dma)), 0};

  if (in.options->debug_virtio_busy) {
    // A first driver that queues writes and does not wait, as a crashed kernel leaves
    // them: the real driver below must reset the device and still dump correctly.
    Blk first(virtio::VirtioMmio<devices::Mmio>(devices::Mmio(where.base)), dma);
    if (first.Init().ok()) {
      std::span<uint8_t> junk(g_sink_memory, sizeof(g_sink_memory));
      for (uint8_t& b : junk) b = 0xbb;
      unsigned queued = 0;
      for (uint64_t lba = 0; lba < 8 * 128; lba += 128) {
        if (first.StartWrite(lba, junk.first(64 * 1024)).ok()) ++queued;
      }
      console::Printf("salvage: debug: left %u writes queued on the virtqueue (salvage.debug=virtio-busy)\n", queued);
    }
  }

  Blk blk(virtio::VirtioMmio<devices::Mmio>(devices::Mmio(where.base)), dma);
  SALVAGE_TRY(blk.Init());
  console::Printf("salvage: virtio-blk at 0x%llx (virtio-mmio version %u), %llu sectors of %u bytes, %u requests in flight%s\n",
                  static_cast<unsigned long long>(where.base), static_cast<unsigned>(blk.transport().Version()),
                  static_cast<unsigned long long>(blk.SectorCount()), static_cast<unsigned>(blk.SectorSize()),
                  static_cast<unsigned>(blk.MaxInFlight()),
                  (blk.NegotiatedFeatures() & virtio::blk::Feature::kFlush) ? ", flush" : "");
  return DumpToBlockDevice(blk, in, plan);
}

// The block sink on an initialised device: resolves salvage.target, writes the dump.
template <drivers::BlockDevice Device>
Status DumpToBlockDevice(Device& dev, const CaptureInput& in, const Plan& plan) {
  Result<blockdump::TargetSpec> spec = blockdump::ParseTarget(in.options->target);
  if (!spec.ok()) {
    console::Printf("salvage: salvage.target=%.*s: %s\n", static_cast<int>(in.options->target.size()),
                    in.options->target.data(), spec.status().what());
    return spec.status();
  }
  Result<blockdump::Extents> extents = blockdump::ResolveTarget(dev, *spec, std::span<uint8_t>(g_scratch, sizeof(g_scratch)));
  if (!extents.ok()) {
    char msg[160];
    blockdump::FormatTargetError(extents.status(), *spec, std::span<char>(msg, sizeof(msg)));
    console::Printf("salvage: target %.*s: %s\n", static_cast<int>(in.options->target.size()), in.options->target.data(), msg);
    return extents.status();
  }
  blockdump::BlockSink sink(dev, *extents, std::span<uint8_t>(g_sink_memory, sizeof(g_sink_memory)), kSinkBufferSize);
  SALVAGE_TRY(sink.Begin());
  console::Printf("salvage: writing %llu MiB in %u ranges to %.*s: %u extents, room for %llu MiB of stream\n",
                  static_cast<unsigned long long>(plan.total >> 20), static_cast<unsigned>(plan.ranges.size()),
                  static_cast<int>(in.options->target.size()), in.options->target.data(),
                  static_cast<unsigned>(extents->size), static_cast<unsigned long long>(sink.capacity() >> 20));

  stream::Lz4Compressor lz4(std::span<uint8_t>(g_lz4_state, sizeof(g_lz4_state)));
  stream::Encoder encoder(sink, lz4, std::span<uint8_t>(g_scratch, sizeof(g_scratch)));
  const uint64_t start = arch::Ticks();
  SALVAGE_ASSIGN_OR_RETURN(bool all, SendPages(encoder, in, plan, [&] { return sink.RoomForPage(kPageSize, encoder.header_record_bytes()); }));
  SALVAGE_TRY(encoder.WriteTrailer());
  SALVAGE_TRY(sink.Finish(!all));
  const uint64_t end = arch::Ticks();
  if (!all) {
    console::Printf("salvage: TRUNCATED: the target holds %llu MiB of stream; the dump kept %llu of %llu pages in address order\n",
                    static_cast<unsigned long long>(sink.capacity() >> 20),
                    static_cast<unsigned long long>(encoder.totals().pages + encoder.totals().skipped_pages),
                    static_cast<unsigned long long>(plan.total / kPageSize));
  }
  ReportTotals(encoder, sink.stream_bytes(), plan, start, end);
  console::Printf("salvage: %llu MiB written to %s, up to %u writes in flight\n",
                  static_cast<unsigned long long>(sink.stream_bytes() >> 20), Device::Name(),
                  static_cast<unsigned>(sink.max_in_flight()));
  return Status::Ok();
}

using SdhciHost = sd::Sdhci<devices::Mmio, devices::ArchClock>;
using SdhostHost = sd::Bcm2835Sdhost<devices::Mmio, devices::ArchClock>;

// salvage.debug=sd-pins-sdhost: GPIO 48-53 (the Pi's SD slot) to ALT0, the SDHOST, as
// Linux's pinctrl leaves them on a Pi 3 (QEMU's raspi3b moves the card with them).
// BCM2835 ARM Peripherals §6.1: GPFSEL4 (0x10) holds pins 40-49, GPFSEL5 (0x14) pins
// 50-59, three bits per pin; ALT0 = 100b.
void RouteSdPinsToSdhost(const dtb::Dtb& tree) {
  uint64_t base = 0;
  tree.ForEachCompatible("brcm,bcm2835-gpio", [&](int node) {
    if (Result<uint64_t> b = tree.TranslateRegAddress(node, 0); b.ok() && base == 0) base = *b;
  });
  if (base == 0) {
    console::Write("salvage: debug: sd-pins-sdhost: no brcm,bcm2835-gpio node\n");
    return;
  }
  devices::Mmio gpio(base);
  constexpr uint32_t kAlt0 = 4;
  uint32_t fsel4 = gpio.Read32(0x10);
  for (uint32_t pin = 48; pin <= 49; ++pin) fsel4 = (fsel4 & ~(7u << 3 * (pin - 40))) | kAlt0 << 3 * (pin - 40);
  uint32_t fsel5 = gpio.Read32(0x14);
  for (uint32_t pin = 50; pin <= 53; ++pin) fsel5 = (fsel5 & ~(7u << 3 * (pin - 50))) | kAlt0 << 3 * (pin - 50);
  gpio.Write32(0x10, fsel4);
  gpio.Write32(0x14, fsel5);
  console::Printf("salvage: debug: GPIO 48-53 routed to the SDHOST (ALT0) at 0x%llx (salvage.debug=sd-pins-sdhost)\n",
                  static_cast<unsigned long long>(base));
}

// One SD controller: brings its card up and writes the dump (*tried set: the result is
// the dump's), or prints and returns why the card did not come up (*tried stays false).
template <class HostT>
Status TrySdCard(HostT host, const devices::SdChoice& c, const char* path, devices::ArchClock& clock,
                 const CaptureInput& in, const Plan& plan, bool* tried) {
  sd::SdCard<HostT, devices::ArchClock> card(host, clock);
  if (in.options->debug_sd_busy) {
    // What a kernel that crashed in the middle of a PIO write leaves: a first driver
    // brings the card up, starts an 8-block CMD25 at sector 64, sends 2 blocks of 0xbb
    // and abandons it (controller mid-transfer, card in rcv). The real driver below must
    // start over from there.
    if (Status s = card.Init(); s.ok()) {
      const uint32_t arg = card.info().high_capacity ? 64u : 64u * 512u;
      const uint32_t state = card.host().DebugAbandonWrite(arg, 8, 2);
      console::Printf("salvage: debug: left an 8-block CMD25 with 2 blocks sent on the SD card (salvage.debug=sd-busy); "
                      "%s 0x%08x\n", HostT::Name(), static_cast<unsigned>(state));
    }
  }
  Status s = card.Init();
  if (!s.ok()) {
    console::Printf("salvage: sd: %s at 0x%llx (%s): %s\n", devices::SdKindName(c.kind),
                    static_cast<unsigned long long>(c.base), path, s.what());
    return s;
  }
  *tried = true;
  const sd::CardInfo& info = card.info();
  console::Printf("salvage: sd: %s at 0x%llx (%s): %s card \"%s\", %llu MiB (CSD %u.0, %s addressing), "
                  "%u-bit bus at %u kHz, RCA 0x%04x\n",
                  devices::SdKindName(c.kind), static_cast<unsigned long long>(c.base), path,
                  info.high_capacity ? "SDHC/SDXC" : "SDSC", info.product,
                  static_cast<unsigned long long>(card.SectorCount() >> 11), static_cast<unsigned>(info.csd_structure + 1),
                  info.high_capacity ? "block" : "byte", static_cast<unsigned>(info.bus_width),
                  static_cast<unsigned>(info.clock_hz / 1000), static_cast<unsigned>(info.rca));
  s = DumpToBlockDevice(card, in, plan);
  if (card.info().retries != 0) {
    console::Printf("salvage: sd: %u transfers were retried, %u re-initialisations\n",
                    static_cast<unsigned>(card.info().retries), static_cast<unsigned>(card.info().inits - 1));
  }
  return s;
}

// The SD card: tries every SD host controller candidate in DT order (or the one
// salvage.sink=sd@ADDR names) and dumps to the first whose card initialises.
Status DumpToSd(const CaptureInput& in, const Plan& plan) {
  if (in.options->debug_sd_pins_sdhost) RouteSdPinsToSdhost(*in.tree);
  devices::SdChoice choices[devices::kMaxSdControllers];
  SALVAGE_ASSIGN_OR_RETURN(size_t n, devices::FindSdControllers(*in.tree, in.options->sink_address, choices));
  static devices::ArchClock clock;
  Status last;
  for (size_t i = 0; i < n; ++i) {
    const devices::SdChoice& c = choices[i];
    char path[96];
    in.tree->NodePath(c.node, path, sizeof(path));
    bool initialised = false;
    if (c.kind == devices::SdKind::kBcm2835Sdhost) {
      last = TrySdCard(SdhostHost(devices::Mmio(c.base), clock, c.sdhost), c, path, clock, in, plan, &initialised);
    } else {
      last = TrySdCard(SdhciHost(devices::Mmio(c.base), clock, c.sdhci), c, path, clock, in, plan, &initialised);
    }
    // Once a card came up, its dump's result is final: never write a second card.
    if (initialised) return last;
  }
  return last;
}

}  // namespace

Status Capture(const CaptureInput& in) {
  ConsoleDiagnostics diag;

  // A block sink writes only where it was told to, and the whole device only when the
  // options confirm it: checked before any device is touched.
  if (const char* refusal = BlockTargetRefusal(*in.options)) {
    console::Printf("salvage: refused: %s\n", refusal);
    return Status{Error::kInvalidArgument, "the block sink's target is missing or not confirmed; nothing was written"};
  }

  // What salvage occupies: never dumped.
  PhysRange reserved[kMaxReserved];
  size_t nreserved = 0;
  auto reserve = [&](PhysRange r) {
    if (!r.Empty() && nreserved < kMaxReserved) reserved[nreserved++] = r;
  };
  reserve(in.image);
  reserve(in.dtb);
  size_t usable_ranges = 0;
  Status usable = in.tree->ForEachUsableMemoryRange([&](const PhysRange& r) {
    reserve(r);
    ++usable_ranges;
  });
  if (!usable.ok()) console::Printf("salvage: warning: %s\n", usable.what());
  if (in.options->mem_size && in.options->mem_start) {
    reserve(PhysRange{*in.options->mem_start, *in.options->mem_size});
  } else if (in.options->mem_size && usable_ranges == 0) {
    // A bare mem=SIZE (kexec-tools' 32-bit Arm form) and no linux,usable-memory-range:
    // the reservation starts where Linux's capture kernel would take its memory to
    // start, from where it was loaded: a zImage (AUTO_ZRELADDR) rounds its load address
    // down to 128 MiB, which is why Arm's crashkernel= reservation is 128 MiB aligned;
    // arm64 and RISC-V kernels sit 2 MiB aligned. Never dump the reservation.
    const uint64_t align = arch::ElfMachine() == 40 /* EM_ARM */ ? (uint64_t{128} << 20) : (uint64_t{2} << 20);
    const PhysRange r{AlignDown(in.image.base, align), *in.options->mem_size};
    console::Printf("salvage: mem=0x%llx without @start and no usable-memory-range: the reservation is taken to be "
                    "0x%llx size 0x%llx (where salvage was loaded, rounded down to %llu MiB): not dumped\n",
                    static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.base),
                    static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(align >> 20));
    reserve(r);
  }
  ForEachFirmwareReservedRegion(*in.tree, [&](const PhysRange& r) {
    console::Printf("salvage: /reserved-memory 0x%llx size 0x%llx: not dumped\n",
                    static_cast<unsigned long long>(r.base), static_cast<unsigned long long>(r.size));
    reserve(r);
  });

  PhysRange header_range{};
  std::span<const uint8_t> header_bytes = FindCoreHeader(in, &header_range);
  reserve(header_range);
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
  const elfcore::PlanInput plan_in{in.memory, std::span<const PhysRange>(reserved, nreserved), kPageSize};
  SALVAGE_TRY(elfcore::MakePlanInto(have_header ? &g_header : nullptr, plan_in, diag, &g_plan));
  if (g_plan.fallback) console::Write("salvage: FALLBACK: dumping all of /memory minus salvage's reservation\n");

  // Ranges must be whole pages for the stream; round out (RAM ranges are page-aligned).
  static PhysRange ranges[elfcore::kMaxPlanRanges];
  size_t nranges = 0;
  uint64_t total = 0;
  for (const PhysRange& r : g_plan.ranges) {
    PhysRange p{AlignDown(r.base, kPageSize), AlignUp(r.Last() + 1, kPageSize) - AlignDown(r.base, kPageSize)};
    if (nranges > 0 && ranges[nranges - 1].Last() >= p.base) {  // rounding made them touch
      const uint64_t end = p.Last();
      ranges[nranges - 1].size = end - ranges[nranges - 1].base + 1;
      continue;
    }
    ranges[nranges++] = p;
  }
  for (size_t i = 0; i < nranges; ++i) {
    console::Printf("salvage: dump 0x%llx size 0x%llx\n", static_cast<unsigned long long>(ranges[i].base),
                    static_cast<unsigned long long>(ranges[i].size));
    total += ranges[i].size;
  }

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

  stream::HeaderInfo info;
  info.e_machine = have_header ? g_header.machine : arch::ElfMachine();
  info.elf_class = static_cast<uint8_t>(have_header ? (g_header.elf_class == 32 ? stream::kElfClass32 : stream::kElfClass64)
                                                    : (arch::ElfClass() == 32 ? stream::kElfClass32 : stream::kElfClass64));
  info.page_size = kPageSize;
  info.ranges = std::span<const PhysRange>(ranges, nranges);
  info.segments = std::span<const stream::LoadSegment>(g_segments, nsegments);
  info.notes = std::span<const std::span<const uint8_t>>(g_notes, nnotes);
  // The options in force, as the dump's reader will see them (inspect shows them).
  static char options_text[1024];  // a target of 64 extents fits
  info.options = std::string_view(options_text, FormatStreamOptions(*in.options, options_text));

  const Plan plan{info, std::span<const PhysRange>(ranges, nranges), total, in.entry_ticks};
  if (in.options->debug_copy_bench) CopyBench(in, plan);
  if (in.options->sink == SinkKind::kVirtioBlk) return DumpToVirtioBlk(in, plan);
  if (in.options->sink == SinkKind::kSd) return DumpToSd(in, plan);
  return DumpToConsole(in, plan);
}

}  // namespace salvage
