// Tests for drivers/virtio/include/salvage/virtio/blk.h (with mmio.h and virtqueue.h)
// against the behavioural fake in host-tests/fakes/fake-virtio-device.h.
//
// Register values and feature bits are written as literals from virtio 1.2 (§2.1 status
// bits, §5.2.3 / §6 feature bits), not with the driver's constants, so a wrong constant
// in the driver fails here. Every test also fails on any protocol error the fake sees.
#include <salvage/virtio/blk.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <salvage/drivers/block.h>
#include <salvage/virtio/mmio.h>
#include <salvage/virtio/virtqueue.h>

#include "fakes/fake-virtio-device.h"

namespace salvage::virtio {
namespace {

using testing::FakeVirtioBlkDevice;
using testing::FakeVirtioBlkOptions;
using testing::FakeVirtioIo;

/// Host barrier: the fake runs in the driver's thread, so only the count matters.
struct CountingBarrier {
  static inline int writes = 0;
  static inline int reads = 0;
  static void Write() { ++writes; }
  static void Read() { ++reads; }
};

using Mmio = VirtioMmio<FakeVirtioIo>;
using Blk = VirtioBlk<Mmio, CountingBarrier>;

static_assert(drivers::BlockDevice<Blk>);
static_assert(Transport<Mmio>);
static_assert(DmaBarrier<CountingBarrier>);

// Status bits (§2.1) and feature bits (§5.2.3, §6).
constexpr uint32_t kAcknowledge = 0x1;
constexpr uint32_t kDriver = 0x2;
constexpr uint32_t kDriverOk = 0x4;
constexpr uint32_t kFeaturesOk = 0x8;
constexpr uint32_t kFailed = 0x80;
constexpr uint64_t kFlushBit = uint64_t{1} << 9;
constexpr uint64_t kVersion1Bit = uint64_t{1} << 32;

// Request types as the fake records them (§5.2.6).
constexpr uint32_t kIn = 0;
constexpr uint32_t kOut = 1;
constexpr uint32_t kFlushType = 4;

/// Where the test arena appears to the device. Below 16 TiB so legacy QueuePFN fits.
constexpr uint64_t kPhysBase = 0x4000'0000;
constexpr size_t kDmaBytes = 64 * 1024;
constexpr size_t kDataBytes = 4u << 20;

bool Contains(const Status& s, const char* text) { return std::string(s.what()).find(text) != std::string::npos; }

/// An aligned arena: DMA memory first, then data buffers, all mapped for the fake.
class VirtioBlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    arena_ = static_cast<uint8_t*>(std::aligned_alloc(4096, kDmaBytes + kDataBytes));
    ASSERT_NE(arena_, nullptr);
    std::memset(arena_, 0x5a, kDmaBytes + kDataBytes);  // The driver must zero what it uses.
    CountingBarrier::writes = 0;
    CountingBarrier::reads = 0;
  }
  void TearDown() override {
    device_.reset();
    std::free(arena_);
  }

  FakeVirtioBlkDevice& MakeDevice(FakeVirtioBlkOptions options = {}) {
    device_ = std::make_unique<FakeVirtioBlkDevice>(options);
    device_->MapDma(std::span<uint8_t>(arena_, kDmaBytes + kDataBytes), phys_base_);
    return *device_;
  }

  /// `bytes` of DMA memory starting `offset` bytes into the arena.
  DmaMemory Dma(size_t bytes = kDmaBytes, size_t offset = 0) {
    return DmaMemory{std::span<uint8_t>(arena_ + offset, bytes),
                     phys_base_ - static_cast<uint64_t>(reinterpret_cast<uintptr_t>(arena_))};
  }

  Blk MakeBlk(blk::Options options = {}, DmaMemory dma = {}) {
    if (dma.bytes.empty()) dma = Dma();
    return Blk(Mmio(FakeVirtioIo(*device_)), dma, options);
  }

  /// A data buffer in the mapped arena, filled with `fill`.
  std::span<uint8_t> Data(size_t offset, size_t len, uint8_t fill) {
    EXPECT_LE(offset + len, kDataBytes);
    std::span<uint8_t> s(arena_ + kDmaBytes + offset, len);
    std::memset(s.data(), fill, len);
    return s;
  }

  /// True when every byte of disk sectors [lba, lba + sectors) equals `value`.
  bool DiskIs(uint64_t lba, uint64_t sectors, uint8_t value) {
    const auto& disk = device_->disk();
    for (uint64_t i = lba * 512; i < (lba + sectors) * 512; ++i) {
      if (disk[i] != value) return false;
    }
    return true;
  }

