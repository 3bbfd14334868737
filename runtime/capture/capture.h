// salvage::capture — the data path of docs/architecture.md, after the boot report:
//
//   discover  what salvage occupies and must never dump (the image, the DTB, the
//             reservation, the elfcorehdr, firmware-reserved memory), and the elfcorehdr
//             (plan.cc, with runtime/elfcore locating and sizing it, runtime/dtb reading
//             /reserved-memory);
//   plan      the ranges to dump and the stream header (runtime/elfcore's MakePlan;
//             /memory minus the reservation when the header is unusable);
//   encode    every page through runtime/stream's Encoder (emit.h);
//   emit      into the sink salvage.sink names: one file per sink (console-sink.cc,
//             virtio-blk-sink.cc, sd-sink.cc), the block ones through block-emit.h;
//   stop      main.cc and stop.cc, with Capture's Status.
//
// Debug injections (salvage.debug=...) live in debug.h, nowhere else. Everything here is
// built for the image and for the host, where host-tests/runtime/capture/capture-test.cc
// runs the whole capture over fake old memory (arch/host's fake arch, a fake console).
#pragma once

#include <cstdint>
#include <span>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>
#include <salvage/dtb/dtb.h>
#include <salvage/stream/encoder.h>

#include "options.h"

namespace salvage::capture {

/// What SalvageMain found at boot.
struct CaptureInput {
  const dtb::Dtb* tree = nullptr;
  std::span<const PhysRange> memory;  ///< /memory from the DTB.
  PhysRange image;                    ///< salvage itself (file, .bss, stacks).
  PhysRange dtb;                      ///< The DTB salvage was given.
  const Options* options = nullptr;
  /// /chosen/linux,elfcorehdr, as the boot report read it (null when absent or
  /// unreadable); bootargs elfcorehdr= is the fallback.
  const PhysRange* chosen_elfcorehdr = nullptr;
  uint64_t entry_ticks = 0;           ///< arch::Ticks() at SalvageMain's entry.
};

/// The page size of the stream (every architecture salvage runs on dumps 4 KiB pages).
inline constexpr uint32_t kPageSize = 4096;

/// What the planning found: the stream header and the ranges to send. Points into
/// static storage: valid until the next PlanCapture.
struct CapturePlan {
  stream::HeaderInfo info;
  std::span<const PhysRange> ranges;  ///< Whole pages, ascending, not touching.
  uint64_t total = 0;                 ///< Bytes in `ranges`.
  uint64_t entry_ticks = 0;
};

/// Discover and plan: finds and checks the elfcorehdr (/chosen/linux,elfcorehdr, else
/// elfcorehdr= in bootargs), collects what must not be dumped, and plans the ranges
/// (falling back to /memory minus the reservation when the header is unusable). Every
/// problem is reported on the console.
/// Errors: kNotFound (nothing left to dump).
Result<const CapturePlan*> PlanCapture(const CaptureInput& in);

/// Discover, plan, encode and emit to the sink the options name: the console UART, or
/// the salvage.target on a virtio-blk device or an SD card (ending early and marking the
/// dump truncated when the target is too small). A block sink without a confirmed
/// target is refused before any device is touched. Every problem is reported on the
/// console before the stream starts; nothing is printed on the console while a console
/// stream runs.
Status Capture(const CaptureInput& in);

}  // namespace salvage::capture
