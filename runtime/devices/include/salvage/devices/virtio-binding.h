// salvage::devices — finding the virtio-blk device in the DTB: `virtio,mmio` nodes whose
// transport reports device ID 2. A node is only probed (three register reads), never
// set up here.
#pragma once

#include <cstdint>
#include <optional>

#include <salvage/base/status.h>
#include <salvage/dtb/dtb.h>

namespace salvage::devices {

struct VirtioBlkChoice {
  uint64_t base = 0;   ///< Physical base of the virtio-mmio register window.
  int node = -1;       ///< Its DT node.
};

/// The first enabled `virtio,mmio` node in DT order whose device is a block device
/// (magic "virt", version 1 or 2, DeviceID 2), or the one at `want_base` when given.
/// Errors: kNotFound naming what was looked for.
/// `probe(base)` reads the device ID of the transport at base, or 0 when it is not a
/// virtio-mmio device (the runtime passes an MMIO reader; host tests a fake).
template <class Probe>
Result<VirtioBlkChoice> FindVirtioBlk(const dtb::Dtb& tree, std::optional<uint64_t> want_base, Probe probe) {
  VirtioBlkChoice found;
  bool any_node = false;
  tree.ForEachCompatible("virtio,mmio", [&](int node) {
    if (found.node >= 0 || !tree.IsEnabled(node)) return;
    Result<uint64_t> base = tree.TranslateRegAddress(node, 0);
    if (!base.ok()) return;
    any_node = true;
    if (want_base && *want_base != *base) return;
    if (probe(*base) == 2) found = VirtioBlkChoice{*base, node};
  });
  if (found.node >= 0) return found;
  if (want_base) return Status(Error::kNotFound, "virtio-blk: no virtio-mmio block device at the address salvage.sink names");
  if (!any_node) return Status(Error::kNotFound, "virtio-blk: the DTB has no virtio,mmio node");
  return Status(Error::kNotFound, "virtio-blk: no virtio-mmio node has a block device (device ID 2)");
}

}  // namespace salvage::devices
