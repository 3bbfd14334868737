// salvage::virtio::VirtioMmio — the virtio-mmio transport, legacy and modern.
//
// Follows Virtual I/O Device (VIRTIO) Version 1.2, §4.2 Virtio Over MMIO: §4.2.2 (the
// register layout, version 2), §4.2.3 (initialization and virtqueue configuration) and
// §4.2.4 (the legacy interface, version 1). Section numbers below refer to it.
//
// QEMU's virt machines present version 1 (legacy) unless started with
// `-global virtio-mmio.force-legacy=false`; both are handled here:
//
//   version 1 (legacy)  features are 32 bits (HostFeatures/GuestFeatures, selector 0
//                       only); no FEATURES_OK; the queue is given as one page number
//                       (QueuePFN) after GuestPageSize and QueueAlign, so it must be in
//                       the contiguous legacy layout of §2.7.2 (virtqueue.h).
//   version 2 (modern)  64 feature bits; the three queue areas are given separately,
//                       then QueueReady; ConfigGeneration guards multi-word config reads.
//
// Every access is 32 bits wide and aligned, as §4.2.2.2 requires, including the
// configuration space (32- and 64-bit fields only). No wait on the device is unbounded.
#pragma once

#include <cstdint>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>
#include <salvage/drivers/io.h>
#include <salvage/virtio/transport.h>
#include <salvage/virtio/virtqueue.h>

namespace salvage::virtio {
namespace mmio {

/// Register offsets, named as in §4.2.2 table "MMIO Device Register Layout" and, for the
/// legacy-only ones, §4.2.4. R = read only, W = write only: the driver must not read a
/// W register nor write an R one (§4.2.2.2). Offsets not listed are reserved.
struct Reg {
  static constexpr uint32_t kMagicValue = 0x000;         ///< R  0x74726976, "virt".
  static constexpr uint32_t kVersion = 0x004;            ///< R  2; legacy devices 1.
  static constexpr uint32_t kDeviceId = 0x008;           ///< R  Device type (§5); 0 = empty slot.
  static constexpr uint32_t kVendorId = 0x00c;           ///< R  Subsystem vendor ID.
  static constexpr uint32_t kDeviceFeatures = 0x010;     ///< R  32 feature bits (legacy: HostFeatures).
  static constexpr uint32_t kDeviceFeaturesSel = 0x014;  ///< W  Which 32 bits DeviceFeatures shows.
  static constexpr uint32_t kDriverFeatures = 0x020;     ///< W  32 accepted bits (legacy: GuestFeatures).
  static constexpr uint32_t kDriverFeaturesSel = 0x024;  ///< W  Which 32 bits DriverFeatures sets.
  static constexpr uint32_t kGuestPageSize = 0x028;      ///< W  Legacy only: page size for QueuePFN.
  static constexpr uint32_t kQueueSel = 0x030;           ///< W  Queue the Queue* registers apply to.
  static constexpr uint32_t kQueueNumMax = 0x034;        ///< R  Largest size of the queue; 0 = none.
  static constexpr uint32_t kQueueNum = 0x038;           ///< W  Size the driver uses.
  static constexpr uint32_t kQueueAlign = 0x03c;        ///< W  Legacy only: used ring alignment.
  static constexpr uint32_t kQueuePfn = 0x040;          ///< RW Legacy only: queue page number; 0 = unused.
  static constexpr uint32_t kQueueReady = 0x044;        ///< RW Modern only: 1 = queue in use.
  static constexpr uint32_t kQueueNotify = 0x050;        ///< W  Queue index with new buffers.
  static constexpr uint32_t kInterruptStatus = 0x060;    ///< R  Interrupt bits (transport.h Interrupt).
  static constexpr uint32_t kInterruptAck = 0x064;       ///< W  Clears the bits written.
  static constexpr uint32_t kStatus = 0x070;             ///< RW Device status; writing 0 resets.
  static constexpr uint32_t kQueueDescLow = 0x080;       ///< W  Modern only: Descriptor Area 31:0.
  static constexpr uint32_t kQueueDescHigh = 0x084;      ///< W  ... 63:32.
  static constexpr uint32_t kQueueDriverLow = 0x090;     ///< W  Modern only: Driver Area 31:0.
  static constexpr uint32_t kQueueDriverHigh = 0x094;    ///< W  ... 63:32.
  static constexpr uint32_t kQueueDeviceLow = 0x0a0;     ///< W  Modern only: Device Area 31:0.
  static constexpr uint32_t kQueueDeviceHigh = 0x0a4;    ///< W  ... 63:32.
  static constexpr uint32_t kConfigGeneration = 0x0fc;   ///< R  Modern only: config version.
  static constexpr uint32_t kConfig = 0x100;             ///< RW Device-specific configuration space.
};
static_assert(Reg::kConfig == 0x100, "the configuration space follows 0x100 bytes of registers");

inline constexpr uint32_t kMagic = 0x74726976;  ///< "virt", little-endian.
inline constexpr uint32_t kVersionLegacy = 1;
inline constexpr uint32_t kVersionModern = 2;

}  // namespace mmio

/// The virtio-mmio transport over register window `Io`; satisfies virtio::Transport.
template <drivers::Io Io>
class VirtioMmio {
 public:
  /// Status reads after a reset before Reset() gives up. QEMU resets synchronously, so
  /// the first read returns 0.
  static constexpr uint32_t kResetPollLimit = 1'000'000;
  /// Attempts at a consistent 64-bit config read before ReadConfig64 gives up.
  static constexpr uint32_t kConfigReadAttempts = 64;

