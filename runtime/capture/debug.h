// Debug injections (salvage.debug=...): what a crashed kernel may leave behind, made on
// purpose so the tests can show salvage copes, and the copy benchmark. They live here
// and nowhere else; a sink calls them at one named point. The injections are cold and
// built for size (debug.cc): a real dump never runs them.
#pragma once

#include <cstdint>

#include <salvage/console/console.h>
#include <salvage/dtb/dtb.h>
#include <salvage/virtio/virtqueue.h>

#include "capture.h"

namespace salvage::capture::debug {

/// salvage.debug=copy-bench: the benchmark's baseline (bench/virtio-throughput.py), a
/// plain copy of every page of the plan into RAM, before the dump.
void CopyBench(const CaptureInput& in, const CapturePlan& plan);

/// salvage.debug=virtio-busy: a first driver on the virtio-blk device at `base` that
/// queues writes and does not wait, as a crashed kernel leaves them; the real driver
/// must reset the device and still dump correctly.
[[gnu::cold]] void LeaveVirtioWritesQueued(uint64_t base, const virtio::DmaMemory& dma);

/// salvage.debug=sd-pins-sdhost: GPIO 48-53 (the Pi's SD slot) to ALT0, the SDHOST, as
/// Linux's pinctrl leaves them on a Pi 3 (QEMU's raspi3b moves the card with them).
[[gnu::cold]] void RouteSdPinsToSdhost(const dtb::Dtb& tree);

/// salvage.debug=sd-busy: what a kernel that crashed in the middle of a PIO write
/// leaves: `card` is brought up, an 8-block CMD25 at sector 64 is started, 2 blocks of
/// 0xbb are sent and it is abandoned (controller mid-transfer, card in rcv). The real
/// driver must start over from there.
template <class Card>
void AbandonSdWrite(Card& card, const char* host_name) {
  if (Status s = card.Init(); s.ok()) {
    const uint32_t arg = card.info().high_capacity ? 64u : 64u * 512u;
    const uint32_t state = card.host().DebugAbandonWrite(arg, 8, 2);
    console::Printf("salvage: debug: left an 8-block CMD25 with 2 blocks sent on the SD card (salvage.debug=sd-busy); "
                    "%s 0x%08x\n", host_name, static_cast<unsigned>(state));
  }
}

}  // namespace salvage::capture::debug