  uint8_t* arena_ = nullptr;
  uint64_t phys_base_ = kPhysBase;  ///< Where the device sees the arena.
  std::unique_ptr<FakeVirtioBlkDevice> device_;
};

/// Tests that run against a legacy (1) and a modern (2) device.
class VirtioBlkEachVersion : public VirtioBlkTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  FakeVirtioBlkOptions Options() {
    FakeVirtioBlkOptions o;
    o.version = GetParam();
    return o;
  }
  bool legacy() const { return GetParam() == 1; }
};

INSTANTIATE_TEST_SUITE_P(Versions, VirtioBlkEachVersion, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return info.param == 1 ? std::string("Legacy") : std::string("Modern");
                         });

// --- Init -----------------------------------------------------------------------------

TEST_F(VirtioBlkTest, Name) { EXPECT_STREQ(Blk::Name(), "virtio-blk"); }

TEST_P(VirtioBlkEachVersion, InitBringsTheDeviceUp) {
  FakeVirtioBlkDevice& dev = MakeDevice(Options());
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(dev.resets(), 1u);
  EXPECT_EQ(dev.status(), kAcknowledge | kDriver | kDriverOk | (legacy() ? 0 : kFeaturesOk));
  EXPECT_EQ(blk.SectorCount(), 2048u);
  EXPECT_EQ(blk.SectorSize(), 512u);
  EXPECT_EQ(blk.MaxTransfer(), 4u << 20);
  // 64 KiB of DMA memory and QueueNumMax 256: the largest queue, 64 requests.
  EXPECT_EQ(blk.QueueSize(), 256u);
  EXPECT_EQ(dev.queue_num(), 256u);
  EXPECT_EQ(blk.MaxInFlight(), 64u);
  if (legacy()) {
    EXPECT_EQ(dev.guest_page_size(), 4096u);
    EXPECT_EQ(dev.queue_align(), 4096u);
    EXPECT_EQ(dev.queue_pfn(), kPhysBase >> 12);
  } else {
    EXPECT_EQ(dev.queue_ready(), 1u);
  }
  // The legacy layout (§2.7.2), which the modern device is given too.
  EXPECT_EQ(dev.desc_addr(), kPhysBase);
  EXPECT_EQ(dev.driver_addr(), kPhysBase + 16 * 256);
  EXPECT_EQ(dev.device_addr(), kPhysBase + 8192);
}

TEST_P(VirtioBlkEachVersion, AcceptsFlushWhenOffered) {
  FakeVirtioBlkDevice& dev = MakeDevice(Options());
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  const uint64_t expected = kFlushBit | (legacy() ? 0 : kVersion1Bit);
  EXPECT_EQ(dev.driver_features(), expected);
  EXPECT_EQ(blk.NegotiatedFeatures(), expected);
}

TEST_P(VirtioBlkEachVersion, DoesNotAcceptFlushWhenNotOffered) {
  FakeVirtioBlkOptions o = Options();
  o.offer_flush = false;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(dev.driver_features(), legacy() ? 0 : kVersion1Bit);
}

TEST_P(VirtioBlkEachVersion, AcceptsNothingElseOffered) {
  FakeVirtioBlkOptions o = Options();
  // SEG_MAX, GEOMETRY, BLK_SIZE, TOPOLOGY, CONFIG_WCE, MQ, DISCARD, WRITE_ZEROES,
  // INDIRECT_DESC, EVENT_IDX; modern also ACCESS_PLATFORM-free RING_PACKED, IN_ORDER.
  o.extra_features = (1u << 2) | (1u << 4) | (1u << 6) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) |
                     (1u << 14) | (1u << 28) | (1u << 29) | (uint64_t{1} << 34) | (uint64_t{1} << 35);
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(dev.driver_features(), kFlushBit | (legacy() ? 0 : kVersion1Bit));
}

TEST_F(VirtioBlkTest, ModernDeviceWithoutVersion1IsRefused) {
  FakeVirtioBlkOptions o;
  o.offer_version_1 = false;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kUnsupported);
  EXPECT_TRUE(Contains(s, "virtio-blk")) << s.what();
  EXPECT_TRUE(Contains(s, "VIRTIO_F_VERSION_1")) << s.what();
  EXPECT_NE(dev.status() & kFailed, 0u);
  EXPECT_EQ(dev.status() & kDriverOk, 0u);
}

TEST_F(VirtioBlkTest, RefusedFeaturesOkFailsInit) {
  FakeVirtioBlkOptions o;
  o.refuse_features_ok = true;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kUnsupported);
  EXPECT_TRUE(Contains(s, "FEATURES_OK")) << s.what();
  EXPECT_NE(dev.status() & kFailed, 0u);
  EXPECT_EQ(dev.status() & kDriverOk, 0u);
  // And the driver refuses to be used.
  EXPECT_EQ(blk.StartWrite(0, std::span<const uint8_t>(Data(0, 512, 1))).status().error(), Error::kInvalidArgument);
}

