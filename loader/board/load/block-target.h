// salvage::loader::load — the disk a block sink would write, checked before salvage load
// arms it (issue #10: no default may destroy data).
//
// The image writes a block device's raw sectors where `salvage.target=` says. salvage load
// finds the Linux block device the image will pick (the same device-tree walk the image
// makes: runtime/devices virtio-binding.h and sd-binding.h, then the platform device
// Linux names after the translated `reg`, drivers/of/platform.c of_device_make_bus_id:
// /sys/bus/platform/devices/a003e00.virtio_mmio/virtio0/block/vda,
// /sys/bus/platform/devices/3f202000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0), resolves
// the target on it with the image's own resolver (blockdump::ResolveTarget), and refuses
// an area that holds, or overlaps, something a user may need:
//   - a partition table (MBR, GPT) on a whole device;
//   - a file system, swap, LVM, LUKS or RAID signature at the start of the area or of a
//     partition it overlaps (read from the device itself: the first 128 KiB);
//   - a partition or device that is mounted (/proc/self/mountinfo: major:minor), backs
//     `/` or `/boot`, is active swap (/proc/swaps), or is held by another block device
//     (sysfs `holders/`: device-mapper, RAID).
// An area that holds a salvage dump (an older crash's) is accepted: that is what a dump
// partition looks like. Every path is read under --root, so host tests use fixture trees
// whose dev/ holds image files.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/blockdump/target.h>

#include "options.h"
#include "common/expected.h"

namespace salvage::loader::load {

/// A partition of a block device, as sysfs describes it.
struct BlockPartition {
  std::string name;                 ///< "vda2", "mmcblk0p1".
  std::string devno;                ///< "254:2".
  uint64_t start = 0, sectors = 0;  ///< 512-byte sectors (sysfs `start`, `size`).
  std::vector<std::string> holders; ///< sysfs holders/: "dm-0".
};

/// A whole block device, as sysfs describes it.
struct BlockDisk {
  std::string name;                 ///< "vda", "mmcblk0".
  std::string devno;                ///< "254:0".
  uint64_t sectors = 0;             ///< 512-byte sectors (sysfs `size`).
  uint32_t logical_block_size = 512;
  std::vector<BlockPartition> partitions;
  std::vector<std::string> holders;
  std::string found_at;             ///< The sysfs directory it was found through (for messages).
};

/// Reads /sys/block/NAME (under `root`): dev, size, queue/logical_block_size, holders/,
/// and every partition (a subdirectory with a `partition` file). Errors name the file.
Expected<BlockDisk> ReadBlockDisk(std::string_view root, const std::string& name);

/// The Linux block device under a platform device whose name starts with the address in
/// hex ("a003e00." for 0xa003e00), found by walking (at most 5 levels) for a `block/`
/// directory: the virtio device or the SD card below the controller. nullopt: no such
/// platform device, or none with a block device below it (driver not loaded, no card).
/// With `sd_memory_only`, a card whose `type` is not SD or SDcombo is skipped (the image
/// initialises SD memory cards only).
std::optional<std::string> BlockDeviceAt(std::string_view root, uint64_t address, bool sd_memory_only);

/// The block device the image would write for `options` (a virtio-blk or SD sink) with
/// the DTB `dtb`: the controllers in the image's order, the first with a Linux block
/// device. Errors: no such controller in the DTB; none has a Linux block device (saying
/// which platform devices were looked at and what to do).
Expected<BlockDisk> FindSinkDisk(std::string_view root, const Options& options, std::span<const uint8_t> dtb);

/// What a signature at the start of an area says it holds: "an ext2/3/4 file system",
/// "a vfat file system", "swap", "an MBR partition table", "a GPT partition table", ...;
/// nullopt for nothing known (zeros, old data, a salvage dump). `head`: the area's first
/// bytes (128 KiB reaches every signature looked for; fewer are read as far as they go).
std::optional<std::string> FindSignature(std::span<const uint8_t> head);

/// Bytes of the device: `length` at byte `offset` (fewer at its end). Errors name the file.
using DeviceReader = std::function<Expected<std::vector<uint8_t>>(uint64_t offset, size_t length)>;

/// Everything CheckBlockTarget looks at.
struct BlockTargetCheck {
  BlockDisk disk;
  blockdump::TargetSpec target;
  std::string target_text;  ///< As given: "gpt-name:dump".
  std::string mountinfo;    ///< /proc/self/mountinfo.
  std::string swaps;        ///< /proc/swaps.
  DeviceReader read;        ///< The whole device (/dev/NAME).
};

/// The whole check (file comment). Returns a sentence for the summary: "/dev/vda2
/// (gpt-name:dump, 64 MiB): no file system, not mounted". Errors: what was found, where,
/// and what to do ("/dev/vda2 (the target gpt-name:dump) holds an ext2/3/4 file system:
/// ..."); a target the resolver refuses on this device (its message).
Expected<std::string> CheckBlockTarget(const BlockTargetCheck& check);

/// Reads the device file under `root` (/dev/NAME) through pread.
DeviceReader DeviceFileReader(std::string_view root, const std::string& name);

}  // namespace salvage::loader::load
