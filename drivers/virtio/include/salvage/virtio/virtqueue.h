// salvage::virtio::SplitVirtqueue — a split virtqueue in memory the caller provides,
// used by polling.
//
// Follows Virtual I/O Device (VIRTIO) Version 1.2, §2.7 Split Virtqueues: §2.7.2 (the
// legacy layout), §2.7.5 (descriptor table), §2.7.6 (available ring), §2.7.8 (used
// ring), §2.7.13 (supplying buffers, with its barriers) and §2.7.14 (receiving used
// buffers). Section numbers below refer to it.
//
// One layout serves both transports: the legacy contiguous layout of §2.7.2 (descriptor
// table, available ring, padding to 4096, used ring), which also meets the alignments a
// modern device asks for (16, 2, 4). Fields are written in the CPU's byte order, which
// is what legacy devices expect and, on the little-endian CPUs salvage runs on, what
// modern ones expect too.
//
// Ordering. The ring is memory shared with the device; the CPU may reorder our stores
// and loads as the device sees them. The `Barrier` policy supplies the two fences the
// spec asks for: Barrier::Write() between filling descriptors and the ring entry and
// publishing the new available idx (§2.7.13.3.1), Barrier::Read() between seeing a new
// used idx and reading the used element it covers (§2.7.14). On the target these are
// the arch barriers (e.g. `dmb oshst` / `dmb oshld` on arm64, `fence w,w` / `fence r,r`
// on RISC-V), each also a compiler barrier; in host tests they may be no-ops. The
// notification that follows is an Io register write, and Io orders its accesses after
// earlier memory accesses (drivers/io.h). The ring indices are accessed through
// volatile so that a polling loop rereads them.
//
// The memory must be coherent with the device (it is on QEMU's virt machines, whose
// virtio-mmio nodes are dma-coherent): this file does no cache maintenance.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::virtio {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "virtio rings are written in CPU byte order: modern devices need little-endian");

/// The fences a virtqueue needs between its accesses to memory the device reads:
///   B::Write()  earlier stores are visible to the device before later stores.
///   B::Read()   later loads do not see older data than earlier loads.
template <class B>
concept DmaBarrier = requires {
  B::Write();
  B::Read();
};

/// Memory the driver owns and the device reaches by physical address: rings and request
/// headers live in `bytes`. `phys_offset` turns a CPU address into the address the
/// device sees: phys = address + phys_offset (mod 2^64). On the target salvage is
/// identity-mapped and phys_offset is 0; host tests use it to place the memory where a
/// fake device expects it. The same translation is applied to data buffers handed to a
/// driver, so they too must be physically contiguous memory the device can reach.
struct DmaMemory {
  std::span<uint8_t> bytes;
  uint64_t phys_offset = 0;

  /// The physical address of `p` as the device sees it.
  PhysAddr ToPhys(const void* p) const {
    return PhysAddr{static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)) + phys_offset};
  }
};

namespace virtq {

/// struct virtq_desc (§2.7.5): one buffer, device-readable unless kWrite.
struct Desc {
  uint64_t addr;   ///< Physical address of the buffer.
  uint32_t len;    ///< Its length in bytes.
  uint16_t flags;  ///< kNext | kWrite | kIndirect.
  uint16_t next;   ///< The next descriptor of the chain, when kNext.

