// libFuzzer target for `salvage recv` / `salvage convert`: arbitrary bytes as a saved
// stream (a serial capture: console text, records, damage), through the Receiver, the
// stream decoder and the vmcore writer, into a real vmcore file. Built by
// host-tests/fuzz.cmake ("receiver"); seeds in host-tests/fuzz-corpus/receiver/.
//
// In the fuzzing build every record CRC and the trailer's digest match
// (salvage/base/fuzzing.h), so mutated headers, frames and trailers reach the layout
// and the writer. Besides "no crash, no UB, no leak, memory bounded by -rss_limit_mb",
// it checks what recv promises (receiver.h, README "Receiving a dump"):
//   - the exit code is 0, 1 or 3 (never 2: the output does not exist beforehand);
//   - a vmcore is left exactly when the exit code is 0 or 3, and `salvage inspect`
//     reads it (0 or 3), saying "complete and intact" (0) when recv did;
//   - with exit code 1 no file that looks like a dump is left behind.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz-files.h"
#include "common/exit-codes.h"
#include "workstation/inspect/inspect.h"
#include "workstation/recv/receiver.h"
#include "workstation/recv/source.h"

namespace {

using salvage::fuzz::Check;
namespace loader = salvage::loader;

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  salvage::fuzz::RemoveScratchAtExit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = salvage::fuzz::WriteInput("input.stream", data, size);
  const std::string output = salvage::fuzz::ScratchDir() + "/vmcore";
  int rc;
  {
    loader::Source source;
    Check(source.Open(input, 0, 0).ok());
    loader::ReceiveOptions o;
    o.output = output;
    o.progress = false;
    o.echo_text = false;
    o.idle_timeout_s = 0;
    o.tool = "convert";
    loader::Receiver receiver(o);
    rc = receiver.Run(source);
  }
  Check(rc == loader::kExitOk || rc == loader::kExitFailure || rc == loader::kExitIncomplete);
  if (rc == loader::kExitFailure) {
    Check(!Exists(output));
  } else {
    Check(Exists(output));
    const int seen = loader::Inspect(output);
    Check(seen == loader::kExitOk || seen == loader::kExitIncomplete);
    if (rc == loader::kExitOk) Check(seen == loader::kExitOk);
  }
  salvage::fuzz::ClearScratch();
  return 0;
}