  explicit VirtioMmio(Io io) : io_(io) {}

  /// Checks MagicValue, Version (1 or 2) and DeviceID, in that order, touching no other
  /// register (§4.2.3.1.1). Returns kNotFound for a wrong magic, an empty slot (DeviceID
  /// 0) or another device type; kUnsupported for an unknown version.
  Status Probe(uint32_t device_id) {
    version_ = 0;
    if (io_.Read32(mmio::Reg::kMagicValue) != mmio::kMagic) {
      return Status(Error::kNotFound, "virtio-mmio: MagicValue is not 0x74726976 (\"virt\"): no virtio-mmio device");
    }
    const uint32_t version = io_.Read32(mmio::Reg::kVersion);
    if (version != mmio::kVersionLegacy && version != mmio::kVersionModern) {
      return Status(Error::kUnsupported, "virtio-mmio: Version is neither 1 (legacy) nor 2 (virtio 1.x)");
    }
    const uint32_t id = io_.Read32(mmio::Reg::kDeviceId);
    if (id == 0) return Status(Error::kNotFound, "virtio-mmio: DeviceID 0: empty slot");
    if (id != device_id) {
      return Status(Error::kNotFound, "virtio-mmio: DeviceID is another device type than the driver's");
    }
    version_ = version;
    return Status::Ok();
  }

  /// 1 (legacy) or 2 after a successful Probe; 0 before.
  uint32_t Version() const { return version_; }
  bool IsLegacy() const { return version_ == mmio::kVersionLegacy; }
  uint32_t VendorId() { return io_.Read32(mmio::Reg::kVendorId); }

  /// Writes 0 to Status, which resets the device (discarding any request still queued)
  /// and, per §4.2.2.1 / §4.2.4, clears QueueReady / QueuePFN and InterruptStatus; then
  /// waits for Status to read 0 (§2.4.2). kTimeout after kResetPollLimit reads.
  Status Reset() {
    io_.Write32(mmio::Reg::kStatus, 0);
    for (uint32_t i = 0; i < kResetPollLimit; ++i) {
      if (io_.Read32(mmio::Reg::kStatus) == 0) return Status::Ok();
    }
    return Status(Error::kTimeout, "virtio-mmio: Status did not read 0 after reset");
  }

  uint32_t ReadStatus() { return io_.Read32(mmio::Reg::kStatus); }

  /// ORs `bits` into Status (the driver never clears a bit except by reset, §2.1.1).
  void SetStatusBits(uint32_t bits) {
    io_.Write32(mmio::Reg::kStatus, io_.Read32(mmio::Reg::kStatus) | bits);
  }

  /// The offered features. Legacy devices have only bits 31:0.
  uint64_t ReadDeviceFeatures() {
    io_.Write32(mmio::Reg::kDeviceFeaturesSel, 0);
    const uint64_t low = io_.Read32(mmio::Reg::kDeviceFeatures);
    if (IsLegacy()) return low;
    io_.Write32(mmio::Reg::kDeviceFeaturesSel, 1);
    const uint64_t high = io_.Read32(mmio::Reg::kDeviceFeatures);
    return high << 32 | low;
  }

  /// Accepts `features`. On a legacy device only bits 31:0 exist (the caller must not
  /// ask for more; they are dropped).
  void WriteDriverFeatures(uint64_t features) {
    io_.Write32(mmio::Reg::kDriverFeaturesSel, 0);
    io_.Write32(mmio::Reg::kDriverFeatures, static_cast<uint32_t>(features));
    if (IsLegacy()) return;
    io_.Write32(mmio::Reg::kDriverFeaturesSel, 1);
    io_.Write32(mmio::Reg::kDriverFeatures, static_cast<uint32_t>(features >> 32));
  }

  /// Selects `queue`, makes sure it is not in use (a device left running by the crashed
  /// kernel and not cleared by reset: stop it and read back, §4.2.2.2) and returns
  /// QueueNumMax. kIo if the queue stays in use, kNotFound if it does not exist.
  Result<uint32_t> QueueMaxSize(uint16_t queue) {
    io_.Write32(mmio::Reg::kQueueSel, queue);
    const uint32_t in_use_reg = IsLegacy() ? mmio::Reg::kQueuePfn : mmio::Reg::kQueueReady;
    if (io_.Read32(in_use_reg) != 0) {
      io_.Write32(in_use_reg, 0);
      if (io_.Read32(in_use_reg) != 0) {
        return Status(Error::kIo, IsLegacy() ? "virtio-mmio: queue still in use after reset (QueuePFN not 0)"
                                             : "virtio-mmio: queue still in use after reset (QueueReady not 0)");
      }
    }
    const uint32_t max = io_.Read32(mmio::Reg::kQueueNumMax);
    if (max == 0) return Status(Error::kNotFound, "virtio-mmio: queue does not exist (QueueNumMax 0)");
    return max;
  }

