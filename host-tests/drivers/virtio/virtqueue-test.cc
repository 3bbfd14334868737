// Tests for drivers/virtio/include/salvage/virtio/virtqueue.h: the split virtqueue's
// memory layout (virtio 1.2 §2.7, legacy layout §2.7.2) and its descriptor bookkeeping,
// with the test playing the device by reading and writing the rings directly.
#include <salvage/virtio/virtqueue.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace salvage::virtio {
namespace {

struct NoBarrier {
  static void Write() {}
  static void Read() {}
};
static_assert(DmaBarrier<NoBarrier>);

using Queue = SplitVirtqueue<NoBarrier>;
using Segment = Queue::Segment;

// The legacy size formula of §2.7.2, written out independently with qalign = 4096.
size_t SpecRingBytes(size_t qsz) {
  auto align = [](size_t x) { return (x + 4095) & ~size_t{4095}; };
  return align(16 * qsz + 2 * (3 + qsz)) + align(2 * 3 + 8 * qsz);
}

TEST(VirtqueueLayoutTest, MatchesTheLegacyFormula) {
  for (uint32_t size = 1; size <= 32768; size <<= 1) {
    EXPECT_EQ(virtq::RingBytes(size), SpecRingBytes(size)) << size;
    EXPECT_EQ(virtq::AvailOffset(size), 16u * size) << size;
    EXPECT_EQ(virtq::UsedOffset(size) % 4096, 0u) << size;
    EXPECT_GE(virtq::UsedOffset(size), 16u * size + 6 + 2 * size) << size;
  }
}

/// A queue over aligned memory, with accessors for the test-as-device.
class VirtqueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = static_cast<uint8_t*>(std::aligned_alloc(4096, kBytes));
    std::memset(memory_, 0xcc, kBytes);
  }
  void TearDown() override { std::free(memory_); }

  virtq::Desc DescAt(uint16_t i) const {
    virtq::Desc d;
    std::memcpy(&d, memory_ + 16 * i, 16);
    return d;
  }
  uint16_t Avail16(size_t offset) const {
    uint16_t v;
    std::memcpy(&v, memory_ + virtq::AvailOffset(size_) + offset, 2);
    return v;
  }
  uint16_t AvailIdx() const { return Avail16(2); }
  uint16_t AvailRing(uint16_t i) const { return Avail16(4 + 2 * (i % size_)); }
  /// The device returns chain `head`.
  void DeviceUses(uint16_t head, uint32_t len) {
    uint8_t* used = memory_ + virtq::UsedOffset(size_);
    uint16_t idx;
    std::memcpy(&idx, used + 2, 2);
    const uint32_t elem[2] = {head, len};
    std::memcpy(used + 4 + 8 * (idx % size_), elem, 8);
    ++idx;
    std::memcpy(used + 2, &idx, 2);
  }

  static constexpr size_t kBytes = 3 * 4096;
  uint8_t* memory_ = nullptr;
  uint32_t size_ = 8;
};

TEST_F(VirtqueueTest, InitRejectsBadSizesAndMemory) {
  Queue q;
  EXPECT_EQ(q.Init({memory_, kBytes}, 0).error(), Error::kInvalidArgument);
  EXPECT_EQ(q.Init({memory_, kBytes}, 3).error(), Error::kInvalidArgument);
  EXPECT_EQ(q.Init({memory_, kBytes}, 65536).error(), Error::kInvalidArgument);
  EXPECT_EQ(q.Init({memory_, 8191}, 8).error(), Error::kInvalidArgument);
  EXPECT_EQ(q.Init({memory_ + 8, 8192}, 8).error(), Error::kInvalidArgument);
  EXPECT_TRUE(q.Init({memory_, 8192}, 8).ok());
}

TEST_F(VirtqueueTest, InitZeroesTheRingAndAsksForNoInterrupts) {
  Queue q;
  ASSERT_TRUE(q.Init({memory_, kBytes}, size_).ok());
  EXPECT_EQ(q.Capacity(), 8u);
  EXPECT_EQ(q.FreeDescriptors(), 8u);
  EXPECT_EQ(q.DescriptorArea(), memory_);
  EXPECT_EQ(q.DriverArea(), memory_ + 128);
  EXPECT_EQ(q.DeviceArea(), memory_ + 4096);
  EXPECT_EQ(Avail16(0), 1u);  // VIRTQ_AVAIL_F_NO_INTERRUPT
  EXPECT_EQ(AvailIdx(), 0u);
  for (size_t i = 4096; i < 8192; ++i) ASSERT_EQ(memory_[i], 0) << i;  // Used ring zeroed.
  EXPECT_EQ(memory_[8192], 0xcc);  // And nothing past the ring touched.
}

