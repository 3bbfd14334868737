// libFuzzer target for the crashkernel= parser (loader/board/proc/crashkernel.h): one value
// and a whole /proc/cmdline, as the kernel reads them (memparse numbers, the ranges
// form, ,high ,low ,cma, @offset), against a RAM size the input chooses, and the advice
// salvage load prints from the result. Built by host-tests/fuzz.cmake ("crashkernel");
// seeds in host-tests/fuzz-corpus/crashkernel/.
//
// Input: bytes 0-7 the RAM size (little-endian; 0 is taken as 1 GiB), byte 8 the options
// (bit 0: round the RAM to 128 MiB; bit 1: the architecture has ,high/,low), the rest
// the text (as a value, and as a command line).
//
// Besides "no crash, no UB, no leak", it checks crashkernel.h's promises: every error
// names the value ("crashkernel=..."); a reservation that parses is below the RAM size
// (the kernel refuses one that is not); ,low only with ,high.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz-files.h"
#include "board/proc/crashkernel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using salvage::fuzz::Check;
  namespace proc = salvage::loader::proc;
  if (size < 9) return 0;
  uint64_t ram = 0;
  for (int i = 0; i < 8; ++i) ram |= uint64_t{data[i]} << (8 * i);
  if (ram == 0) ram = uint64_t{1} << 30;
  proc::CrashkernelCmdlineOptions o;
  o.value.round_ram_to_128m = (data[8] & 1) != 0;
  o.has_high_low = (data[8] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 9), size - 9);

  auto v = proc::ParseCrashkernel(text, ram, o.value);
  if (v.ok()) {
    if (v->syntax == proc::CrashkernelSyntax::kSize || v->syntax == proc::CrashkernelSyntax::kRanges) {
      Check(v->size < ram || v->size == 0);
    }
    (void)proc::CrashkernelAdvice(v->size, ram / 2);
    (void)proc::CrashkernelArgument(v->size);
  } else {
    Check(v.error().starts_with("crashkernel="));
  }

  auto req = proc::ParseCrashkernelCmdline(text, ram, o);
  if (req.ok()) {
    if (!req->present) Check(req->size == 0 && !req->high);
    if (req->high) Check(o.has_high_low);
    if (req->present && !req->parameter.empty()) Check(req->parameter.starts_with("crashkernel="));
    (void)proc::CrashkernelAdvice(req->size + 1, req->size);
  } else {
    Check(req.error().find("crashkernel=") != std::string::npos);
  }
  return 0;
}
