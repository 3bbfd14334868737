// salvage::virtio — what a virtio transport gives a device driver, and the parts of
// virtio that do not depend on the transport or the device type.
//
// Follows Virtual I/O Device (VIRTIO) Version 1.2 (OASIS, 2022): §2.1 Device Status
// Field, §2.2 Feature Bits, §3.1 Device Initialization, §6 Reserved Feature Bits.
// Section numbers below refer to it.
//
// A device driver (VirtioBlk) is a template over a `Transport`; the only transport so
// far is VirtioMmio (mmio.h), legacy (Version 1) and modern (Version 2).
#pragma once

#include <concepts>
#include <cstdint>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::virtio {

/// The device status field (§2.1). The driver only ever sets bits; writing 0 resets.
struct DeviceStatus {
  static constexpr uint32_t kAcknowledge = 1u << 0;  ///< 0 ACKNOWLEDGE: a driver found the device.
  static constexpr uint32_t kDriver = 1u << 1;       ///< 1 DRIVER: the driver knows how to drive it.
  static constexpr uint32_t kDriverOk = 1u << 2;     ///< 2 DRIVER_OK: the driver is ready.
  static constexpr uint32_t kFeaturesOk = 1u << 3;   ///< 3 FEATURES_OK: feature negotiation is done.
  // 5:4 Reserved.
  static constexpr uint32_t kNeedsReset = 1u << 6;   ///< 6 DEVICE_NEEDS_RESET: the device gave up.
  static constexpr uint32_t kFailed = 1u << 7;       ///< 7 FAILED: the driver gave up.
  // 31:8 Reserved.
};

/// Transport- and device-independent feature bits (§6), as masks over the 64-bit
/// feature word. Bits 0..23 are device-specific, 24..40 and 50..127 reserved here.
struct Feature {
  static constexpr uint64_t kIndirectDesc = uint64_t{1} << 28;     ///< VIRTIO_F_INDIRECT_DESC
  static constexpr uint64_t kEventIdx = uint64_t{1} << 29;         ///< VIRTIO_F_EVENT_IDX
  static constexpr uint64_t kVersion1 = uint64_t{1} << 32;         ///< VIRTIO_F_VERSION_1
  static constexpr uint64_t kAccessPlatform = uint64_t{1} << 33;   ///< VIRTIO_F_ACCESS_PLATFORM
  static constexpr uint64_t kRingPacked = uint64_t{1} << 34;       ///< VIRTIO_F_RING_PACKED
  static constexpr uint64_t kInOrder = uint64_t{1} << 35;          ///< VIRTIO_F_IN_ORDER
};

/// Why the device raised its interrupt (InterruptStatus, §4.2.2). Salvage never takes
/// the interrupt; it polls, and acknowledges what it finds.
struct Interrupt {
  static constexpr uint32_t kUsedBuffer = 1u << 0;    ///< 0 Used Buffer Notification.
  static constexpr uint32_t kConfigChange = 1u << 1;  ///< 1 Configuration Change Notification
                                                      ///< (also sent with DEVICE_NEEDS_RESET).
};

/// Where the three parts of a split virtqueue are (§2.7), as the device sees them.
struct QueueAddresses {
  PhysAddr desc;    ///< Descriptor Area: the descriptor table.
  PhysAddr driver;  ///< Driver Area: the available ring.
  PhysAddr device;  ///< Device Area: the used ring.
};

/// A virtio transport, as a device driver uses it:
///   Probe(device_id)        checks that a device of this type is here (and which
///                           transport version); must succeed before anything else.
///   IsLegacy()              true for a legacy (pre-1.0) interface: 32 feature bits, no
///                           FEATURES_OK, the queue in the contiguous legacy layout.
///   Reset()                 writes 0 to the status and waits (bounded) until it reads 0.
///   ReadStatus()            the device status (DeviceStatus bits).
///   SetStatusBits(bits)     ORs `bits` into the device status.
///   ReadDeviceFeatures()    the features the device offers (64 bits; 32 when legacy).
///   WriteDriverFeatures(f)  the features the driver accepts.
///   QueueMaxSize(q)         makes sure queue q is not in use and returns its largest size.
///   EnableQueue(q, n, a)    gives queue q, of n entries, to the device at addresses a.
///   Notify(q)               tells the device that queue q has new available buffers.
///   AckInterrupts()         reads and acknowledges InterruptStatus; returns the bits.
///   ReadConfig32(offset)    a 32-bit field of the device-specific configuration space.
///   ReadConfig64(offset)    a 64-bit field, read consistently (or kTimeout).
template <class T>
concept Transport = requires(T& t, uint32_t u32, uint64_t u64, uint16_t queue, const QueueAddresses& qa) {
  { t.Probe(u32) } -> std::same_as<Status>;
  { t.IsLegacy() } -> std::same_as<bool>;
  { t.Reset() } -> std::same_as<Status>;
  { t.ReadStatus() } -> std::same_as<uint32_t>;
  t.SetStatusBits(u32);
  { t.ReadDeviceFeatures() } -> std::same_as<uint64_t>;
  t.WriteDriverFeatures(u64);
  { t.QueueMaxSize(queue) } -> std::same_as<Result<uint32_t>>;
  { t.EnableQueue(queue, queue, qa) } -> std::same_as<Status>;
  t.Notify(queue);
  { t.AckInterrupts() } -> std::same_as<uint32_t>;
  { t.ReadConfig32(u32) } -> std::same_as<uint32_t>;
  { t.ReadConfig64(u32) } -> std::same_as<Result<uint64_t>>;
};

}  // namespace salvage::virtio
