// salvage::virtio::VirtioBlk — polled virtio block driver; satisfies drivers::BlockDevice.
//
// Follows Virtual I/O Device (VIRTIO) Version 1.2: §5.2 Block Device (§5.2.3 feature
// bits, §5.2.4 configuration layout, §5.2.5 initialization, §5.2.6 operation), §3.1.1
// (driver initialization) and, for the legacy interface, §3.1.2 and §5.2.6.3. Section
// numbers below refer to it.
//
// Written for a crash dump. Init() assumes the crashed kernel may have left the device
// running with requests queued: it resets the device first (which discards them) and
// makes sure queue 0 is stopped before reusing it. Nothing waits without bound: a device
// that stops answering costs at most `Options::poll_limit` polls per wait.
//
// Requests. Every request is a chain of descriptors in queue 0 (§5.2.6):
//   header   16 bytes, device-readable: virtio_blk_req {type, reserved, sector};
//   data     the caller's buffer, one descriptor (device-writable for reads);
//   status   1 byte, device-writable.
// (A flush has no data.) Header and status live in a per-request slot of the DMA
// memory; the queue has room for Capacity()/3 requests and the driver keeps up to
// kMaxRequests slots, so that many writes can be in flight. The header and status always
// get descriptors of their own, which legacy devices without VIRTIO_F_ANY_LAYOUT need.
//
// MaxTransfer. One data descriptor per request, up to 4 MiB (kMaxTransfer), or the
// device's size_max when it offers VIRTIO_BLK_F_SIZE_MAX and that is smaller. A single
// descriptor never exceeds seg_max (which is at least 1), so VIRTIO_BLK_F_SEG_MAX needs
// no handling. Neither feature is accepted: §2.5.1 lets a driver read an offered field.
//
// Polling. A poll is one read of InterruptStatus (acknowledging what it shows) after the
// used ring had nothing new; the used ring itself is memory and is checked before each
// poll. The register read paces the loop and lets the driver notice a configuration
// change interrupt, which is how a device announces DEVICE_NEEDS_RESET (§2.1.2).
//
// Memory. The caller passes DmaMemory (virtqueue.h): at least blk::DmaBytesFor(n) bytes,
// 4096-aligned in physical memory, for n requests in flight. Data buffers passed to
// Read/StartWrite are translated to physical addresses the same way and must be
// contiguous in physical memory (salvage is identity-mapped: any RAM buffer is).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>
#include <salvage/drivers/block.h>
#include <salvage/virtio/transport.h>
#include <salvage/virtio/virtqueue.h>

