// The sinks: where the stream goes. One file each, one signature; Capture picks the one
// salvage.sink names from kSinks, a closed list (adding a sink: its file, its SinkKind
// in options.h, one line here).
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

struct SinkEntry {
  SinkKind kind;
  EmitFn emit;
};
inline constexpr SinkEntry kSinks[] = {
    {SinkKind::kUart, EmitToConsole},
    {SinkKind::kVirtioBlk, EmitToVirtioBlk},
    {SinkKind::kSd, EmitToSd},
};

}  // namespace salvage::capture