TEST_F(VirtioBlkTest, WrongMagicIsNotADevice) {
  FakeVirtioBlkOptions o;
  o.magic = 0x12345678;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_TRUE(Contains(s, "MagicValue")) << s.what();
  EXPECT_EQ(dev.resets(), 0u);
}

TEST_F(VirtioBlkTest, UnknownVersionIsUnsupported) {
  for (uint32_t version : {0u, 3u}) {
    FakeVirtioBlkOptions o;
    o.version = version;
    FakeVirtioBlkDevice& dev = MakeDevice(o);
    Blk blk = MakeBlk();
    const Status s = blk.Init();
    EXPECT_EQ(s.error(), Error::kUnsupported) << version;
    EXPECT_TRUE(Contains(s, "Version")) << s.what();
    EXPECT_EQ(dev.resets(), 0u);
  }
}

TEST_F(VirtioBlkTest, EmptySlotIsNotFound) {
  FakeVirtioBlkOptions o;
  o.device_id = 0;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_TRUE(Contains(s, "empty slot")) << s.what();
  EXPECT_EQ(dev.resets(), 0u);  // And (checked by the fake) no register past DeviceID.
}

TEST_F(VirtioBlkTest, OtherDeviceTypeIsNotFound) {
  FakeVirtioBlkOptions o;
  o.device_id = 4;  // entropy
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_TRUE(Contains(s, "another device type")) << s.what();
  EXPECT_EQ(dev.resets(), 0u);
}

TEST_P(VirtioBlkEachVersion, StaleDeviceIsResetAndItsQueuedWriteDiscarded) {
  FakeVirtioBlkDevice& dev = MakeDevice(Options());
  dev.LeaveStale(/*sector=*/7);  // DRIVER_OK, queue live, a write of 0xee to sector 7 queued.
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(dev.resets(), 1u);
  Result<uint32_t> t = blk.StartWrite(0, Data(0, 512, 0x11));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(blk.Wait(*t).ok());
  EXPECT_TRUE(DiskIs(0, 1, 0x11));
  EXPECT_TRUE(DiskIs(7, 1, 0x00)) << "the crashed kernel's queued write ran";
  ASSERT_EQ(dev.requests().size(), 1u);
  EXPECT_EQ(dev.requests()[0].type, kOut);
}

TEST_P(VirtioBlkEachVersion, QueueStillLiveAfterResetIsStopped) {
  FakeVirtioBlkOptions o = Options();
  o.queue_ready_survives_reset = true;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  dev.LeaveStale(7);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  if (!legacy()) {
    EXPECT_EQ(dev.stale_ready_writes(), 1u);
  } else {
    EXPECT_EQ(dev.queue_pfn(), kPhysBase >> 12);  // Cleared, then set to our queue.
  }
  Result<uint32_t> t = blk.StartWrite(3, Data(0, 1024, 0x22));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(blk.Wait(*t).ok());
  EXPECT_TRUE(DiskIs(3, 2, 0x22));
  EXPECT_TRUE(DiskIs(7, 1, 0x00));
}

TEST_F(VirtioBlkTest, SlowResetIsWaitedFor) {
  FakeVirtioBlkOptions o;
  o.reset_busy_reads = 10;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  dev.LeaveStale(7);
  Blk blk = MakeBlk();
  EXPECT_TRUE(blk.Init().ok());
}

TEST_F(VirtioBlkTest, ResetThatNeverFinishesTimesOut) {
  FakeVirtioBlkOptions o;
  o.reset_busy_reads = UINT32_MAX;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  dev.LeaveStale(7);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kTimeout);
  EXPECT_TRUE(Contains(s, "reset")) << s.what();
}

TEST_F(VirtioBlkTest, CapacityReadRetriesWhileConfigGenerationChanges) {
  FakeVirtioBlkOptions o;
  o.capacity_sectors = 4096;
  o.config_generation_changes = 3;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(blk.SectorCount(), 4096u);
  EXPECT_GE(dev.config_generation_reads(), 4u);  // At least one retry, each bracketed.
}

TEST_F(VirtioBlkTest, ConfigThatNeverSettlesFailsInit) {
  FakeVirtioBlkOptions o;
  o.config_generation_changes = 1'000'000;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kTimeout);
  EXPECT_NE(dev.status() & kFailed, 0u);
}

