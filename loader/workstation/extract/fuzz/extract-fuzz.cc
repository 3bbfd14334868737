// libFuzzer target for `salvage extract`: arbitrary bytes as a disk image holding a dump
// area (docs/disk-format.md) behind MBR or GPT partition tables or a list of extents:
// the target resolver, the header and trailer blocks, the area reader (extents, a
// source shorter or longer than the header says, the scan for the end of an interrupted
// dump), and the Receiver and vmcore writer behind them. Built by host-tests/fuzz.cmake
// ("extract"); seeds in host-tests/fuzz-corpus/extract/ (tools/fuzz-seeds.sh).
//
// Input: byte 0 picks the options (bits 0-2: the target, kTargets below; bits 3-4: the
// sector size, 0 = as extract guesses it), the rest is the disk image.
//
// In the fuzzing build every CRC and digest matches (salvage/base/fuzzing.h). Besides
// "no crash, no UB, no leak", it checks extract's promises (extract.h): the exit code is
// 0, 3 (a vmcore written) or 1 (none written), never 2 (the options are all valid).
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "workstation/extract/extract.h"
#include "common/exit-codes.h"
#include "fuzz-files.h"

namespace {

using salvage::fuzz::Check;
namespace loader = salvage::loader;

struct TargetChoice {
  const char* target;   // --target
  const char* extents;  // --extents
};
// The seeds use these layouts (tools/fuzz-seeds.sh, host-tests/fuzz/make-seeds.cc).
constexpr TargetChoice kTargets[8] = {
    {"", ""},                                               // the whole source is the area
    {"disk", ""},
    {"mbr:1", ""},
    {"mbr:2", ""},
    {"gpt-name:salvage-dump", ""},
    {"gpt-uuid:6a1b2c3d-4e5f-4061-8899-aabbccddeeff", ""},
    {"extents:8+40,64+72", ""},                             // an area in two pieces
    {"", "8+40"},                                           // the first extent only: follow the header's
};
constexpr uint32_t kSectorSizes[4] = {0, 512, 4096, 0};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  salvage::fuzz::RemoveScratchAtExit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string disk = salvage::fuzz::WriteInput("disk.img", data + 1, size - 1);
  loader::ExtractOptions o;
  o.source = disk;
  o.output = salvage::fuzz::ScratchDir() + "/vmcore";
  o.target = kTargets[data[0] & 7].target;
  o.extents = kTargets[data[0] & 7].extents;
  o.sector_size = kSectorSizes[(data[0] >> 3) & 3];
  o.progress = false;
  const int rc = loader::Extract(o);
  Check(rc == loader::kExitOk || rc == loader::kExitFailure || rc == loader::kExitIncomplete);
  struct stat st {};
  const bool written = stat(o.output.c_str(), &st) == 0;
  Check(written == (rc != loader::kExitFailure));
  salvage::fuzz::ClearScratch();
  return 0;
}
