// libFuzzer target for runtime/elfcore: arbitrary bytes as an elfcorehdr, as a PT_NOTE
// segment and as a VMCOREINFO descriptor. Not built by CMake yet; by hand:
//   clang++-16 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -I runtime/base/include -I runtime/elfcore/include \
//     runtime/elfcore/elfcore.cc runtime/elfcore/fuzz/elfcore-fuzz.cc -o elfcore-fuzz
//
// Besides "no crash, no UB", it checks what MakePlan promises (Plan's comment in
// elfcore.h) and traps when a promise is broken: those are our invariants, not the
// input's.
#include <salvage/elfcore/elfcore.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace {

using salvage::PhysRange;
namespace elfcore = salvage::elfcore;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Overlap(const PhysRange& a, const PhysRange& b) {
  if (a.size == 0 || b.size == 0) return false;
  uint64_t a_last = a.base + a.size - 1 < a.base ? ~uint64_t{0} : a.base + a.size - 1;
  uint64_t b_last = b.base + b.size - 1 < b.base ? ~uint64_t{0} : b.base + b.size - 1;
  return a.base <= b_last && b.base <= a_last;
}

// Every byte of r lies in some range of `set` (r is small enough to probe its ends and
// the ends of the set's ranges inside it).
bool Inside(const PhysRange& r, std::span<const PhysRange> set) {
  uint64_t cur = r.base;
  const uint64_t last = r.Last();
  while (true) {
    uint64_t best = 0;
    bool found = false;
    for (const PhysRange& s : set) {
      if (s.size == 0) continue;
      uint64_t s_last = s.base + s.size - 1 < s.base ? ~uint64_t{0} : s.base + s.size - 1;
      if (s.base <= cur && cur <= s_last && (!found || s_last > best)) {
        best = s_last;
        found = true;
      }
    }
    if (!found) return false;
    if (best >= last) return true;
    cur = best + 1;
  }
}

void CheckPlan(const elfcore::Plan& plan, const elfcore::PlanInput& in) {
  for (size_t i = 0; i < plan.ranges.size(); ++i) {
    const PhysRange& r = plan.ranges[i];
    Check(r.size != 0 && r.Last() >= r.base && r.Last() <= elfcore::kMaxPhysAddr);
    if (i > 0) Check(plan.ranges[i - 1].Last() < r.base);
    Check(Inside(r, in.memory));
    for (const PhysRange& res : in.reserved) Check(!Overlap(r, res));
  }
  for (const PhysRange& n : plan.notes) {
    Check(Inside(n, in.memory));
    for (const PhysRange& res : in.reserved) Check(!Overlap(n, res));
  }
}

// Static: together they are over 14 KiB, as they would be in the image.
elfcore::CoreHeader g_header;
elfcore::Plan g_plan;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  elfcore::DiscardingDiagnostics diag;

  // 1. As an elfcorehdr, planned against a fixed board (1 GiB at 0x40000000, 4 GiB above
  //    4 GiB, a 64 MiB crashkernel) and against ranges taken from the input's last
  //    128 bytes (4 memory, 4 reserved), so the planner sees arbitrary layouts too.
  const bool have_header = elfcore::ParseCoreHeaderInto(bytes, diag, &g_header).ok();
  // Sized from its first bytes (elfcorehdr=ADDR without a size): never beyond the limit,
  // never below the probe.
  if (salvage::Result<uint64_t> sized = elfcore::CoreHeaderSize(bytes); sized.ok()) {
    Check(*sized >= elfcore::kCoreHeaderProbeSize && *sized <= elfcore::kMaxCoreHeaderSize);
  }
  const PhysRange board_memory[] = {{0x40000000, 0x40000000}, {0x100000000, 0x100000000}};
  const PhysRange board_reserved[] = {{0x7a000000, 0x4000000}, {0x7dfff000, 0x1000}};
  PhysRange tail_memory[4] = {};
  PhysRange tail_reserved[4] = {};
  if (size >= 128) {
    const uint8_t* t = data + size - 128;
    for (int i = 0; i < 4; ++i) {
      tail_memory[i] = PhysRange{salvage::LoadLe64(t + 16 * i), salvage::LoadLe64(t + 16 * i + 8)};
      tail_reserved[i] = PhysRange{salvage::LoadLe64(t + 64 + 16 * i), salvage::LoadLe64(t + 64 + 16 * i + 8)};
    }
  }
  const elfcore::PlanInput inputs[] = {{board_memory, board_reserved}, {tail_memory, tail_reserved}};
  const elfcore::CoreHeader* const headers[] = {have_header ? &g_header : nullptr, nullptr};
  for (const elfcore::PlanInput& in : inputs) {
    for (const elfcore::CoreHeader* h : headers) {
      if (elfcore::MakePlanInto(h, in, diag, &g_plan).ok()) CheckPlan(g_plan, in);
    }
  }

  // 2. As a PT_NOTE segment.
  (void)elfcore::ForEachNote(bytes, [&](std::string_view name, uint32_t, std::span<const uint8_t> desc) {
    Check(name.data() >= reinterpret_cast<const char*>(data) &&
          name.data() + name.size() <= reinterpret_cast<const char*>(data) + size);
    Check(desc.empty() || (desc.data() >= data && desc.data() + desc.size() <= data + size));
  });
  (void)elfcore::CountPrstatus(bytes);
  auto vmcoreinfo = elfcore::FindVmcoreinfo(bytes);
  if (vmcoreinfo.ok() && !vmcoreinfo->empty()) {
    (void)elfcore::VmcoreinfoField(*vmcoreinfo, "OSRELEASE");
  }

  // 3. As a VMCOREINFO descriptor; the key comes from the input's first bytes.
  size_t key_len = size == 0 ? 0 : data[0] % 16;
  if (key_len + 1 > size) key_len = 0;
  std::string_view key(reinterpret_cast<const char*>(data) + (size == 0 ? 0 : 1), key_len);
  std::string_view value = elfcore::VmcoreinfoField(bytes, key);
  Check(value.empty() || (value.data() >= reinterpret_cast<const char*>(data) &&
                          value.data() + value.size() <= reinterpret_cast<const char*>(data) + size));
  (void)elfcore::VmcoreinfoField(bytes, "PAGESIZE=");
  return 0;
}