namespace salvage::virtio {
namespace blk {

/// Device ID of a block device (§5.2.1).
inline constexpr uint32_t kDeviceId = 2;

/// Block device feature bits (§5.2.3), as masks over the 64-bit feature word.
struct Feature {
  static constexpr uint64_t kSizeMax = 1u << 1;      ///< VIRTIO_BLK_F_SIZE_MAX: size_max is valid.
  static constexpr uint64_t kSegMax = 1u << 2;       ///< VIRTIO_BLK_F_SEG_MAX: seg_max is valid.
  static constexpr uint64_t kGeometry = 1u << 4;     ///< VIRTIO_BLK_F_GEOMETRY.
  static constexpr uint64_t kRo = 1u << 5;           ///< VIRTIO_BLK_F_RO: read-only device.
  static constexpr uint64_t kBlkSize = 1u << 6;      ///< VIRTIO_BLK_F_BLK_SIZE.
  static constexpr uint64_t kFlush = 1u << 9;        ///< VIRTIO_BLK_F_FLUSH (legacy: F_WCE).
  static constexpr uint64_t kTopology = 1u << 10;    ///< VIRTIO_BLK_F_TOPOLOGY.
  static constexpr uint64_t kConfigWce = 1u << 11;   ///< VIRTIO_BLK_F_CONFIG_WCE.
  static constexpr uint64_t kMq = 1u << 12;          ///< VIRTIO_BLK_F_MQ.
  static constexpr uint64_t kDiscard = 1u << 13;     ///< VIRTIO_BLK_F_DISCARD.
  static constexpr uint64_t kWriteZeroes = 1u << 14; ///< VIRTIO_BLK_F_WRITE_ZEROES.
};

/// Offsets in struct virtio_blk_config (§5.2.4). Only the fields salvage reads.
struct ConfigField {
  static constexpr uint32_t kCapacity = 0x00;  ///< le64: size in 512-byte sectors.
  static constexpr uint32_t kSizeMax = 0x08;   ///< le32: largest segment, if F_SIZE_MAX.
  static constexpr uint32_t kSegMax = 0x0c;    ///< le32: most segments per request, if F_SEG_MAX.
};

/// The request header (struct virtio_blk_req up to the data, §5.2.6).
struct ReqHeader {
  uint32_t type;      ///< ReqType.
  uint32_t reserved;  ///< 0.
  uint64_t sector;    ///< Offset in 512-byte sectors; 0 for a flush.
};
static_assert(sizeof(ReqHeader) == 16);
static_assert(offsetof(ReqHeader, type) == 0 && offsetof(ReqHeader, sector) == 8);

/// virtio_blk_req.type (§5.2.6).
struct ReqType {
  static constexpr uint32_t kIn = 0;     ///< VIRTIO_BLK_T_IN: read.
  static constexpr uint32_t kOut = 1;    ///< VIRTIO_BLK_T_OUT: write.
  static constexpr uint32_t kFlush = 4;  ///< VIRTIO_BLK_T_FLUSH.
};

/// virtio_blk_req.status (§5.2.6).
struct ReqStatus {
  static constexpr uint8_t kOk = 0;      ///< VIRTIO_BLK_S_OK.
  static constexpr uint8_t kIoErr = 1;   ///< VIRTIO_BLK_S_IOERR.
  static constexpr uint8_t kUnsupp = 2;  ///< VIRTIO_BLK_S_UNSUPP.
  /// What the driver writes before submitting: a device that completes a request
  /// without writing the status leaves it.
  static constexpr uint8_t kNotWritten = 0xff;
};

/// virtio-blk addresses the disk in 512-byte sectors whatever its block size (§5.2.6).
inline constexpr uint32_t kSectorSize = 512;
/// Largest data buffer of one request.
inline constexpr uint32_t kMaxTransfer = 4u << 20;
/// Requests the driver can track at once (the bound on its own state).
inline constexpr size_t kMaxRequests = 64;
/// Bytes of DMA memory per request: the 16-byte header, the status byte, padding.
inline constexpr size_t kSlotBytes = 32;
/// Descriptors per request: header, data, status.
inline constexpr uint32_t kDescriptorsPerRequest = 3;
/// The queue size that holds kMaxRequests requests; no larger queue is used.
inline constexpr uint32_t kMaxQueueSize = 256;
static_assert(kMaxQueueSize / kDescriptorsPerRequest >= kMaxRequests);
static_assert(kMaxRequests <= 256, "tickets keep the slot index in 8 bits");

/// The smallest queue (a power of 2) holding `requests` requests.
constexpr uint32_t QueueSizeFor(size_t requests) {
  uint32_t size = 4;
  while (size < kDescriptorsPerRequest * requests && size < kMaxQueueSize) size <<= 1;
  return size;
}

/// DMA memory for `requests` (1..kMaxRequests) requests in flight, given a device whose
/// QueueNumMax allows the queue: the ring of QueueSizeFor(requests) entries in the
/// legacy layout, then one slot per request. DmaBytesFor(1) = 8224,
/// DmaBytesFor(32) = 9216, DmaBytesFor(64) = 14336.
constexpr size_t DmaBytesFor(size_t requests) {
  return virtq::RingBytes(QueueSizeFor(requests)) + requests * kSlotBytes;
}
static_assert(DmaBytesFor(1) == 8192 + 32);
static_assert(DmaBytesFor(32) == 8192 + 32 * 32);
static_assert(DmaBytesFor(kMaxRequests) == 12288 + 64 * 32);

/// How the driver is set up; there is nothing to discover beyond the transport.
struct Options {
  /// Polls (InterruptStatus reads) a wait makes before giving up with kTimeout. An MMIO
  /// read costs roughly 0.1-1 us under TCG and several us under KVM, so the default
  /// allows tens of seconds to minutes: far more than any request needs, short of a hang.
  uint32_t poll_limit = 50'000'000;
};

}  // namespace blk

/// Polled virtio-blk over transport `T` with DMA ordering from `Barrier`.
template <Transport T, DmaBarrier Barrier>
class VirtioBlk {
 public:
  /// `transport` reaches the device; `dma` is the driver's memory (see the file comment;
  /// checked by Init). Nothing is touched until Init.
  VirtioBlk(T transport, DmaMemory dma, blk::Options options = {})
      : transport_(transport), dma_(dma), options_(options) {}