TEST_F(VirtioBlkTest, QueueSizeFollowsQueueNumMax) {
  struct Case {
    uint32_t queue_num_max;
    uint32_t queue_size;
    size_t in_flight;
  };
  for (const Case& c : {Case{8, 8, 2}, Case{100, 64, 21}, Case{1024, 256, 64}, Case{4, 4, 1}}) {
    FakeVirtioBlkOptions o;
    o.queue_num_max = c.queue_num_max;
    FakeVirtioBlkDevice& dev = MakeDevice(o);
    Blk blk = MakeBlk();
    ASSERT_TRUE(blk.Init().ok()) << c.queue_num_max;
    EXPECT_EQ(blk.QueueSize(), c.queue_size) << c.queue_num_max;
    EXPECT_EQ(dev.queue_num(), c.queue_size) << c.queue_num_max;
    EXPECT_EQ(blk.MaxInFlight(), c.in_flight) << c.queue_num_max;
  }
}

TEST_F(VirtioBlkTest, TinyQueueIsUnsupported) {
  FakeVirtioBlkOptions o;
  o.queue_num_max = 2;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kUnsupported);
  EXPECT_TRUE(Contains(s, "queue 0")) << s.what();
  EXPECT_NE(dev.status() & kFailed, 0u);
}

TEST_F(VirtioBlkTest, QueueSizeFollowsDmaMemory) {
  // DmaBytesFor(n) is enough for n requests; the queue is the smallest that holds them.
  for (size_t n : {size_t{1}, size_t{4}, size_t{32}, size_t{64}}) {
    MakeDevice();
    Blk blk = MakeBlk({}, Dma(blk::DmaBytesFor(n)));
    ASSERT_TRUE(blk.Init().ok()) << n;
    EXPECT_EQ(blk.MaxInFlight(), n);
    EXPECT_EQ(blk.QueueSize(), blk::QueueSizeFor(n)) << n;
  }
}

TEST_F(VirtioBlkTest, DmaMemoryIsChecked) {
  FakeVirtioBlkDevice& dev = MakeDevice();
  Blk small = MakeBlk({}, Dma(blk::DmaBytesFor(1) - 1));
  const Status s1 = small.Init();
  EXPECT_EQ(s1.error(), Error::kInvalidArgument);
  EXPECT_TRUE(Contains(s1, "DMA memory")) << s1.what();
  Blk misaligned = MakeBlk({}, Dma(16384, 16));
  const Status s2 = misaligned.Init();
  EXPECT_EQ(s2.error(), Error::kInvalidArgument);
  EXPECT_TRUE(Contains(s2, "aligned")) << s2.what();
  EXPECT_EQ(dev.resets(), 0u);  // Checked before the device is touched.
}

TEST_P(VirtioBlkEachVersion, InitTwiceStartsOver) {
  FakeVirtioBlkDevice& dev = MakeDevice(Options());
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  for (int i = 0; i < 5; ++i) {
    Result<uint32_t> t = blk.StartWrite(i, Data(0, 512, static_cast<uint8_t>(0x30 + i)));
    ASSERT_TRUE(t.ok());
  }
  ASSERT_TRUE(blk.Init().ok());  // Requests not collected are dropped with the reset.
  Result<uint32_t> t = blk.StartWrite(9, Data(0, 512, 0x44));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(blk.Wait(*t).ok());
  EXPECT_TRUE(DiskIs(9, 1, 0x44));
  EXPECT_EQ(dev.resets(), 2u);
}

// --- Writes ----------------------------------------------------------------------------

TEST_P(VirtioBlkEachVersion, WritesLandAtTheirLbas) {
  FakeVirtioBlkDevice& dev = MakeDevice(Options());
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  Result<uint32_t> a = blk.StartWrite(0, Data(0, 512, 0xa1));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(blk.Wait(*a).ok());
  Result<uint32_t> b = blk.StartWrite(10, Data(4096, 8 * 512, 0xb2));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(blk.Wait(*b).ok());
  Result<uint32_t> c = blk.StartWrite(2047, Data(65536, 512, 0xc3));  // The last sector.
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(blk.Wait(*c).ok());

  EXPECT_TRUE(DiskIs(0, 1, 0xa1));
  EXPECT_TRUE(DiskIs(1, 9, 0x00));
  EXPECT_TRUE(DiskIs(10, 8, 0xb2));
  EXPECT_TRUE(DiskIs(18, 2047 - 18, 0x00));
  EXPECT_TRUE(DiskIs(2047, 1, 0xc3));
  ASSERT_EQ(dev.requests().size(), 3u);
  EXPECT_EQ(dev.requests()[1].type, kOut);
  EXPECT_EQ(dev.requests()[1].sector, 10u);
  EXPECT_EQ(dev.requests()[1].bytes, 8u * 512);
  EXPECT_EQ(dev.requests()[2].sector, 2047u);
}