  static constexpr uint16_t kNext = 1u << 0;      ///< VIRTQ_DESC_F_NEXT: the chain continues.
  static constexpr uint16_t kWrite = 1u << 1;     ///< VIRTQ_DESC_F_WRITE: device-writable.
  static constexpr uint16_t kIndirect = 1u << 2;  ///< VIRTQ_DESC_F_INDIRECT: never used here.
  // 15:3 Reserved.
};
static_assert(sizeof(Desc) == 16);
static_assert(offsetof(Desc, addr) == 0 && offsetof(Desc, len) == 8 && offsetof(Desc, flags) == 12 &&
              offsetof(Desc, next) == 14);

/// struct virtq_used_elem (§2.7.8): a finished chain.
struct UsedElem {
  uint32_t id;   ///< Head descriptor of the chain.
  uint32_t len;  ///< Bytes the device wrote into the chain's device-writable buffers.
};
static_assert(sizeof(UsedElem) == 8);

/// struct virtq_avail (§2.7.6): le16 flags, le16 idx, le16 ring[size], le16 used_event.
inline constexpr size_t kAvailFlags = 0;
inline constexpr size_t kAvailIdx = 2;
inline constexpr size_t kAvailRing = 4;
inline constexpr uint16_t kAvailFNoInterrupt = 1u << 0;  ///< VIRTQ_AVAIL_F_NO_INTERRUPT.

/// struct virtq_used (§2.7.8): le16 flags, le16 idx, virtq_used_elem ring[size], le16 avail_event.
inline constexpr size_t kUsedFlags = 0;
inline constexpr size_t kUsedIdx = 2;
inline constexpr size_t kUsedRing = 4;

/// The largest queue size a split virtqueue may have (§2.7); sizes are powers of 2.
inline constexpr uint32_t kMaxSize = 32768;

/// Queue Align of the legacy layout (§2.7.2), also the legacy GuestPageSize we use.
inline constexpr size_t kAlign = 4096;

constexpr size_t AlignUpSize(size_t v, size_t align) { return (v + align - 1) & ~(align - 1); }

/// Offsets and size of a queue of `size` entries in the legacy layout (§2.7.2):
/// desc[size], then avail (with used_event), padding to kAlign, then used (with
/// avail_event), padded to kAlign.
constexpr size_t AvailOffset(uint32_t size) { return sizeof(Desc) * size; }
constexpr size_t UsedOffset(uint32_t size) {
  return AlignUpSize(sizeof(Desc) * size + sizeof(uint16_t) * (3 + size), kAlign);
}
constexpr size_t RingBytes(uint32_t size) {
  return UsedOffset(size) + AlignUpSize(sizeof(uint16_t) * 3 + sizeof(UsedElem) * size, kAlign);
}
static_assert(RingBytes(4) == 8192);
static_assert(RingBytes(128) == 8192);
static_assert(RingBytes(256) == 12288 && UsedOffset(256) == 8192);

constexpr bool IsPowerOf2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace virtq

/// A split virtqueue over caller memory, with a free list of descriptors threaded
/// through the descriptor table's own `next` fields. Not thread-safe; polled.
template <DmaBarrier Barrier>
class SplitVirtqueue {
 public:
  /// One buffer of a chain.
  struct Segment {
    PhysAddr addr;
    uint32_t len = 0;
    bool device_writes = false;  ///< Device-writable (VIRTQ_DESC_F_WRITE).
  };

  SplitVirtqueue() = default;

  /// Lays out a queue of `size` entries over `memory` and zeroes it.
  /// `memory` must hold virtq::RingBytes(size) bytes and start 16-byte aligned (a legacy
  /// transport also needs its physical address 4096-aligned; it checks that itself).
  /// Returns kInvalidArgument if size is not a power of 2 in [1, 32768], or memory is
  /// too small or misaligned.
  Status Init(std::span<uint8_t> memory, uint32_t size) {
    if (!virtq::IsPowerOf2(size) || size > virtq::kMaxSize) {
      return Status(Error::kInvalidArgument, "virtqueue: size is not a power of 2 up to 32768");
    }
    if (memory.size() < virtq::RingBytes(size)) {
      return Status(Error::kInvalidArgument, "virtqueue: memory smaller than the ring");
    }
    if (reinterpret_cast<uintptr_t>(memory.data()) % 16 != 0) {
      return Status(Error::kInvalidArgument, "virtqueue: memory not 16-byte aligned");
    }
    std::memset(memory.data(), 0, virtq::RingBytes(size));
    base_ = memory.data();
    size_ = size;
    desc_ = reinterpret_cast<virtq::Desc*>(base_);
    avail_ = base_ + virtq::AvailOffset(size);
    used_ = base_ + virtq::UsedOffset(size);
    for (uint32_t i = 0; i < size; ++i) desc_[i].next = static_cast<uint16_t>(i + 1);
    free_head_ = 0;
    num_free_ = size;
    avail_idx_ = 0;
    last_used_ = 0;
    // We poll; ask the device not to interrupt (a hint only, §2.7.7).
    Store16(avail_ + virtq::kAvailFlags, virtq::kAvailFNoInterrupt);
    return Status::Ok();
  }

