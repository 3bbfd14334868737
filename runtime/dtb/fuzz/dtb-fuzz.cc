// libFuzzer target for the image's device-tree code: arbitrary bytes as the DTB the
// crashed kernel's kexec passed (runtime/dtb: Open with its checks, /memory, /chosen,
// stdout-path and aliases, reg translation through ranges, clocks, PSCI), the device
// bindings of runtime/devices (console UART, virtio-blk, SD host controllers, the reset
// device) and the bootargs / salvage,options words (runtime/options.h), in the order
// runtime/main.cc and runtime/capture.cc ask them. Built by host-tests/fuzz.cmake ("dtb");
// seeds in host-tests/fuzz-corpus/dtb/ (QEMU virt DTBs, Debian's Raspberry Pi DTBs, the
// host-test fixtures, DTBs edited by salvage load).
//
// Besides "no crash, no UB" (libfdt itself is the system's, not instrumented, but a
// wild read from it still faults), it checks what dtb.h promises: every range a walker
// passes is non-empty and does not wrap, strings are inside the blob, NodePath and
// DescribeError terminate what they write within the buffer.
#include <fcntl.h>
#include <libfdt.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <salvage/devices/reset-binding.h>
#include <salvage/devices/sd-binding.h>
#include <salvage/devices/uart-binding.h>
#include <salvage/devices/virtio-binding.h>
#include <salvage/dtb/dtb.h>

#include "fuzz-files.h"
#include "options.h"

namespace {

using salvage::PhysRange;
using salvage::fuzz::Check;
namespace dtb = salvage::dtb;
namespace devices = salvage::devices;

void CheckRange(const PhysRange& r) { Check(r.size == 0 || r.base + (r.size - 1) >= r.base); }

void CheckInside(std::string_view s, const uint8_t* blob, size_t size) {
  if (s.empty()) return;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  Check(p >= blob && p + s.size() <= blob + size);
}

void CheckText(const char* buf, size_t n, size_t len) { Check(n < len && buf[n] == 0 && std::strlen(buf) == n); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The image gets the blob 8-byte aligned (the boot protocols require it).
  std::vector<uint64_t> aligned((size + 7) / 8 + 1);
  std::memcpy(aligned.data(), data, size);
  const auto* blob = reinterpret_cast<const uint8_t*>(aligned.data());
  salvage::Result<dtb::Dtb> opened = dtb::Dtb::Open(blob, size);
  if (!opened.ok()) return 0;
  const dtb::Dtb& tree = *opened;
  Check(tree.TotalSize() <= size);
  char buf[256];

  // runtime/main.cc: memory, the console, the boot report.
  (void)tree.RootAddressCells();
  (void)tree.RootSizeCells();
  salvage::Status s = tree.ForEachMemoryRange([](PhysRange r) { CheckRange(r); });
  if (!s.ok()) CheckText(buf, tree.DescribeError(s, buf, sizeof(buf)), sizeof(buf));
  (void)tree.ForEachUsableMemoryRange([](PhysRange r) { CheckRange(r); });
  if (auto e = tree.ChosenElfCoreHdr(); e.ok() && e->has_value()) CheckRange(**e);
  const std::string_view bootargs = tree.ChosenBootargs();
  CheckInside(bootargs, blob, size);
  CheckInside(tree.ChosenStdoutPath(), blob, size);
  (void)tree.ResolveStdoutPath();
  const devices::ConsoleChoice console = devices::ChooseConsole(tree);
  if (console.driver != salvage::uart::kNoDriver) Check(console.node >= 0);
  (void)devices::FindResetDevice(tree);
  if (auto m = tree.PsciMethod(); m.ok()) Check(*m == "hvc" || *m == "smc");

  // The options, as main.cc reads them (bootargs, then /chosen salvage,options).
  std::string_view salvage_options;
  const int chosen = fdt_path_offset(blob, "/chosen");
  if (chosen >= 0) {
    if (auto v = tree.GetString(chosen, "salvage,options"); v.ok()) salvage_options = *v;
  }
  CheckInside(salvage_options, blob, size);
  const salvage::Options options = salvage::ParseOptions(bootargs, salvage_options);
  Check(options.unknown_count <= salvage::Options::kMaxUnknown && options.malformed_count <= salvage::Options::kMaxUnknown);

  // runtime/capture.cc: the block devices. The probe says "block device" for every
  // other base, so both branches of the bindings run.
  (void)devices::FindVirtioBlk(tree, std::nullopt, [](uint64_t base) { return (base >> 9) & 1 ? 2u : 1u; });
  (void)devices::FindVirtioBlk(tree, options.sink_address, [](uint64_t) { return 2u; });
  devices::SdChoice sd[devices::kMaxSdControllers];
  if (auto n = devices::FindSdControllers(tree, std::nullopt, sd); n.ok()) Check(*n >= 1 && *n <= devices::kMaxSdControllers);
  (void)devices::FindSdControllers(tree, options.sink_address, sd);

  // Every node (bounded: a blob of this size has at most size / 8 nodes), every query.
  int visited = 0;
  for (int node = fdt_next_node(blob, -1, nullptr); node >= 0 && visited < 4096;
       node = fdt_next_node(blob, node, nullptr), ++visited) {
    CheckText(buf, tree.NodePath(node, buf, sizeof(buf)), sizeof(buf));
    Check(tree.NodePath(node, buf, 0) == 0);
    CheckText(buf, tree.NodePath(node, buf, 2), 2);
    (void)tree.IsEnabled(node);
    for (int i = 0; i < 2; ++i) {
      auto a = tree.TranslateRegAddress(node, i);
      if (!a.ok()) CheckText(buf, tree.DescribeError(a.status(), buf, sizeof(buf)), sizeof(buf));
      (void)tree.RegSize(node, i);
    }
    (void)tree.GetU32(node, "#address-cells");
    if (auto c = tree.GetString(node, "compatible"); c.ok()) CheckInside(*c, blob, size);
    (void)tree.PhandleTarget(node, "clocks");
    (void)tree.FixedClockRate(node);
    const devices::UartDriver driver = devices::MatchUart(tree, node);
    if (driver != salvage::uart::kNoDriver) (void)devices::UartConfigFromNode(tree, node, driver);
    if (auto k = devices::MatchSd(tree, node)) (void)devices::SdChoiceFromNode(tree, node, *k);
  }
  return 0;
}