TEST_P(VirtioBlkEachVersion, LargestWriteIsOneRequest) {
  FakeVirtioBlkOptions o = Options();
  o.capacity_sectors = 16384;  // 8 MiB
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_EQ(blk.MaxTransfer(), 4u << 20);
  std::span<uint8_t> data = Data(0, 4u << 20, 0x77);
  Result<uint32_t> t = blk.StartWrite(100, data);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(blk.Wait(*t).ok());
  ASSERT_EQ(dev.requests().size(), 1u);
  EXPECT_EQ(dev.requests()[0].bytes, 4u << 20);
  EXPECT_TRUE(DiskIs(100, 8192, 0x77));
  EXPECT_EQ(blk.StartWrite(0, std::span<uint8_t>(arena_ + kDmaBytes, (4u << 20) + 512)).status().error(),
            Error::kInvalidArgument);
}

TEST_F(VirtioBlkTest, ModernQueueAndDataAbove4GiB) {
  phys_base_ = 0x12'3456'7000'0000;  // Needs the High halves of the queue registers.
  FakeVirtioBlkDevice& dev = MakeDevice();
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(dev.desc_addr(), phys_base_);
  EXPECT_EQ(dev.device_addr(), phys_base_ + 8192);
  Result<uint32_t> t = blk.StartWrite(1, Data(0, 512, 0xab));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(blk.Wait(*t).ok());
  EXPECT_TRUE(DiskIs(1, 1, 0xab));
}

TEST_F(VirtioBlkTest, LegacyQueueAbove16TiBIsOutOfRange) {
  phys_base_ = uint64_t{1} << 44;  // QueuePFN would need 33 bits.
  FakeVirtioBlkOptions o;
  o.version = 1;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  const Status s = blk.Init();
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  EXPECT_TRUE(Contains(s, "QueuePFN")) << s.what();
  EXPECT_NE(dev.status() & kFailed, 0u);
}

TEST_P(VirtioBlkEachVersion, SeveralWritesInFlight) {
  FakeVirtioBlkOptions o = Options();
  o.complete_after_polls = 5;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  std::vector<uint32_t> tickets;
  for (int i = 0; i < 8; ++i) {
    Result<uint32_t> t = blk.StartWrite(8 * i, Data(4096 * i, 4096, static_cast<uint8_t>(0x10 + i)));
    ASSERT_TRUE(t.ok());
    tickets.push_back(*t);
  }
  EXPECT_EQ(dev.pending(), 8u);  // Nothing completed yet: all eight are with the device.
  EXPECT_EQ(dev.max_in_flight(), 8u);
  EXPECT_TRUE(blk.WaitAll().ok());
  EXPECT_EQ(dev.pending(), 0u);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(DiskIs(8 * i, 8, static_cast<uint8_t>(0x10 + i))) << i;
  // Collected by WaitAll: a ticket is collected once.
  EXPECT_EQ(blk.Wait(tickets[0]).error(), Error::kInvalidArgument);
}

TEST_P(VirtioBlkEachVersion, WaitOnAnOlderTicketAfterANewerOne) {
  FakeVirtioBlkOptions o = Options();
  o.complete_after_polls = 3;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  uint32_t t[4];
  for (int i = 0; i < 4; ++i) {
    Result<uint32_t> r = blk.StartWrite(i, Data(512 * i, 512, static_cast<uint8_t>(0x60 + i)));
    ASSERT_TRUE(r.ok());
    t[i] = *r;
  }
  EXPECT_TRUE(blk.Wait(t[3]).ok());
  EXPECT_TRUE(blk.Wait(t[0]).ok());
  EXPECT_TRUE(blk.Wait(t[2]).ok());
  EXPECT_TRUE(blk.Wait(t[1]).ok());
  EXPECT_EQ(blk.Wait(t[1]).error(), Error::kInvalidArgument);
  EXPECT_EQ(blk.Wait(0).error(), Error::kInvalidArgument);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(DiskIs(i, 1, static_cast<uint8_t>(0x60 + i)));
  EXPECT_EQ(dev.max_in_flight(), 4u);
}

TEST_P(VirtioBlkEachVersion, OutOfOrderCompletionKeepsTheQueueConsistent) {
  FakeVirtioBlkOptions o = Options();
  o.complete_after_polls = 2;
  o.reverse_completion = true;
  o.queue_num_max = 16;  // 5 requests in flight: the free list is reused many times over.
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_EQ(blk.MaxInFlight(), 5u);
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 5; ++i) {
      const uint64_t lba = static_cast<uint64_t>(round * 5 + i);
      ASSERT_TRUE(blk.StartWrite(lba, Data(512 * (round * 5 + i), 512, static_cast<uint8_t>(lba))).ok())
          << round << " " << i;
    }
    ASSERT_TRUE(blk.WaitAll().ok()) << round;
  }
  for (uint64_t lba = 0; lba < 250; ++lba) EXPECT_TRUE(DiskIs(lba, 1, static_cast<uint8_t>(lba))) << lba;
  ASSERT_GE(dev.completion_order().size(), 5u);
  EXPECT_EQ(dev.completion_order()[0], 4u);  // Newest first.
  EXPECT_EQ(dev.completion_order()[4], 0u);
}

