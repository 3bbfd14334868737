// The virtio-blk sink: the device behind the virtio-mmio node the DTB (or
// salvage.sink=virtio-blk@ADDR) names, reset and brought up by our driver whatever the
// crashed kernel left queued, then the block emit.
#include <salvage/arch/mmio.h>
#include <salvage/console/console.h>
#include <salvage/devices/mmio.h>
#include <salvage/devices/virtio-binding.h>
#include <salvage/virtio/blk.h>
#include <salvage/virtio/mmio.h>

#include "block-emit.h"
#include "debug.h"
#include "virtio-blk-device.h"
#include "sinks.h"

namespace salvage::capture {
namespace {

// The virtqueues' memory.
constexpr size_t kVirtioDmaBytes = 16 * 1024;
alignas(4096) constinit uint8_t g_virtio_dma[kVirtioDmaBytes];

// The device ID of a virtio-mmio transport (0 when it is not one).
uint32_t ProbeVirtio(uint64_t base) {
  devices::Mmio io(base);
  if (io.Read32(0x000) != 0x74726976) return 0;  // MagicValue "virt"
  const uint32_t version = io.Read32(0x004);
  if (version != 1 && version != 2) return 0;
  return io.Read32(0x008);  // DeviceID
}

}  // namespace

Status EmitToVirtioBlk(const CaptureInput& in, const CapturePlan& plan) {
  SALVAGE_ASSIGN_OR_RETURN(devices::VirtioBlkChoice where,
                           devices::FindVirtioBlk(*in.tree, in.options->sink_address, ProbeVirtio));
  const virtio::DmaMemory dma{std::span<uint8_t>(g_virtio_dma, sizeof(g_virtio_dma)), 0};
  if (in.options->debug_virtio_busy) debug::LeaveVirtioWritesQueued(where.base, dma);

  MmioVirtioBlk blk(virtio::VirtioMmio<devices::Mmio>(devices::Mmio(where.base)), dma);
  SALVAGE_TRY(blk.Init());
  console::Printf("salvage: virtio-blk at 0x%llx (virtio-mmio version %u), %llu sectors of %u bytes, %u requests in flight%s\n",
                  static_cast<unsigned long long>(where.base), static_cast<unsigned>(blk.transport().Version()),
                  static_cast<unsigned long long>(blk.SectorCount()), static_cast<unsigned>(blk.SectorSize()),
                  static_cast<unsigned>(blk.MaxInFlight()),
                  (blk.NegotiatedFeatures() & virtio::blk::Feature::kFlush) ? ", flush" : "");
  return EmitToBlockDevice(blk, in, plan);
}

}  // namespace salvage::capture