  /// Brings the device up from whatever state it is in (§3.1.1, §5.2.5):
  /// probe; reset (discarding what the crashed kernel left queued); ACKNOWLEDGE, DRIVER;
  /// accept VIRTIO_F_VERSION_1 (modern devices, required) and VIRTIO_BLK_F_FLUSH (if
  /// offered), nothing else; FEATURES_OK and check it stuck (modern); read the capacity;
  /// set up queue 0, sized to QueueNumMax and the DMA memory; DRIVER_OK. May be called
  /// again: tickets from before are void (their requests were discarded by the reset).
  /// Errors (after the device is touched, FAILED is set in its status as well):
  ///   kInvalidArgument  DMA memory not 4096-aligned or smaller than DmaBytesFor(1);
  ///   kNotFound         no virtio-mmio device, an empty slot, or not a block device;
  ///   kUnsupported      unknown transport version, no VIRTIO_F_VERSION_1 on a modern
  ///                     device, features refused, queue 0 shorter than 4, or size_max
  ///                     below one sector;
  ///   kTimeout          the reset or a config read did not settle;
  ///   kIo               queue 0 stays in use, or the device needs a reset.
  Status Init() {
    ready_ = false;
    broken_ = Status::Ok();
    if (dma_.ToPhys(dma_.bytes.data()).value % virtq::kAlign != 0 ||
        reinterpret_cast<uintptr_t>(dma_.bytes.data()) % alignof(blk::ReqHeader) != 0) {
      return Status(Error::kInvalidArgument, "virtio-blk: DMA memory is not 4096-byte aligned");
    }
    if (dma_.bytes.size() < blk::DmaBytesFor(1)) {
      return Status(Error::kInvalidArgument, "virtio-blk: DMA memory smaller than blk::DmaBytesFor(1)");
    }
    SALVAGE_TRY(transport_.Probe(blk::kDeviceId));
    SALVAGE_TRY(transport_.Reset());
    transport_.SetStatusBits(DeviceStatus::kAcknowledge);
    transport_.SetStatusBits(DeviceStatus::kDriver);

    const uint64_t offered = transport_.ReadDeviceFeatures();
    uint64_t accepted = offered & blk::Feature::kFlush;
    if (!transport_.IsLegacy()) {
      if ((offered & Feature::kVersion1) == 0) {
        return Fail(Status(Error::kUnsupported, "virtio-blk: modern device does not offer VIRTIO_F_VERSION_1"));
      }
      accepted |= Feature::kVersion1;
    }
    transport_.WriteDriverFeatures(accepted);
    if (!transport_.IsLegacy()) {
      transport_.SetStatusBits(DeviceStatus::kFeaturesOk);
      if ((transport_.ReadStatus() & DeviceStatus::kFeaturesOk) == 0) {
        return Fail(Status(Error::kUnsupported, "virtio-blk: device refused our features (FEATURES_OK not set)"));
      }
    }
    features_ = accepted;
    read_only_ = (offered & blk::Feature::kRo) != 0;

    Result<uint64_t> capacity = transport_.ReadConfig64(blk::ConfigField::kCapacity);
    if (!capacity.ok()) return Fail(capacity.status());
    capacity_ = *capacity;
    max_transfer_ = blk::kMaxTransfer;
    if ((offered & blk::Feature::kSizeMax) != 0) {
      const uint32_t size_max = transport_.ReadConfig32(blk::ConfigField::kSizeMax) / blk::kSectorSize * blk::kSectorSize;
      if (size_max == 0) return Fail(Status(Error::kUnsupported, "virtio-blk: size_max is smaller than one sector"));
      if (size_max < max_transfer_) max_transfer_ = size_max;
    }

    Result<uint32_t> queue_max = transport_.QueueMaxSize(0);
    if (!queue_max.ok()) return Fail(queue_max.status());
    if (!ChooseQueue(*queue_max)) {
      return Fail(Status(Error::kUnsupported, "virtio-blk: queue 0 is shorter than 4 entries (QueueNumMax)"));
    }
    if (Status s = queue_.Init(dma_.bytes.first(virtq::RingBytes(queue_size_)), queue_size_); !s.ok()) {
      return Fail(s);
    }
    const QueueAddresses areas{dma_.ToPhys(queue_.DescriptorArea()), dma_.ToPhys(queue_.DriverArea()),
                               dma_.ToPhys(queue_.DeviceArea())};
    if (Status s = transport_.EnableQueue(0, static_cast<uint16_t>(queue_size_), areas); !s.ok()) {
      return Fail(s);
    }
    slot_memory_ = dma_.bytes.data() + virtq::RingBytes(queue_size_);
    for (Slot& slot : slots_) slot = Slot{};

    transport_.SetStatusBits(DeviceStatus::kDriverOk);
    if ((transport_.ReadStatus() & DeviceStatus::kNeedsReset) != 0) {
      return Fail(Status(Error::kIo, "virtio-blk: device status NEEDS_RESET after DRIVER_OK"));
    }
    ready_ = true;
    return Status::Ok();
  }

