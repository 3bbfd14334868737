// Identity-map page table builders; see pagetable.h.
#include <salvage/arch/pagetable.h>

namespace salvage::arch {
namespace {
constexpr uint64_t kPage = 4096;
// Bytes mapped by one entry at levels 1, 2, 3.
constexpr uint64_t EntrySize(int level) { return 1ull << (12 + 9 * (3 - level)); }
}  // namespace

Lpae4kTable::Lpae4kTable(Table* tables, size_t count, bool el2, uint64_t (*to_phys)(const void*))
    : tables_(tables), count_(count), el2_(el2), to_phys_(to_phys) {
  for (size_t t = 0; t < count_; ++t)
    for (size_t i = 0; i < kEntries; ++i) tables_[t][i] = 0;
}

Lpae4kTable::Table* Lpae4kTable::NewTable() {
  if (used_ >= count_) return nullptr;
  return &tables_[used_++];
}

Status Lpae4kTable::Map(PhysRange range, MemType type) {
  if (range.Empty()) return Status::Ok();
  if (range.base >= kVaLimit || range.Last() >= kVaLimit)
    return Status(Error::kOutOfRange, "mmu: range beyond the 39-bit identity map");
  uint64_t base = AlignDown(range.base, kPage);
  uint64_t end = AlignUp(range.Last() + 1, kPage);
  return MapLevel(tables_[0], 1, base, end, type);
}

Status Lpae4kTable::MapLevel(Table& table, int level, uint64_t base, uint64_t end, MemType type) {
  const uint64_t size = EntrySize(level);
  for (uint64_t addr = base; addr < end;) {
    const size_t index = (addr / size) % kEntries;
    const uint64_t entry_base = AlignDown(addr, size);
    const uint64_t entry_end = entry_base + size;
    const uint64_t chunk_end = end < entry_end ? end : entry_end;
    uint64_t& desc = table[index];
    const bool whole = addr == entry_base && chunk_end == entry_end;
    const bool is_table = level < 3 && (desc & (pte::kValid | pte::kTable)) == (pte::kValid | pte::kTable);
    if (whole && !is_table) {
      desc = pte::LpaeLeaf(entry_base, level, type, el2_);
    } else if (level == 3) {
      return Status(Error::kInvalidArgument, "mmu: unaligned page mapping");  // unreachable: 4K rounding
    } else {
      Table* next;
      if (is_table) {
        // Find the table from its physical address among ours.
        next = nullptr;
        for (size_t t = 0; t < used_; ++t)
          if (to_phys_(&tables_[t]) == (desc & pte::kAddrMask)) next = &tables_[t];
        if (next == nullptr) return Status(Error::kMalformed, "mmu: table descriptor points outside the pool");
      } else {
        next = NewTable();
        if (next == nullptr) return Status(Error::kResourceExhausted, "mmu: out of page tables");
        if (desc & pte::kValid) {
          // Split the block: every sub-entry inherits its type.
          const MemType old = ((desc >> pte::kAttrIndexShift) & 7) == pte::kMairIndexNormal ? MemType::kNormal
                                                                                        : MemType::kDevice;
          const uint64_t sub = EntrySize(level + 1);
          for (size_t i = 0; i < kEntries; ++i)
            (*next)[i] = pte::LpaeLeaf(entry_base + i * sub, level + 1, old, el2_);
        }
        desc = pte::LpaeTable(to_phys_(next));
      }
      SALVAGE_TRY(MapLevel(*next, level + 1, addr, chunk_end, type));
    }
    addr = chunk_end;
  }
  return Status::Ok();
}

ShortSectionTable::ShortSectionTable(uint32_t* table, bool shareable_normal)
    : table_(table), shareable_normal_(shareable_normal) {
  for (size_t i = 0; i < kEntries; ++i) table_[i] = 0;
}

Status ShortSectionTable::Map(PhysRange range, MemType type) {
  if (range.Empty()) return Status::Ok();
  if (range.base >= (1ull << 32)) return Status(Error::kOutOfRange, "mmu: range above 4 GiB (no LPAE map yet)");
  uint64_t first = range.base >> 20;
  uint64_t last = range.Last() >> 20;
  if (last >= kEntries) last = kEntries - 1;
  for (uint64_t s = first; s <= last; ++s) table_[s] = pte::ShortSection(static_cast<uint32_t>(s << 20), type, shareable_normal_);
  return Status::Ok();
}

}  // namespace salvage::arch