  /// Entries in the queue: the number of descriptors, and so the longest chain.
  size_t Capacity() const { return size_; }
  /// Descriptors not in any chain the device holds.
  size_t FreeDescriptors() const { return num_free_; }

  /// The three areas, for the transport (translate them with DmaMemory::ToPhys).
  const void* DescriptorArea() const { return base_; }
  const void* DriverArea() const { return avail_; }
  const void* DeviceArea() const { return used_; }

  /// Makes `segments` one chain, in order, and publishes it to the device (the caller
  /// then notifies). Device-writable segments must follow device-readable ones
  /// (§2.7.4.2): the caller's to get right. Returns the head descriptor, or
  /// kResourceExhausted when fewer than segments.size() descriptors are free, or
  /// kInvalidArgument for an empty chain.
  Result<uint16_t> AddChain(std::span<const Segment> segments) {
    if (segments.empty()) return Status(Error::kInvalidArgument, "virtqueue: empty chain");
    if (segments.size() > num_free_) {
      return Status(Error::kResourceExhausted, "virtqueue: not enough free descriptors");
    }
    // The free list is already linked through `next`: take its first n entries and
    // keep their links, ending the chain at the last one.
    const uint16_t head = free_head_;
    uint16_t i = head;
    for (size_t k = 0; k < segments.size(); ++k) {
      virtq::Desc& d = desc_[i];
      const bool last = k + 1 == segments.size();
      d.addr = segments[k].addr.value;
      d.len = segments[k].len;
      d.flags = static_cast<uint16_t>((segments[k].device_writes ? virtq::Desc::kWrite : 0) |
                                      (last ? 0 : virtq::Desc::kNext));
      if (last) {
        free_head_ = d.next;
      } else {
        i = d.next;
      }
    }
    num_free_ -= static_cast<uint32_t>(segments.size());

    Store16(avail_ + virtq::kAvailRing + sizeof(uint16_t) * (avail_idx_ & (size_ - 1)), head);
    // §2.7.13.3.1: the device must see the ring entry and descriptors before the idx.
    Barrier::Write();
    ++avail_idx_;
    Store16(avail_ + virtq::kAvailIdx, avail_idx_);
    return head;
  }

  /// Takes the next used element, if the device has added one since the last call.
  /// The chain it names still belongs to the caller to FreeChain.
  bool PopUsed(virtq::UsedElem* out) {
    if (Load16(used_ + virtq::kUsedIdx) == last_used_) return false;
    // §2.7.14: read the element only after seeing the idx that covers it.
    Barrier::Read();
    const uint8_t* e = used_ + virtq::kUsedRing + sizeof(virtq::UsedElem) * (last_used_ & (size_ - 1));
    out->id = Load32(e);
    out->len = Load32(e + 4);
    ++last_used_;
    return true;
  }

  /// Returns the chain starting at `head` to the free list. Precondition: `head` is the
  /// head of a chain AddChain returned and the device has used (callers check the id a
  /// device returns before calling). Walks at most Capacity() links.
  void FreeChain(uint16_t head) {
    uint16_t i = head;
    uint32_t n = 1;
    while ((desc_[i].flags & virtq::Desc::kNext) != 0 && n < size_) {
      i = desc_[i].next;
      ++n;
    }
    desc_[i].next = free_head_;
    free_head_ = head;
    num_free_ += n;
  }

 private:
  static void Store16(uint8_t* p, uint16_t v) { *reinterpret_cast<volatile uint16_t*>(p) = v; }
  static uint16_t Load16(const uint8_t* p) { return *reinterpret_cast<const volatile uint16_t*>(p); }
  static uint32_t Load32(const uint8_t* p) { return *reinterpret_cast<const volatile uint32_t*>(p); }

  uint8_t* base_ = nullptr;
  virtq::Desc* desc_ = nullptr;
  uint8_t* avail_ = nullptr;
  uint8_t* used_ = nullptr;
  uint32_t size_ = 0;
  uint32_t num_free_ = 0;
  uint16_t free_head_ = 0;
  uint16_t avail_idx_ = 0;  ///< Our copy of avail->idx (free-running).
  uint16_t last_used_ = 0;  ///< The used->idx we have consumed up to (free-running).
};

}  // namespace salvage::virtio