  /// Gives `queue`, of `size` entries, to the device (§4.2.3.2; legacy §4.2.4).
  /// Precondition: QueueMaxSize(queue) succeeded and size <= its result. A legacy queue
  /// must be in the §2.7.2 layout with a 4096-aligned start below 16 TiB (QueuePFN is 32
  /// bits): kInvalidArgument / kOutOfRange otherwise.
  Status EnableQueue(uint16_t queue, uint16_t size, const QueueAddresses& areas) {
    if (IsLegacy()) {
      const uint64_t desc = areas.desc.value;
      if (desc % virtq::kAlign != 0 || areas.driver.value != desc + virtq::AvailOffset(size) ||
          areas.device.value != desc + virtq::UsedOffset(size)) {
        return Status(Error::kInvalidArgument, "virtio-mmio: legacy queue is not in the contiguous legacy layout");
      }
      const uint64_t pfn = desc / virtq::kAlign;
      if (pfn == 0 || pfn > UINT32_MAX) {
        return Status(Error::kOutOfRange, "virtio-mmio: legacy queue at page 0 or above 16 TiB (QueuePFN)");
      }
      io_.Write32(mmio::Reg::kGuestPageSize, static_cast<uint32_t>(virtq::kAlign));
      io_.Write32(mmio::Reg::kQueueSel, queue);
      io_.Write32(mmio::Reg::kQueueNum, size);
      io_.Write32(mmio::Reg::kQueueAlign, static_cast<uint32_t>(virtq::kAlign));
      io_.Write32(mmio::Reg::kQueuePfn, static_cast<uint32_t>(pfn));
      return Status::Ok();
    }
    io_.Write32(mmio::Reg::kQueueSel, queue);
    io_.Write32(mmio::Reg::kQueueNum, size);
    Write64(mmio::Reg::kQueueDescLow, mmio::Reg::kQueueDescHigh, areas.desc.value);
    Write64(mmio::Reg::kQueueDriverLow, mmio::Reg::kQueueDriverHigh, areas.driver.value);
    Write64(mmio::Reg::kQueueDeviceLow, mmio::Reg::kQueueDeviceHigh, areas.device.value);
    io_.Write32(mmio::Reg::kQueueReady, 1);
    return Status::Ok();
  }

  /// Available buffer notification (§4.2.3.3): the queue index.
  void Notify(uint16_t queue) { io_.Write32(mmio::Reg::kQueueNotify, queue); }

  /// Reads InterruptStatus and acknowledges every bit set; returns them.
  uint32_t AckInterrupts() {
    const uint32_t bits = io_.Read32(mmio::Reg::kInterruptStatus);
    if (bits != 0) io_.Write32(mmio::Reg::kInterruptAck, bits);
    return bits;
  }

  /// The 32-bit configuration field at byte `offset` (a multiple of 4).
  uint32_t ReadConfig32(uint32_t offset) { return io_.Read32(mmio::Reg::kConfig + offset); }

  /// The 64-bit configuration field at byte `offset` (a multiple of 4), as two 32-bit
  /// reads that are not torn: modern devices bracket them with equal ConfigGeneration
  /// reads (§2.5.1, §4.2.2); legacy devices have no generation, so the high word is
  /// read on both sides of the low one. kTimeout after kConfigReadAttempts tries.
  Result<uint64_t> ReadConfig64(uint32_t offset) {
    const uint32_t low_reg = mmio::Reg::kConfig + offset;
    const uint32_t high_reg = low_reg + 4;
    for (uint32_t attempt = 0; attempt < kConfigReadAttempts; ++attempt) {
      const uint32_t before = IsLegacy() ? io_.Read32(high_reg) : io_.Read32(mmio::Reg::kConfigGeneration);
      const uint32_t low = io_.Read32(low_reg);
      const uint32_t high = io_.Read32(high_reg);
      const uint32_t after = IsLegacy() ? high : io_.Read32(mmio::Reg::kConfigGeneration);
      if (before == after) return uint64_t{high} << 32 | low;
    }
    return Status(Error::kTimeout, "virtio-mmio: configuration kept changing while being read");
  }

 private:
  void Write64(uint32_t low_reg, uint32_t high_reg, uint64_t value) {
    io_.Write32(low_reg, static_cast<uint32_t>(value));
    io_.Write32(high_reg, static_cast<uint32_t>(value >> 32));
  }

  Io io_;
  uint32_t version_ = 0;
};

}  // namespace salvage::virtio
