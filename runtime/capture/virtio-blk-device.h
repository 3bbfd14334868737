// The virtio-blk driver as the image runs it: over virtio-mmio in MMIO space, with the
// CPU's DMA barriers. One type for every user (the sink and the virtio-busy injection),
// so its code is in the image once.
#pragma once

#include <salvage/arch/mmio.h>
#include <salvage/devices/mmio.h>
#include <salvage/virtio/blk.h>
#include <salvage/virtio/mmio.h>

namespace salvage::capture {

struct ArchDmaBarrier {
  static void Write() { arch::DmaWriteBarrier(); }
  static void Read() { arch::DmaReadBarrier(); }
};

using MmioVirtioBlk = virtio::VirtioBlk<virtio::VirtioMmio<devices::Mmio>, ArchDmaBarrier>;

}  // namespace salvage::capture
