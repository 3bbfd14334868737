// salvage::arch — identity-map page table builders, architecture-neutral so host tests
// can check every descriptor. Enabling the MMU is CPU-specific (arch/<cpu>/mmu.cc).
//
// Lpae4kTable: VMSAv8-64 stage 1, 4 KiB granule, 39-bit VA starting at level 1
//   (Arm ARM DDI 0487, D8.3 "Translation table descriptor formats").
// ShortSectionTable: VMSAv7 short-descriptor format, 1 MiB sections only
//   (Arm ARM DDI 0406C, B3.5.1 "Short-descriptor translation table format descriptors").
#pragma once

#include <cstddef>
#include <cstdint>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::arch {

enum class MemType : uint8_t {
  kDevice,  ///< Device-nGnRE / Shared Device, execute-never.
  kNormal,  ///< Normal, inner/outer write-back read/write-allocate, inner shareable.
};

namespace pte {
// MAIR attribute indexes used by Lpae4kTable; the CPU code programs MAIR to match.
inline constexpr uint64_t kMairIndexDevice = 0;
inline constexpr uint64_t kMairIndexNormal = 1;
inline constexpr uint64_t kMairValue = (0x04ull << (8 * kMairIndexDevice))   // Device-nGnRE
                                     | (0xffull << (8 * kMairIndexNormal));  // Normal WB RW-alloc

// VMSAv8-64 descriptor fields.
inline constexpr uint64_t kValid = 1ull << 0;
inline constexpr uint64_t kTable = 1ull << 1;       // at levels 0-2: next-level table; at level 3: page
inline constexpr uint64_t kAttrIndexShift = 2;      // AttrIndx[2:0], bits 4:2
inline constexpr uint64_t kApEl0 = 1ull << 6;       // AP[1]; RES1 in the EL2 regime
inline constexpr uint64_t kShInner = 3ull << 8;     // SH[1:0] = inner shareable
inline constexpr uint64_t kAccessFlag = 1ull << 10; // AF
inline constexpr uint64_t kPxn = 1ull << 53;
inline constexpr uint64_t kUxn = 1ull << 54;        // XN in the EL2 regime
inline constexpr uint64_t kAddrMask = 0x0000fffffffff000ull;  // bits 47:12

/// A block (levels 1-2) or page (level 3) descriptor mapping `pa` with `type`.
/// `el2`: the single-range EL2 regime, where AP[1] is RES1.
constexpr uint64_t LpaeLeaf(uint64_t pa, int level, MemType type, bool el2) {
  uint64_t d = (pa & kAddrMask) | kValid | kAccessFlag | (level == 3 ? kTable : 0);
  if (el2) d |= kApEl0;
  if (type == MemType::kNormal) {
    d |= (kMairIndexNormal << kAttrIndexShift) | kShInner;
  } else {
    d |= (kMairIndexDevice << kAttrIndexShift) | kPxn | kUxn;
  }
  return d;
}
constexpr uint64_t LpaeTable(uint64_t table_pa) { return (table_pa & kAddrMask) | kValid | kTable; }

// VMSAv7 short-descriptor section fields.
inline constexpr uint32_t kSection = 0b10;
inline constexpr uint32_t kSectionB = 1u << 2;
inline constexpr uint32_t kSectionC = 1u << 3;
inline constexpr uint32_t kSectionXn = 1u << 4;
inline constexpr uint32_t kSectionApPrivRw = 0b01u << 10;  // AP[1:0]=01, AP[2]=0: PL1 read/write
inline constexpr uint32_t kSectionTex1 = 0b001u << 12;     // with C=B=1: Normal WB write-allocate
inline constexpr uint32_t kSectionShared = 1u << 16;

/// `shareable_normal` false: Normal memory without the S bit (an ARMv6 uniprocessor
/// such as the ARM1176 does not cache Shareable Normal memory).
constexpr uint32_t ShortSection(uint32_t pa, MemType type, bool shareable_normal = true) {
  uint32_t d = (pa & 0xfff00000u) | kSection | kSectionApPrivRw;
  if (type == MemType::kNormal) {
    d |= kSectionTex1 | kSectionC | kSectionB | (shareable_normal ? kSectionShared : 0);
  } else {
    d |= kSectionB | kSectionXn;  // TEX=000 C=0 B=1: Shared Device
  }
  return d;
}
}  // namespace pte

/// Builds an identity map in caller-provided 4 KiB tables. Later Map() calls override
/// earlier ones, splitting blocks where needed.
class Lpae4kTable {
 public:
  static constexpr size_t kEntries = 512;
  static constexpr int kVaBits = 39;
  static constexpr uint64_t kVaLimit = 1ull << kVaBits;
  using Table = uint64_t[kEntries];

  /// `to_phys` turns a table's address into the physical address put in descriptors
  /// (identity on the target). Clears the tables.
  Lpae4kTable(Table* tables, size_t count, bool el2, uint64_t (*to_phys)(const void*));

  /// Maps [range.base, range.base + range.size), rounded out to 4 KiB, as `type`.
  /// Errors: kOutOfRange beyond 2^39, kResourceExhausted when the tables run out.
  Status Map(PhysRange range, MemType type);

  /// Physical address of the level-1 table (for TTBR0).
  uint64_t RootPhys() const { return to_phys_(&tables_[0]); }
  const Table& Root() const { return tables_[0]; }
  size_t TablesUsed() const { return used_; }

 private:
  Status MapLevel(Table& table, int level, uint64_t base, uint64_t end, MemType type);
  Table* NewTable();

  Table* tables_;
  size_t count_;
  size_t used_ = 1;
  bool el2_;
  uint64_t (*to_phys_)(const void*);
};

/// Builds a 4096-entry VMSAv7 section map (covers 4 GiB) in a caller-provided table
/// (16 KiB aligned on the target). Map() overrides earlier calls.
class ShortSectionTable {
 public:
  static constexpr size_t kEntries = 4096;
  static constexpr uint64_t kSectionSize = 1u << 20;

  /// Clears the table (every section faults). `shareable_normal`: see pte::ShortSection.
  explicit ShortSectionTable(uint32_t* table, bool shareable_normal = true);
  /// Maps the range rounded out to 1 MiB. Addresses at or above 4 GiB are out of
  /// reach: kOutOfRange when the range starts there; a range that crosses 4 GiB is
  /// mapped up to it.
  Status Map(PhysRange range, MemType type);
  /// Makes one section fault again.
  void Unmap(uint32_t addr) { table_[addr >> 20] = 0; }
  const uint32_t* Data() const { return table_; }

 private:
  uint32_t* table_;
  bool shareable_normal_;
};

}  // namespace salvage::arch