  static constexpr uint32_t SectorSize() { return blk::kSectorSize; }
  /// Capacity in 512-byte sectors (0 before Init).
  uint64_t SectorCount() const { return capacity_; }
  /// The largest buffer one StartWrite takes: 4 MiB, or less when the device's size_max says so.
  uint32_t MaxTransfer() const { return max_transfer_; }
  static constexpr const char* Name() { return "virtio-blk"; }

  /// Queue entries in use (a power of 2 <= QueueNumMax), requests that can be in flight,
  /// and the features accepted; all valid after Init.
  uint32_t QueueSize() const { return queue_size_; }
  size_t MaxInFlight() const { return num_slots_; }
  uint64_t NegotiatedFeatures() const { return features_; }
  /// The transport, e.g. to report which one was found (VirtioMmio::IsLegacy()).
  T& transport() { return transport_; }

  /// Reads dst.size() bytes (whole sectors, any number of MaxTransfer pieces) from `lba`
  /// and waits for them. Needs a free request slot: kResourceExhausted if every slot
  /// holds an uncollected write. kInvalidArgument (not whole sectors), kOutOfRange
  /// (beyond the disk), kIo (device error), kTimeout.
  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    SALVAGE_TRY(CheckReady());
    SALVAGE_TRY(CheckExtent(lba, dst.size()));
    while (!dst.empty()) {
      const size_t n = dst.size() < max_transfer_ ? dst.size() : max_transfer_;
      Result<uint32_t> ticket = Submit(blk::ReqType::kIn, lba, dst.data(), static_cast<uint32_t>(n));
      if (!ticket.ok()) return ticket.status();
      SALVAGE_TRY(Wait(*ticket));
      dst = dst.subspan(n);
      lba += n / blk::kSectorSize;
    }
    return Status::Ok();
  }

