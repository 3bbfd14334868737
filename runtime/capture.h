// The capture: elfcorehdr in, stream out (docs/stream-format.md), on the console UART.
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
/// header is unusable), and streams every page to the console. Every problem is reported
/// on the console before the stream starts; nothing is printed while it runs.
Status CaptureToConsole(const CaptureInput& in);

}  // namespace salvage
