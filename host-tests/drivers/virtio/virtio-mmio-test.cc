// Tests for drivers/virtio/include/salvage/virtio/mmio.h on its own: register-level
// behaviour of the virtio-mmio transport (virtio 1.2 §4.2) against the fake device.
#include <salvage/virtio/mmio.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "fakes/fake-virtio-device.h"

namespace salvage::virtio {
namespace {

using testing::FakeVirtioBlkDevice;
using testing::FakeVirtioBlkOptions;
using testing::FakeVirtioIo;
using Mmio = VirtioMmio<FakeVirtioIo>;

static_assert(Transport<Mmio>);

FakeVirtioBlkOptions Version(uint32_t v) {
  FakeVirtioBlkOptions o;
  o.version = v;
  return o;
}

TEST(VirtioMmioTest, ProbeReportsVersionAndVendor) {
  FakeVirtioBlkDevice legacy(Version(1));
  Mmio a{FakeVirtioIo(legacy)};
  ASSERT_TRUE(a.Probe(2).ok());
  EXPECT_TRUE(a.IsLegacy());
  EXPECT_EQ(a.Version(), 1u);
  EXPECT_EQ(a.VendorId(), 0x554d4551u);

  FakeVirtioBlkDevice modern(Version(2));
  Mmio b{FakeVirtioIo(modern)};
  ASSERT_TRUE(b.Probe(2).ok());
  EXPECT_FALSE(b.IsLegacy());
  EXPECT_EQ(b.Version(), 2u);
}

TEST(VirtioMmioTest, LegacyFeaturesAreThirtyTwoBits) {
  FakeVirtioBlkOptions o = Version(1);
  o.extra_features = (uint64_t{1} << 40) | 0x4;  // The high bit cannot be offered by a legacy device.
  FakeVirtioBlkDevice dev(o);
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  ASSERT_TRUE(t.Reset().ok());
  EXPECT_EQ(t.ReadDeviceFeatures(), (uint64_t{1} << 9) | 0x4);
  t.WriteDriverFeatures(uint64_t{1} << 9);  // The fake fails the test on a GuestFeaturesSel of 1.
  EXPECT_EQ(dev.driver_features(), uint64_t{1} << 9);
}

TEST(VirtioMmioTest, ModernFeaturesAreSixtyFourBits) {
  FakeVirtioBlkOptions o = Version(2);
  o.extra_features = uint64_t{1} << 40;
  FakeVirtioBlkDevice dev(o);
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  ASSERT_TRUE(t.Reset().ok());
  EXPECT_EQ(t.ReadDeviceFeatures(), (uint64_t{1} << 40) | (uint64_t{1} << 32) | (uint64_t{1} << 9));
  t.WriteDriverFeatures((uint64_t{1} << 32) | (uint64_t{1} << 9));
  EXPECT_EQ(dev.driver_features(), (uint64_t{1} << 32) | (uint64_t{1} << 9));
}

TEST(VirtioMmioTest, LegacyQueueMustBeInTheLegacyLayout) {
  FakeVirtioBlkDevice dev(Version(1));
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  ASSERT_TRUE(t.Reset().ok());
  Result<uint32_t> max = t.QueueMaxSize(0);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 256u);
  const uint64_t base = 0x4000'0000;
  // Used ring not at the next 4096 boundary.
  QueueAddresses wrong{PhysAddr{base}, PhysAddr{base + 16 * 8}, PhysAddr{base + 1024}};
  EXPECT_EQ(t.EnableQueue(0, 8, wrong).error(), Error::kInvalidArgument);
  // Start not page-aligned.
  QueueAddresses unaligned{PhysAddr{base + 16}, PhysAddr{base + 16 + 128}, PhysAddr{base + 4096}};
  EXPECT_EQ(t.EnableQueue(0, 8, unaligned).error(), Error::kInvalidArgument);
  EXPECT_EQ(dev.queue_pfn(), 0u);  // Neither reached the device.
  QueueAddresses right{PhysAddr{base}, PhysAddr{base + 16 * 8}, PhysAddr{base + 4096}};
  EXPECT_TRUE(t.EnableQueue(0, 8, right).ok());
  EXPECT_EQ(dev.queue_pfn(), base / 4096);
  EXPECT_EQ(dev.device_addr(), base + 4096);  // The fake's own §2.7.2 computation agrees.
}

TEST(VirtioMmioTest, ModernQueueTakesThreeAddresses) {
  FakeVirtioBlkDevice dev(Version(2));
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  ASSERT_TRUE(t.Reset().ok());
  ASSERT_TRUE(t.QueueMaxSize(0).ok());
  // Any aligned addresses will do for a modern device, even far apart.
  QueueAddresses areas{PhysAddr{0x1'0000'1000}, PhysAddr{0x2'0000'0002}, PhysAddr{0x3'0000'0004}};
  EXPECT_TRUE(t.EnableQueue(0, 16, areas).ok());
  EXPECT_EQ(dev.desc_addr(), 0x1'0000'1000u);
  EXPECT_EQ(dev.driver_addr(), 0x2'0000'0002u);
  EXPECT_EQ(dev.device_addr(), 0x3'0000'0004u);
  EXPECT_EQ(dev.queue_num(), 16u);
  EXPECT_EQ(dev.queue_ready(), 1u);
}

TEST(VirtioMmioTest, MissingQueueIsNotFound) {
  FakeVirtioBlkOptions o = Version(2);
  o.queue_num_max = 0;
  FakeVirtioBlkDevice dev(o);
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  Result<uint32_t> max = t.QueueMaxSize(0);
  EXPECT_EQ(max.status().error(), Error::kNotFound);
}

TEST(VirtioMmioTest, AckInterruptsClearsWhatItSaw) {
  FakeVirtioBlkDevice dev(Version(2));
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  EXPECT_EQ(t.AckInterrupts(), 0u);
  dev.RaiseNeedsReset();
  EXPECT_EQ(t.AckInterrupts(), 0x2u);
  EXPECT_EQ(t.AckInterrupts(), 0u);
  EXPECT_NE(t.ReadStatus() & 0x40, 0u);
}

TEST(VirtioMmioTest, LegacyConfigReadUsesNoGeneration) {
  FakeVirtioBlkOptions o = Version(1);
  o.capacity_sectors = 4096;
  FakeVirtioBlkDevice dev(o);
  Mmio t{FakeVirtioIo(dev)};
  ASSERT_TRUE(t.Probe(2).ok());
  Result<uint64_t> capacity = t.ReadConfig64(0);
  ASSERT_TRUE(capacity.ok());
  EXPECT_EQ(*capacity, 4096u);
  EXPECT_EQ(dev.config_generation_reads(), 0u);  // The fake also fails on a legacy 0x0fc read.
}

}  // namespace
}  // namespace salvage::virtio