  /// Queues a write of `src` (whole sectors, at most MaxTransfer()) at `lba` and returns
  /// its ticket at once; `src` must stay unchanged until the ticket is waited for.
  /// kResourceExhausted when every slot holds a request not yet collected by Wait or
  /// WaitAll (wait for one, then retry); kInvalidArgument (empty, not whole sectors, or
  /// too large); kOutOfRange (beyond the disk); kUnsupported (read-only device).
  Result<uint32_t> StartWrite(uint64_t lba, std::span<const uint8_t> src) {
    SALVAGE_TRY(CheckReady());
    if (read_only_) return Status(Error::kUnsupported, "virtio-blk: device is read-only (VIRTIO_BLK_F_RO)");
    SALVAGE_TRY(CheckExtent(lba, src.size()));
    if (src.size() > max_transfer_) return Status(Error::kInvalidArgument, "virtio-blk: write larger than MaxTransfer()");
    return Submit(blk::ReqType::kOut, lba, src.data(), static_cast<uint32_t>(src.size()));
  }

  /// Waits for the request `ticket` names and collects it (a ticket is collected once).
  /// Ok, or kIo naming the request and status (VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP,
  /// none written), kIo for a device that needs a reset, kTimeout ("request did not
  /// complete": the request stays queued and the ticket valid), kInvalidArgument for a
  /// ticket that is unknown or already collected.
  Status Wait(uint32_t ticket) {
    const size_t index = ticket & 0xffu;
    const uint32_t generation = ticket >> 8;
    if (index >= num_slots_ || slots_[index].state == SlotState::kFree || slots_[index].generation != generation) {
      return Status(Error::kInvalidArgument, "virtio-blk: Wait on a ticket that is unknown or already collected");
    }
    Slot& slot = slots_[index];
    SALVAGE_TRY(PollUntil([&] { return slot.state == SlotState::kDone; }));
    slot.state = SlotState::kFree;
    return slot.result;
  }

  /// Waits for every request in flight and collects every finished one; returns the
  /// error of the earliest-submitted failed request, or the wait's own error (then
  /// nothing is collected).
  Status WaitAll() {
    SALVAGE_TRY(PollUntil([&] {
      for (size_t i = 0; i < num_slots_; ++i) {
        if (slots_[i].state == SlotState::kInFlight) return false;
      }
      return true;
    }));
    Status first = Status::Ok();
    uint32_t first_seq = 0;
    for (size_t i = 0; i < num_slots_; ++i) {
      Slot& slot = slots_[i];
      if (slot.state != SlotState::kDone) continue;
      slot.state = SlotState::kFree;
      if (!slot.result.ok() && (first.ok() || static_cast<int32_t>(slot.seq - first_seq) < 0)) {
        first = slot.result;
        first_seq = slot.seq;
      }
    }
    return first;
  }

  /// WaitAll, then, if VIRTIO_BLK_F_FLUSH was negotiated, a VIRTIO_BLK_T_FLUSH request
  /// and its wait. A WaitAll error is returned at once, without flushing.
  Status Flush() {
    SALVAGE_TRY(WaitAll());
    if ((features_ & blk::Feature::kFlush) == 0) return Status::Ok();
    Result<uint32_t> ticket = Submit(blk::ReqType::kFlush, 0, nullptr, 0);
    if (!ticket.ok()) return ticket.status();
    return Wait(*ticket);
  }

 private:
  enum class SlotState : uint8_t { kFree, kInFlight, kDone };

  /// One request's bookkeeping; its header and status are in DMA memory at SlotBytes(i).
  struct Slot {
    SlotState state = SlotState::kFree;
    uint8_t type = 0;         ///< Index into kFailureMessages: 0 read, 1 write, 2 flush.
    uint16_t head = 0;        ///< Head descriptor of its chain while in flight.
    uint32_t generation = 0;  ///< Ticket generation (24 bits, never 0).
    uint32_t seq = 0;         ///< Submission order, for WaitAll's "first error".
    Status result;
  };

  /// Failure messages by request kind and status: IOERR, UNSUPP, not written, other.
  static constexpr const char* kFailureMessages[3][4] = {
      {"virtio-blk: read failed: VIRTIO_BLK_S_IOERR", "virtio-blk: read failed: VIRTIO_BLK_S_UNSUPP",
       "virtio-blk: read completed without a status byte", "virtio-blk: read failed with an unknown status"},
      {"virtio-blk: write failed: VIRTIO_BLK_S_IOERR", "virtio-blk: write failed: VIRTIO_BLK_S_UNSUPP",
       "virtio-blk: write completed without a status byte", "virtio-blk: write failed with an unknown status"},
      {"virtio-blk: flush failed: VIRTIO_BLK_S_IOERR", "virtio-blk: flush failed: VIRTIO_BLK_S_UNSUPP",
       "virtio-blk: flush completed without a status byte", "virtio-blk: flush failed with an unknown status"},
  };