TEST_F(VirtioBlkTest, SlotsRunOutUntilATicketIsCollected) {
  FakeVirtioBlkOptions o;
  o.never_complete = true;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk({}, Dma(blk::DmaBytesFor(4)));
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_EQ(blk.MaxInFlight(), 4u);
  uint32_t t[4];
  for (int i = 0; i < 4; ++i) {
    Result<uint32_t> r = blk.StartWrite(i, Data(512 * i, 512, 0x99));
    ASSERT_TRUE(r.ok());
    t[i] = *r;
  }
  Result<uint32_t> fifth = blk.StartWrite(4, Data(4096, 512, 0x99));
  EXPECT_EQ(fifth.status().error(), Error::kResourceExhausted);
  dev.CompleteAllPending();
  // Finished but not collected: the slots still hold their results.
  EXPECT_EQ(blk.StartWrite(4, Data(4096, 512, 0x99)).status().error(), Error::kResourceExhausted);
  EXPECT_TRUE(blk.Wait(t[2]).ok());
  EXPECT_TRUE(blk.StartWrite(4, Data(4096, 512, 0x99)).ok());
}

TEST_F(VirtioBlkTest, ArgumentsAreChecked) {
  MakeDevice();
  Blk blk = MakeBlk();
  EXPECT_EQ(blk.StartWrite(0, Data(0, 512, 1)).status().error(), Error::kInvalidArgument);  // Before Init.
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(blk.StartWrite(0, Data(0, 0, 1)).status().error(), Error::kInvalidArgument);
  EXPECT_EQ(blk.StartWrite(0, Data(0, 100, 1)).status().error(), Error::kInvalidArgument);
  EXPECT_EQ(blk.StartWrite(2047, Data(0, 1024, 1)).status().error(), Error::kOutOfRange);
  EXPECT_EQ(blk.StartWrite(UINT64_MAX, Data(0, 512, 1)).status().error(), Error::kOutOfRange);
  EXPECT_EQ(blk.Read(2048, Data(0, 512, 1)).error(), Error::kOutOfRange);
  EXPECT_EQ(blk.Read(0, Data(0, 513, 1)).error(), Error::kInvalidArgument);
  EXPECT_EQ(blk.StartWrite(0, Data(0, 2 << 20, 1)).status().error(), Error::kOutOfRange);  // 1 MiB disk.
}

TEST_F(VirtioBlkTest, WriteLargerThanMaxTransferIsRefused) {
  FakeVirtioBlkOptions o;
  o.size_max = 4096 + 100;  // Rounded down to whole sectors.
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(blk.MaxTransfer(), 4096u);
  EXPECT_EQ(dev.driver_features() & 0x2, 0u);  // SIZE_MAX read, not accepted.
  EXPECT_EQ(blk.StartWrite(0, Data(0, 8192, 1)).status().error(), Error::kInvalidArgument);
  EXPECT_TRUE(blk.StartWrite(0, Data(0, 4096, 1)).ok());
}

TEST_F(VirtioBlkTest, SizeMaxBelowASectorIsUnsupported) {
  FakeVirtioBlkOptions o;
  o.size_max = 256;
  MakeDevice(o);
  Blk blk = MakeBlk();
  EXPECT_EQ(blk.Init().error(), Error::kUnsupported);
}

TEST_F(VirtioBlkTest, ReadOnlyDeviceRefusesWrites) {
  FakeVirtioBlkOptions o;
  o.read_only = true;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  const Status s = blk.StartWrite(0, Data(0, 512, 1)).status();
  EXPECT_EQ(s.error(), Error::kUnsupported);
  EXPECT_TRUE(Contains(s, "read-only")) << s.what();
  EXPECT_TRUE(blk.Read(0, Data(0, 512, 1)).ok());
  EXPECT_EQ(dev.requests().size(), 1u);
}

// --- Errors ----------------------------------------------------------------------------

