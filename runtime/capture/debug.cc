#include "debug.h"

#include <cstring>

#include <salvage/arch/mmio.h>
#include <salvage/arch/timer.h>
#include <salvage/devices/mmio.h>
#include <salvage/gpio/bcm2835-gpio.h>
#include <salvage/virtio/blk.h>
#include <salvage/virtio/mmio.h>

#include "emit.h"
#include "old-memory.h"
#include "virtio-blk-device.h"

namespace salvage::capture::debug {
void CopyBench(const CaptureInput& in, const CapturePlan& plan) {
  const std::span<uint8_t> dst = SinkMemory();
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

[[gnu::cold]] void LeaveVirtioWritesQueued(uint64_t base, const virtio::DmaMemory& dma) {
  MmioVirtioBlk first(virtio::VirtioMmio<devices::Mmio>(devices::Mmio(base)), dma);
  if (!first.Init().ok()) return;
  const std::span<uint8_t> junk = SinkMemory();
  for (uint8_t& b : junk) b = 0xbb;
  unsigned queued = 0;
  for (uint64_t lba = 0; lba < 8 * 128; lba += 128) {
    if (first.StartWrite(lba, junk.first(64 * 1024)).ok()) ++queued;
  }
  console::Printf("salvage: debug: left %u writes queued on the virtqueue (salvage.debug=virtio-busy)\n", queued);
}

[[gnu::cold]] void RouteSdPinsToSdhost(const dtb::Dtb& tree) {
  uint64_t base = 0;
  tree.ForEachCompatible("brcm,bcm2835-gpio", [&](int node) {
    if (Result<uint64_t> b = tree.TranslateRegAddress(node, 0); b.ok() && base == 0) base = *b;
  });
  if (base == 0) {
    console::Write("salvage: debug: sd-pins-sdhost: no brcm,bcm2835-gpio node\n");
    return;
  }
  gpio::Bcm2835Gpio<devices::Mmio> gpio{devices::Mmio(base)};
  if (Status s = gpio.SetFunction(48, 53, gpio::bcm2835_gpio::Function::kAlt0); !s.ok()) {
    console::Printf("salvage: debug: sd-pins-sdhost: %s\n", s.what());
    return;
  }
  console::Printf("salvage: debug: GPIO 48-53 routed to the SDHOST (ALT0) at 0x%llx (salvage.debug=sd-pins-sdhost)\n",
                  static_cast<unsigned long long>(base));
}

}  // namespace salvage::capture::debug
