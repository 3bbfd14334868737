// libFuzzer target for `salvage inspect FILE`: arbitrary bytes as a vmcore (ELF32 or
// ELF64 core file: program headers, notes, the SALVAGE verdict note) or as a saved
// stream. Built by host-tests/fuzz.cmake ("inspect"); seeds in
// host-tests/fuzz-corpus/inspect/ (vmcores written by salvage convert, elfcorehdrs,
// streams).
//
// Besides "no crash, no UB, no leak", it checks the exit code is one inspect.h lists:
// 0 complete and intact, 3 not, 1 unreadable or neither a stream nor a vmcore, 4 a
// vmcore without salvage's note (completeness unknown).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz-files.h"
#include "common/exit-codes.h"
#include "workstation/inspect/inspect.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  salvage::fuzz::RemoveScratchAtExit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace loader = salvage::loader;
  const std::string path = salvage::fuzz::WriteInput("vmcore", data, size);
  const int rc = loader::Inspect(path);
  salvage::fuzz::Check(rc == loader::kExitOk || rc == loader::kExitFailure || rc == loader::kExitIncomplete ||
                         rc == loader::kExitNotSalvage);
  salvage::fuzz::ClearScratch();
  return 0;
}