TEST_P(VirtioBlkEachVersion, IoErrorIsReported) {
  FakeVirtioBlkOptions o = Options();
  o.fail_sector = 100;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  Result<uint32_t> good = blk.StartWrite(0, Data(0, 512, 0x12));
  Result<uint32_t> bad = blk.StartWrite(96, Data(4096, 8 * 512, 0x34));  // Covers sector 100.
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(bad.ok());
  const Status s = blk.Wait(*bad);
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "virtio-blk")) << s.what();
  EXPECT_TRUE(Contains(s, "write")) << s.what();
  EXPECT_TRUE(Contains(s, "VIRTIO_BLK_S_IOERR")) << s.what();
  EXPECT_TRUE(blk.Wait(*good).ok());
  EXPECT_TRUE(DiskIs(96, 8, 0x00));
  EXPECT_EQ(dev.requests().size(), 2u);
  // The device is still usable.
  Result<uint32_t> after = blk.StartWrite(200, Data(0, 512, 0x56));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(blk.Wait(*after).ok());
}

TEST_F(VirtioBlkTest, UnsupportedStatusIsReported) {
  FakeVirtioBlkOptions o;
  o.fail_sector = 0;
  o.fail_status = 2;
  MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  const Status s = blk.Read(0, Data(0, 512, 0));
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "read failed: VIRTIO_BLK_S_UNSUPP")) << s.what();
}

TEST_F(VirtioBlkTest, MissingStatusByteIsAnError) {
  FakeVirtioBlkOptions o;
  o.skip_status_write = true;
  MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  Result<uint32_t> t = blk.StartWrite(0, Data(0, 512, 1));
  ASSERT_TRUE(t.ok());
  const Status s = blk.Wait(*t);
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "without a status byte")) << s.what();
}

TEST_F(VirtioBlkTest, WaitAllReturnsTheEarliestError) {
  FakeVirtioBlkOptions o;
  o.fail_sector = 5;
  o.complete_after_polls = 2;
  o.reverse_completion = true;
  MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_TRUE(blk.StartWrite(0, Data(0, 512, 1)).ok());
  Result<uint32_t> bad = blk.StartWrite(5, Data(512, 512, 1));
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(blk.StartWrite(6, Data(1024, 512, 1)).ok());
  const Status s = blk.WaitAll();
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "VIRTIO_BLK_S_IOERR")) << s.what();
  EXPECT_EQ(blk.Wait(*bad).error(), Error::kInvalidArgument);  // Collected.
  EXPECT_TRUE(blk.WaitAll().ok());
}

TEST_P(VirtioBlkEachVersion, DeviceThatNeverCompletesTimesOut) {
  FakeVirtioBlkOptions o = Options();
  o.never_complete = true;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  blk::Options options;
  options.poll_limit = 1000;
  Blk blk = MakeBlk(options);
  ASSERT_TRUE(blk.Init().ok());
  Result<uint32_t> t = blk.StartWrite(0, Data(0, 512, 0x42));
  ASSERT_TRUE(t.ok());
  const uint32_t reads_before = dev.interrupt_status_reads();
  const Status s = blk.Wait(*t);
  EXPECT_EQ(s.error(), Error::kTimeout);
  EXPECT_STREQ(s.what(), "virtio-blk: request did not complete");
  EXPECT_EQ(dev.interrupt_status_reads() - reads_before, 1000u);
  EXPECT_EQ(blk.WaitAll().error(), Error::kTimeout);
  EXPECT_EQ(blk.Flush().error(), Error::kTimeout);
  // The request stays queued and its ticket valid: if the device finishes after all, Wait collects it.
  dev.CompleteAllPending();
  EXPECT_TRUE(blk.Wait(*t).ok());
  EXPECT_TRUE(DiskIs(0, 1, 0x42));
}

TEST_F(VirtioBlkTest, SlowDeviceTimesOutThenCompletes) {
  FakeVirtioBlkOptions o;
  o.complete_after_polls = 25;
  MakeDevice(o);
  blk::Options options;
  options.poll_limit = 10;
  Blk blk = MakeBlk(options);
  ASSERT_TRUE(blk.Init().ok());
  Result<uint32_t> t = blk.StartWrite(0, Data(0, 512, 1));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(blk.Wait(*t).error(), Error::kTimeout);
  EXPECT_EQ(blk.Wait(*t).error(), Error::kTimeout);
  EXPECT_TRUE(blk.Wait(*t).ok());
}

TEST_P(VirtioBlkEachVersion, NeedsResetIsReportedAndSticks) {
  FakeVirtioBlkOptions o = Options();
  o.never_complete = true;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  Result<uint32_t> t = blk.StartWrite(0, Data(0, 512, 1));
  ASSERT_TRUE(t.ok());
  dev.RaiseNeedsReset();
  const uint32_t reads_before = dev.interrupt_status_reads();
  const Status s = blk.Wait(*t);
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_STREQ(s.what(), "virtio-blk: device status NEEDS_RESET");
  EXPECT_EQ(dev.interrupt_status_reads() - reads_before, 1u);  // Noticed at the first poll.
  EXPECT_EQ(blk.StartWrite(1, Data(0, 512, 1)).status().what(), s.what());
  EXPECT_EQ(blk.Flush().what(), s.what());
}