  Status Fail(Status s) {
    transport_.SetStatusBits(DeviceStatus::kFailed);
    return s;
  }

  /// Picks the queue size holding the most requests in the DMA memory (the smaller on a
  /// tie); false if no power of 2 from 4 to min(queue_max, kMaxQueueSize) fits.
  bool ChooseQueue(uint32_t queue_max) {
    queue_size_ = 0;
    num_slots_ = 0;
    const uint32_t limit = queue_max < blk::kMaxQueueSize ? queue_max : blk::kMaxQueueSize;
    for (uint32_t size = 4; size <= limit; size <<= 1) {
      const size_t ring = virtq::RingBytes(size);
      if (ring + blk::kSlotBytes > dma_.bytes.size()) break;
      size_t slots = size / blk::kDescriptorsPerRequest;
      if (slots > blk::kMaxRequests) slots = blk::kMaxRequests;
      const size_t fit = (dma_.bytes.size() - ring) / blk::kSlotBytes;
      if (slots > fit) slots = fit;
      if (slots > num_slots_) {
        num_slots_ = slots;
        queue_size_ = size;
      }
    }
    return num_slots_ != 0;
  }

  Status CheckReady() const {
    if (!broken_.ok()) return broken_;
    if (!ready_) return Status(Error::kInvalidArgument, "virtio-blk: used before a successful Init");
    return Status::Ok();
  }

  Status CheckExtent(uint64_t lba, size_t bytes) const {
    if (bytes == 0 || bytes % blk::kSectorSize != 0) {
      return Status(Error::kInvalidArgument, "virtio-blk: transfer is not a whole number of sectors");
    }
    const uint64_t sectors = bytes / blk::kSectorSize;
    if (lba > capacity_ || sectors > capacity_ - lba) {
      return Status(Error::kOutOfRange, "virtio-blk: request beyond the end of the disk");
    }
    return Status::Ok();
  }

  uint8_t* SlotBytes(size_t index) const { return slot_memory_ + index * blk::kSlotBytes; }

  /// Queues one request (data may be null for a flush) in a free slot and notifies.
  Result<uint32_t> Submit(uint32_t type, uint64_t sector, const void* data, uint32_t len) {
    SALVAGE_TRY(Reap());
    size_t index = 0;
    while (index < num_slots_ && slots_[index].state != SlotState::kFree) ++index;
    if (index == num_slots_) {
      return Status(Error::kResourceExhausted, "virtio-blk: every request slot is in use (Wait for one)");
    }
    uint8_t* bytes = SlotBytes(index);
    const blk::ReqHeader header{type, 0, sector};
    std::memcpy(bytes, &header, sizeof(header));
    *reinterpret_cast<volatile uint8_t*>(bytes + kStatusOffset) = blk::ReqStatus::kNotWritten;

    using Segment = typename SplitVirtqueue<Barrier>::Segment;
    std::array<Segment, blk::kDescriptorsPerRequest> chain{};
    size_t n = 0;
    chain[n++] = Segment{dma_.ToPhys(bytes), sizeof(blk::ReqHeader), false};
    if (len != 0) chain[n++] = Segment{dma_.ToPhys(data), len, type == blk::ReqType::kIn};
    chain[n++] = Segment{dma_.ToPhys(bytes + kStatusOffset), 1, true};
    // Slots never outnumber Capacity()/3, so the descriptors are there.
    Result<uint16_t> head = queue_.AddChain(std::span<const Segment>(chain.data(), n));
    if (!head.ok()) return head.status();

    generation_ = (generation_ + 1) & 0xffffffu;
    if (generation_ == 0) generation_ = 1;
    Slot& slot = slots_[index];
    slot.state = SlotState::kInFlight;
    slot.type = static_cast<uint8_t>(type == blk::ReqType::kIn ? 0 : type == blk::ReqType::kOut ? 1 : 2);
    slot.head = *head;
    slot.generation = generation_;
    slot.seq = next_seq_++;
    slot.result = Status::Ok();
    transport_.Notify(0);
    return generation_ << 8 | static_cast<uint32_t>(index);
  }

