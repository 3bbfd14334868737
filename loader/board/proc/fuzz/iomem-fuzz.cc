// libFuzzer target for loader/board/proc/iomem: arbitrary bytes as the text of /proc/iomem, in
// both address modes, and every accessor on what parses. Built by host-tests/fuzz.cmake
// (SALVAGE_FUZZERS, "iomem"); by hand:
//   clang++-16 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -I runtime/base/include loader/board/proc/iomem.cc loader/board/proc/fuzz/iomem-fuzz.cc -o iomem-fuzz
//
// Besides "no crash, no UB", it checks what ParseIomem promises (iomem.h) and traps when a
// promise is broken: those are our invariants, not the input's.
#include "../iomem.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

namespace proc = salvage::loader::proc;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckTree(const proc::Iomem& iomem, std::string_view text) {
  const auto& entries = iomem.entries();
  uint32_t last_line = 0;
  bool all_zero = !entries.empty();
  for (size_t i = 0; i < entries.size(); ++i) {
    const proc::IomemEntry& e = entries[i];
    Check(e.start <= e.end);
    Check(e.line > last_line);  // in file order, one entry per line
    last_line = e.line;
    Check(e.name.size() <= text.size());
    all_zero = all_zero && e.start == 0 && e.end == 0;
    if (e.parent < 0) {
      Check(e.depth == 0);
    } else {
      Check(static_cast<size_t>(e.parent) < i);
      const proc::IomemEntry& p = entries[static_cast<size_t>(e.parent)];
      Check(p.depth + 1 == e.depth);
      Check(p.start <= e.start && e.end <= p.end);
    }
  }
  Check(iomem.addresses_hidden() == all_zero);

  uint64_t total = 0;
  uint64_t prev_base = 0;
  for (const salvage::PhysRange& r : iomem.SystemRam()) {
    Check(r.size != 0);
    Check(r.base >= prev_base);  // sorted
    prev_base = r.base;
    total += r.size;
  }
  Check(iomem.SystemRamBytes() == total);
  for (const salvage::PhysRange& r : iomem.CrashKernel()) Check(r.size != 0);
  if (auto code = iomem.KernelCode()) {
    auto image = iomem.KernelImage();
    Check(image.has_value() && image->base == code->base && image->size >= code->size);
  } else {
    Check(!iomem.KernelImage().has_value());
  }
  (void)iomem.Find("reserved");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto strict = proc::ParseIomem(text, proc::IomemAddresses::kRequired);
  auto lenient = proc::ParseIomem(text, proc::IomemAddresses::kMayBeHidden);
  if (strict.ok()) {
    Check(lenient.ok());
    Check(!strict->addresses_hidden());
    CheckTree(*strict, text);
  } else {
    Check(!strict.error().empty());
  }
  if (lenient.ok()) {
    CheckTree(*lenient, text);
    // The modes differ only on an all-zero file.
    Check(strict.ok() != lenient->addresses_hidden());
  } else {
    Check(!strict.ok() && lenient.error() == strict.error());
  }
  return 0;
}
