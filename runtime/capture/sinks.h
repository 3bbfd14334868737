// The sinks: where the stream goes. One file each, one signature; Capture picks the one
// salvage.sink names with SinkFor, over a closed list (adding a sink: its file, its
// SinkKind in options.h, its declaration and one case here).
#pragma once

#include <salvage/base/status.h>

#include "capture.h"
#include "options.h"

namespace salvage::capture {

using EmitFn = Status (*)(const CaptureInput& in, const CapturePlan& plan);

/// The console UART: the stream interleaved with nothing (console-sink.cc).
Status EmitToConsole(const CaptureInput& in, const CapturePlan& plan);
/// A virtio-blk device behind virtio-mmio, found in the DTB (virtio-blk-sink.cc).
Status EmitToVirtioBlk(const CaptureInput& in, const CapturePlan& plan);
/// The first SD card that comes up behind a Raspberry Pi SD host controller (sd-sink.cc).
Status EmitToSd(const CaptureInput& in, const CapturePlan& plan);

/// The sink of `kind`; null for a value outside SinkKind. A switch, not a table of
/// function pointers: no relocations in the image, and -Wswitch names a missing case.
constexpr EmitFn SinkFor(SinkKind kind) {
  switch (kind) {
    case SinkKind::kUart: return EmitToConsole;
    case SinkKind::kVirtioBlk: return EmitToVirtioBlk;
    case SinkKind::kSd: return EmitToSd;
  }
  return nullptr;
}

}  // namespace salvage::capture