TEST_F(VirtqueueTest, AddChainLinksDescriptorsAndPublishes) {
  Queue q;
  ASSERT_TRUE(q.Init({memory_, kBytes}, size_).ok());
  const Segment chain[3] = {{PhysAddr{0x1000}, 16, false}, {PhysAddr{0x2000}, 4096, false},
                            {PhysAddr{0x1010}, 1, true}};
  Result<uint16_t> head = q.AddChain(chain);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(q.FreeDescriptors(), 5u);
  EXPECT_EQ(AvailIdx(), 1u);
  EXPECT_EQ(AvailRing(0), *head);
  uint16_t i = *head;
  for (int k = 0; k < 3; ++k) {
    const virtq::Desc d = DescAt(i);
    EXPECT_EQ(d.addr, chain[k].addr.value) << k;
    EXPECT_EQ(d.len, chain[k].len) << k;
    EXPECT_EQ(d.flags & 0x2, chain[k].device_writes ? 0x2 : 0) << k;  // VIRTQ_DESC_F_WRITE
    EXPECT_EQ(d.flags & 0x1, k < 2 ? 0x1 : 0) << k;                  // VIRTQ_DESC_F_NEXT
    EXPECT_EQ(d.flags & 0x4, 0) << k;
    i = d.next;
  }
}

TEST_F(VirtqueueTest, RunsOutOfDescriptorsAndGetsThemBack) {
  Queue q;
  ASSERT_TRUE(q.Init({memory_, kBytes}, size_).ok());
  const Segment three[3] = {{PhysAddr{1}, 16, false}, {PhysAddr{2}, 512, false}, {PhysAddr{3}, 1, true}};
  Result<uint16_t> a = q.AddChain(three);
  Result<uint16_t> b = q.AddChain(three);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(q.AddChain(three).status().error(), Error::kResourceExhausted);
  EXPECT_EQ(q.AddChain({}).status().error(), Error::kInvalidArgument);
  EXPECT_EQ(q.FreeDescriptors(), 2u);

  virtq::UsedElem used;
  EXPECT_FALSE(q.PopUsed(&used));
  DeviceUses(*b, 1);
  ASSERT_TRUE(q.PopUsed(&used));
  EXPECT_EQ(used.id, *b);
  EXPECT_EQ(used.len, 1u);
  EXPECT_FALSE(q.PopUsed(&used));
  q.FreeChain(*b);
  EXPECT_EQ(q.FreeDescriptors(), 5u);
  EXPECT_TRUE(q.AddChain(three).ok());
}

TEST_F(VirtqueueTest, IndicesWrapPast65535) {
  Queue q;
  ASSERT_TRUE(q.Init({memory_, kBytes}, size_).ok());
  const Segment two[2] = {{PhysAddr{1}, 16, false}, {PhysAddr{3}, 1, true}};
  for (uint32_t n = 0; n < 70000; ++n) {
    Result<uint16_t> head = q.AddChain(two);
    ASSERT_TRUE(head.ok()) << n;
    ASSERT_EQ(AvailRing(static_cast<uint16_t>(n)), *head) << n;
    DeviceUses(*head, 0);
    virtq::UsedElem used;
    ASSERT_TRUE(q.PopUsed(&used)) << n;
    ASSERT_EQ(used.id, *head);
    q.FreeChain(*head);
    ASSERT_EQ(q.FreeDescriptors(), 8u);
  }
  EXPECT_EQ(AvailIdx(), static_cast<uint16_t>(70000));
}

TEST(DmaMemoryTest, ToPhysAddsTheOffset) {
  uint8_t buffer[16];
  DmaMemory identity{std::span<uint8_t>(buffer), 0};
  EXPECT_EQ(identity.ToPhys(buffer).value, reinterpret_cast<uintptr_t>(buffer));
  DmaMemory shifted{std::span<uint8_t>(buffer), 0x1000 - static_cast<uint64_t>(reinterpret_cast<uintptr_t>(buffer))};
  EXPECT_EQ(shifted.ToPhys(buffer + 4).value, 0x1004u);
}

}  // namespace
}  // namespace salvage::virtio