  /// Takes every used element the device has added and finishes its request. kIo (and
  /// the driver stops) if the device names a chain it does not hold.
  Status Reap() {
    virtq::UsedElem used;
    while (queue_.PopUsed(&used)) {
      size_t index = 0;
      while (index < num_slots_ &&
             !(slots_[index].state == SlotState::kInFlight && slots_[index].head == used.id)) {
        ++index;
      }
      if (index == num_slots_) {
        broken_ = Status(Error::kIo, "virtio-blk: device returned a descriptor chain it was not given");
        return broken_;
      }
      Slot& slot = slots_[index];
      queue_.FreeChain(slot.head);
      const uint8_t status = *reinterpret_cast<volatile const uint8_t*>(SlotBytes(index) + kStatusOffset);
      switch (status) {
        case blk::ReqStatus::kOk: slot.result = Status::Ok(); break;
        case blk::ReqStatus::kIoErr: slot.result = Status(Error::kIo, kFailureMessages[slot.type][0]); break;
        case blk::ReqStatus::kUnsupp: slot.result = Status(Error::kIo, kFailureMessages[slot.type][1]); break;
        case blk::ReqStatus::kNotWritten: slot.result = Status(Error::kIo, kFailureMessages[slot.type][2]); break;
        default: slot.result = Status(Error::kIo, kFailureMessages[slot.type][3]); break;
      }
      slot.state = SlotState::kDone;
    }
    return Status::Ok();
  }

  /// kIo (and the driver stops) if the device needs a reset or was reset under us.
  Status CheckDevice() {
    const uint32_t status = transport_.ReadStatus();
    if ((status & DeviceStatus::kNeedsReset) != 0) {
      broken_ = Status(Error::kIo, "virtio-blk: device status NEEDS_RESET");
    } else if ((status & DeviceStatus::kDriverOk) == 0) {
      broken_ = Status(Error::kIo, "virtio-blk: device was reset under the driver (DRIVER_OK clear)");
    }
    return broken_;
  }

  /// Reaps until `done()`, polling at most options_.poll_limit times.
  /// A request that finished before the device broke still reports its own result.
  template <class Done>
  Status PollUntil(Done done) {
    if (done()) return Status::Ok();
    SALVAGE_TRY(CheckReady());
    for (uint32_t polls = 0;; ++polls) {
      SALVAGE_TRY(Reap());
      if (done()) return Status::Ok();
      if (polls == options_.poll_limit) break;
      if ((transport_.AckInterrupts() & Interrupt::kConfigChange) != 0) SALVAGE_TRY(CheckDevice());
    }
    SALVAGE_TRY(CheckDevice());
    return Status(Error::kTimeout, "virtio-blk: request did not complete");
  }

  static constexpr size_t kStatusOffset = sizeof(blk::ReqHeader);
  static_assert(kStatusOffset + 1 <= blk::kSlotBytes);

  T transport_;
  DmaMemory dma_;
  blk::Options options_;
  SplitVirtqueue<Barrier> queue_;
  uint8_t* slot_memory_ = nullptr;
  uint32_t queue_size_ = 0;
  size_t num_slots_ = 0;
  std::array<Slot, blk::kMaxRequests> slots_{};
  uint32_t generation_ = 0;
  uint32_t next_seq_ = 0;
  uint64_t capacity_ = 0;
  uint32_t max_transfer_ = blk::kMaxTransfer;
  uint64_t features_ = 0;
  bool read_only_ = false;
  bool ready_ = false;
  Status broken_;  ///< Sticky: once the device is unusable every call returns this.
};

}  // namespace salvage::virtio
