// libFuzzer target for the SD dump file's extent mapping (loader/board/load/dump-file.h): the
// extents FS_IOC_FIEMAP reports (any offsets, lengths and flags), the block-by-block
// FIBMAP walk (ExtentsFromBlocks, with a lookup table from the input), what must be
// written before the blocks hold what Linux reads (RangesToWrite), the card sectors
// handed to the image (CardExtentsFromMap, ExtentsTarget), and the mountinfo and
// --file-size parsers around them. Built by host-tests/fuzz.cmake ("dump-file"); seeds
// in host-tests/fuzz-corpus/dump-file/ (host-tests/fuzz/make-seeds.cc).
//
// Input (little-endian, missing bytes read as zero):
//   u64 partition start, u64 partition sectors, u64 area bytes (rounded down to 4096),
//   u64 file size, u8 extent count N, N x {u64 logical, u64 physical, u64 length,
//   u32 flags}, u32 block size, u32 step, u16 block count M, M x u32 device block (0: a
//   hole; 0xffffffff: the lookup fails), then text: the --file-size value up to the
//   first newline, the rest as /proc/self/mountinfo.
//
// Besides "no crash, no UB, no leak", it checks dump-file.h's promises: card extents are
// inside the partition, non-empty (for a non-empty area), at most 64, add up to the area, and their target
// text parses (blockdump::ParseTarget) back to the same extents; RangesToWrite is
// sorted, disjoint and inside the file; the FIBMAP extents are in file order, the last
// one flagged FIEMAP_EXTENT_LAST.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/blockdump/target.h>

#include "fuzz-files.h"
#include "board/load/dump-file.h"

namespace {

using salvage::fuzz::Check;
namespace load = salvage::loader::load;

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), left_(size) {}
  uint64_t Le(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      if (left_ > 0) {
        v |= uint64_t{*p_++} << (8 * i);
        --left_;
      }
    }
    return v;
  }
  std::string_view Rest() const { return {reinterpret_cast<const char*>(p_), left_}; }

 private:
  const uint8_t* p_;
  size_t left_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  load::SdCardDevice card;
  card.partition = "mmcblk0p2";
  card.disk = "mmcblk0";
  card.start = in.Le(8);
  card.sectors = in.Le(8);
  const uint64_t area = in.Le(8) / 4096 * 4096;
  const uint64_t file_size = in.Le(8);
  std::vector<load::FileExtent> map(in.Le(1));
  for (load::FileExtent& e : map) {
    e.logical = in.Le(8);
    e.physical = in.Le(8);
    e.length = in.Le(8);
    e.flags = static_cast<uint32_t>(in.Le(4));
  }
  const uint32_t block_size = static_cast<uint32_t>(in.Le(4));
  const uint32_t step = static_cast<uint32_t>(in.Le(4));
  std::vector<uint32_t> blocks(in.Le(2));
  for (uint32_t& b : blocks) b = static_cast<uint32_t>(in.Le(4));
  const std::string_view text = in.Rest();

  // FIEMAP's extents to card sectors.
  auto card_extents = load::CardExtentsFromMap(map, area, card, "/var/crash/salvage.dump");
  if (card_extents.ok()) {
    const auto& ce = *card_extents;
    Check(ce.empty() == (area == 0) && ce.size() <= 64);
    uint64_t sectors = 0;
    for (const load::CardExtent& e : ce) {
      Check(e.count > 0 && e.first >= card.start && e.count <= card.sectors &&
            e.first - card.start <= card.sectors - e.count);
      sectors += e.count;
    }
    Check(sectors * 512 == area);
    if (ce.empty()) return 0;
    const std::string target = load::ExtentsTarget(ce);
    auto spec = salvage::blockdump::ParseTarget(target);
    Check(spec.ok() && spec->kind == salvage::blockdump::TargetKind::kExtents);
    Check(spec->extents.size == ce.size());
    for (size_t i = 0; i < ce.size(); ++i) {
      Check(spec->extents.items[i].first_lba == ce[i].first && spec->extents.items[i].count == ce[i].count);
    }
  } else {
    Check(!card_extents.error().empty());
  }

  // What must be zeroed first.
  uint64_t at = 0;
  for (const load::ByteRange& r : load::RangesToWrite(map, file_size)) {
    Check(r.length > 0 && r.offset >= at && r.offset <= file_size && r.length <= file_size - r.offset);
    at = r.offset + r.length;
  }

  // FIBMAP, a step at a time (block size: one of the file systems' sizes).
  static constexpr uint32_t kBlockSizes[4] = {512, 1024, 2048, 4096};
  const uint32_t bs = kBlockSizes[block_size & 3];
  const load::FileMap fib = load::ExtentsFromBlocks(
      [&](uint64_t i, uint64_t* phys) {
        Check(i < blocks.size());
        if (blocks[i] == 0xffffffffu) return EPERM;
        *phys = blocks[i];
        return 0;
      },
      blocks.size(), bs, step % 65);
  Check(fib.fibmap);
  if (fib.error != 0) Check(fib.extents.empty());
  for (size_t i = 0; i < fib.extents.size(); ++i) {
    const load::FileExtent& e = fib.extents[i];
    Check(e.length > 0 && e.length % bs == 0 && e.logical % bs == 0);
    if (i > 0) Check(fib.extents[i - 1].logical + fib.extents[i - 1].length <= e.logical);
    Check(((e.flags & load::fiemap::kLast) != 0) == (i + 1 == fib.extents.size()));
  }
  if (fib.error == 0) (void)load::CardExtentsFromMap(fib.extents, area, card, "/boot/salvage.dump");

  // --file-size, and the mount the file is on.
  const size_t nl = text.find('\n');
  auto fs = load::ParseFileSize(text.substr(0, nl));
  if (fs.ok() && fs->has_value()) Check(**fs >= load::kDumpFileRounding && **fs % load::kDumpFileRounding == 0);
  if (nl != std::string_view::npos) {
    if (auto m = load::FindMount(text.substr(nl + 1), 179, 2)) Check(!m->mount_point.empty() && !m->fs_type.empty());
  }
  return 0;
}