// --- Read and Flush --------------------------------------------------------------------

TEST_P(VirtioBlkEachVersion, ReadReturnsTheDisk) {
  FakeVirtioBlkDevice& dev = MakeDevice(Options());
  for (size_t i = 0; i < dev.disk().size(); ++i) dev.disk()[i] = static_cast<uint8_t>(i * 7 + i / 512);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  std::span<uint8_t> dst = Data(0, 3 * 512, 0);
  ASSERT_TRUE(blk.Read(5, dst).ok());
  EXPECT_EQ(std::memcmp(dst.data(), dev.disk().data() + 5 * 512, dst.size()), 0);
  ASSERT_EQ(dev.requests().size(), 1u);
  EXPECT_EQ(dev.requests()[0].type, kIn);
  EXPECT_EQ(dev.requests()[0].sector, 5u);
  EXPECT_EQ(dev.requests()[0].bytes, 3u * 512);
}

TEST_F(VirtioBlkTest, ReadIsSplitAtMaxTransfer) {
  FakeVirtioBlkOptions o;
  o.size_max = 4096;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  for (size_t i = 0; i < dev.disk().size(); ++i) dev.disk()[i] = static_cast<uint8_t>(i / 512);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  std::span<uint8_t> dst = Data(0, 16384, 0);
  ASSERT_TRUE(blk.Read(8, dst).ok());
  EXPECT_EQ(std::memcmp(dst.data(), dev.disk().data() + 8 * 512, dst.size()), 0);
  ASSERT_EQ(dev.requests().size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(dev.requests()[i].sector, 8 + 8 * i);
    EXPECT_EQ(dev.requests()[i].bytes, 4096u);
  }
}

TEST_P(VirtioBlkEachVersion, FlushFollowsTheWritesWhenNegotiated) {
  FakeVirtioBlkOptions o = Options();
  o.complete_after_polls = 4;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_TRUE(blk.StartWrite(0, Data(0, 512, 1)).ok());
  ASSERT_TRUE(blk.StartWrite(1, Data(512, 512, 2)).ok());
  EXPECT_TRUE(blk.Flush().ok());
  ASSERT_EQ(dev.requests().size(), 3u);
  EXPECT_EQ(dev.requests()[2].type, kFlushType);
  EXPECT_EQ(dev.requests()[2].sector, 0u);
  EXPECT_EQ(dev.requests()[2].bytes, 0u);
  EXPECT_EQ(dev.requests()[2].in_flight_before, 0u);  // Sent after both writes finished.
  EXPECT_TRUE(DiskIs(0, 1, 1));
  EXPECT_TRUE(DiskIs(1, 1, 2));
}

TEST_P(VirtioBlkEachVersion, FlushSendsNothingWhenNotNegotiated) {
  FakeVirtioBlkOptions o = Options();
  o.offer_flush = false;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_TRUE(blk.StartWrite(0, Data(0, 512, 1)).ok());
  EXPECT_TRUE(blk.Flush().ok());
  ASSERT_EQ(dev.requests().size(), 1u);
  EXPECT_EQ(dev.requests()[0].type, kOut);
  EXPECT_TRUE(DiskIs(0, 1, 1));
}

TEST_F(VirtioBlkTest, FlushReturnsAWriteErrorWithoutFlushing) {
  FakeVirtioBlkOptions o;
  o.fail_sector = 0;
  FakeVirtioBlkDevice& dev = MakeDevice(o);
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  ASSERT_TRUE(blk.StartWrite(0, Data(0, 512, 1)).ok());
  const Status s = blk.Flush();
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "write failed")) << s.what();
  ASSERT_EQ(dev.requests().size(), 1u);
}

// --- Ordering --------------------------------------------------------------------------

TEST_F(VirtioBlkTest, BarriersSurroundEveryRequest) {
  MakeDevice();
  Blk blk = MakeBlk();
  ASSERT_TRUE(blk.Init().ok());
  EXPECT_EQ(CountingBarrier::writes, 0);
  for (int i = 0; i < 3; ++i) {
    Result<uint32_t> t = blk.StartWrite(i, Data(0, 512, 1));
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(blk.Wait(*t).ok());
  }
  EXPECT_EQ(CountingBarrier::writes, 3);  // One before each avail idx update.
  EXPECT_EQ(CountingBarrier::reads, 3);   // One after each new used idx.
}

}  // namespace
}  // namespace salvage::virtio
