// Capture: discover and plan (plan.cc), then encode and emit into the sink the options
// name (sinks.h). See capture.h for the whole path.
#include "capture.h"

#include <salvage/console/console.h>

#include "debug.h"
#include "sinks.h"

namespace salvage::capture {

Status Capture(const CaptureInput& in) {
  // A block sink writes only where it was told to, and the whole device only when the
  // options confirm it: checked before any device is touched.
  if (const char* refusal = BlockTargetRefusal(*in.options)) {
    console::Printf("salvage: refused: %s\n", refusal);
    return Status{Error::kInvalidArgument, "the block sink's target is missing or not confirmed; nothing was written"};
  }
  SALVAGE_ASSIGN_OR_RETURN(const CapturePlan* plan, PlanCapture(in));
  if (in.options->debug_copy_bench) debug::CopyBench(in, *plan);
  if (const EmitFn emit = SinkFor(in.options->sink)) return emit(in, *plan);
  return Status{Error::kInvalidArgument, "capture: salvage.sink names no sink salvage has"};
}

}  // namespace salvage::capture
