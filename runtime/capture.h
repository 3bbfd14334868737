// The capture: elfcorehdr in, stream out (docs/stream-format.md), to the sink the
// options name: the console UART, or a virtio-blk target (docs/disk-format.md).
#pragma once

#include <cstdint>
#include <span>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>
#include <salvage/dtb/dtb.h>

#include "options.h"

namespace salvage {

struct CaptureInput {
  const dtb::Dtb* tree = nullptr;
  std::span<const PhysRange> memory;  ///< /memory from the DTB.
  PhysRange image;                    ///< salvage itself (file, .bss, stacks).
  PhysRange dtb;                      ///< The DTB salvage was given.
  const Options* options = nullptr;
  uint64_t entry_ticks = 0;           ///< arch::Ticks() at SalvageMain's entry.
};

/// Finds and checks the elfcorehdr (/chosen/linux,elfcorehdr, else elfcorehdr= in
/// bootargs), plans the ranges (falling back to /memory minus the reservation when the
/// header is unusable), and streams every page to the sink: the console UART, or the
/// salvage.target on a virtio-blk device (ending early and marking the dump truncated
/// when the target is too small). Every problem is reported on the console before the
/// stream starts; nothing is printed on the console while a console stream runs.
Status Capture(const CaptureInput& in);

}  // namespace salvage
