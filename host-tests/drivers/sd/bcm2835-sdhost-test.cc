// Tests for drivers/sd/include/salvage/sd/bcm2835-sdhost.h (with card.h) against the
// behavioural fakes in host-tests/fakes/fake-sdhost.h and fake-sd-card.h.
#include <salvage/sd/bcm2835-sdhost.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <salvage/drivers/block.h>
#include <salvage/sd/card.h>

#include "fakes/fake-clock.h"
#include "fakes/fake-sd-card.h"
#include "fakes/fake-sdhost.h"

namespace salvage::sd {
namespace {

using testing::FakeClock;
using testing::FakeSdCard;
using testing::FakeSdCardOptions;
using testing::FakeSdhost;
using testing::FakeSdhostIo;
using testing::FakeSdhostOptions;

using Host = Bcm2835Sdhost<FakeSdhostIo, FakeClock>;
using Card = SdCard<Host, FakeClock>;

static_assert(sd::Host<Host>);
static_assert(drivers::BlockDevice<Card>);

bool Contains(const Status& s, const char* text) { return std::string(s.what()).find(text) != std::string::npos; }

std::vector<uint8_t> Pattern(uint64_t first_sector, size_t sectors) {
  std::vector<uint8_t> v(sectors * 512);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((first_sector + i / 512) * 11 + i * 5 + (i >> 7));
  return v;
}

class SdhostTest : public ::testing::Test {
 protected:
  Card& Make(FakeSdCardOptions card_options = {}, FakeSdhostOptions host_options = {}, SdhostConfig config = {},
             Options options = {}) {
    card_ = std::make_unique<FakeSdCard>(card_options);
    fake_ = std::make_unique<FakeSdhost>(*card_, host_options);
    device_ = std::make_unique<Card>(Host(FakeSdhostIo(*fake_), clock_, config), clock_, options);
    return *device_;
  }
  std::vector<std::pair<int, uint32_t>> DataCommands() const {
    std::vector<std::pair<int, uint32_t>> out;
    for (const auto& c : fake_->commands()) {
      if (c.index == 17 || c.index == 18 || c.index == 24 || c.index == 25) out.emplace_back(c.index, c.arg);
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<FakeSdCard> card_;
  std::unique_ptr<FakeSdhost> fake_;
  std::unique_ptr<Card> device_;
};

TEST(SdhostDivider, CoreOverDividerPlusTwo) {
  // 250 MHz: SDCDIV 623 gives 399.4 kHz; 8 gives 25 MHz.
  EXPECT_EQ(sdhost::ChooseDivider(250'000'000, 400'000).value, 623u);
  EXPECT_EQ(sdhost::ChooseDivider(250'000'000, 25'000'000).value, 8u);
  EXPECT_EQ(sdhost::ChooseDivider(250'000'000, 200'000'000).value, 0u);   // at least /2
  EXPECT_EQ(sdhost::ChooseDivider(400'000'000, 100'000).value, 0x7ffu);   // clamped
}

TEST_F(SdhostTest, InitsAnSdscCard) {
  Card& card = Make({.capacity_bytes = 64ull << 20}, {.core_clock_hz = 250'000'000}, {.core_clock_hz = 250'000'000});
  ASSERT_TRUE(card.Init().ok()) << card.Init().what();
  EXPECT_EQ(card.SectorCount(), (64u << 20) / 512);
  EXPECT_FALSE(card.info().high_capacity);
  EXPECT_EQ(card.info().bus_width, 4u);
  EXPECT_TRUE(fake_->four_bit());
  EXPECT_EQ(card_->state(), FakeSdCard::kTran);
  EXPECT_GT(fake_->max_ident_clock_hz(), 0u);
  EXPECT_LE(fake_->max_ident_clock_hz(), 400'000u);
  EXPECT_EQ(fake_->card_clock_hz(), 25'000'000u);
  EXPECT_EQ(fake_->power_cycles(), 1u);
  EXPECT_STREQ(card.info().product, "SALVG");
}

TEST_F(SdhostTest, AssumedCoreClockKeepsTheCardClockWithinBounds) {
  // The driver assumes 400 MHz; the real core clock is 250 MHz: slower, never faster.
  Card& card = Make({}, {.core_clock_hz = 250'000'000});
  ASSERT_TRUE(card.Init().ok());
  EXPECT_LE(fake_->max_ident_clock_hz(), 400'000u);
  EXPECT_LE(fake_->card_clock_hz(), 25'000'000u);
  EXPECT_GT(fake_->card_clock_hz(), 12'000'000u);
}

TEST_F(SdhostTest, InitsAnSdhcCardAndPollsSlowCommands) {
  Card& card = Make({.capacity_bytes = 8ull << 30, .high_capacity = true}, {.command_polls = 3});
  ASSERT_TRUE(card.Init().ok()) << card.Init().what();
  EXPECT_TRUE(card.info().high_capacity);
  EXPECT_EQ(card.SectorCount(), (8ull << 30) / 512);
}

TEST_F(SdhostTest, NoCardIsAClearError) {
  Card& card = Make({}, {.card_present = false});
  const Status s = card.Init();
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_TRUE(Contains(s, "sd: no card answers: CMD8 and CMD55 got no response (timeout); sdhost SDHSTS 0x00000040"))
      << s.what();
}

TEST_F(SdhostTest, WritesWithByteAndBlockAddressesAndItsOwnCmd12) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  ASSERT_TRUE(card.Init().ok());
  const std::vector<uint8_t> many = Pattern(2000, 20);
  const size_t stops = card_->Count(12);
  ASSERT_TRUE(card.StartWrite(2000, many).ok());
  ASSERT_TRUE(card.StartWrite(5, Pattern(5, 1)).ok());
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(card_->SectorIs(2000 + i, many.data() + 512 * i)) << i;
  const auto cmds = DataCommands();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], std::make_pair(25, 2000u * 512));
  EXPECT_EQ(cmds[1], std::make_pair(24, 5u * 512));
  EXPECT_EQ(card_->Count(12), stops + 1);  // CMD12 after the CMD25 only, sent by the driver
  EXPECT_EQ(card_->state(), FakeSdCard::kTran);

  Card& hc = Make({.capacity_bytes = 4ull << 30, .high_capacity = true});
  ASSERT_TRUE(hc.Init().ok());
  const std::vector<uint8_t> data = Pattern(7'000'000, 3);
  ASSERT_TRUE(hc.StartWrite(7'000'000, data).ok());
  EXPECT_EQ(DataCommands()[0], std::make_pair(25, 7'000'000u));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(card_->SectorIs(7'000'000 + i, data.data() + 512 * i));
}

TEST_F(SdhostTest, ReadsBackAndLeavesTheWriteWaitState) {
  Card& card = Make({.capacity_bytes = 64ull << 20}, {.stall_after_write = true});
  ASSERT_TRUE(card.Init().ok());
  const std::vector<uint8_t> data = Pattern(300, 9);
  ASSERT_TRUE(card.StartWrite(300, data).ok());
  EXPECT_GE(fake_->forced_data_mode(), 1u);  // WRITESTART1 left with FORCE_DATA_MODE
  std::vector<uint8_t> back(9 * 512);
  ASSERT_TRUE(card.Read(300, back).ok());
  EXPECT_EQ(back, data);
  std::vector<uint8_t> one(512);
  ASSERT_TRUE(card.Read(304, one).ok());
  EXPECT_TRUE(std::equal(one.begin(), one.end(), data.begin() + 4 * 512));
}

TEST_F(SdhostTest, LargeTransfersStayWithinNineBitBlockCounts) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  EXPECT_EQ(card.MaxTransfer(), 511u * 512);  // 1 MiB asked, SDHBLC holds 9 bits
  ASSERT_TRUE(card.Init().ok());
  std::vector<uint8_t> buf(1200 * 512);
  ASSERT_TRUE(card.Read(0, buf).ok());
  for (const auto& c : fake_->commands()) EXPECT_LE(c.blocks, 511u);
}

TEST_F(SdhostTest, CrcErrorOnceIsRetried) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .write_crc_error_once = 101});
  ASSERT_TRUE(card.Init().ok());
  const std::vector<uint8_t> data = Pattern(100, 4);
  ASSERT_TRUE(card.StartWrite(100, data).ok());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(card_->SectorIs(100 + i, data.data() + 512 * i)) << i;
  EXPECT_EQ(card.info().retries, 1u);
}

TEST_F(SdhostTest, PersistentCrcErrorNamesSdhsts) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .write_crc_error_always = 100});
  ASSERT_TRUE(card.Init().ok());
  const Result<uint32_t> t = card.StartWrite(100, Pattern(100, 2));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(Contains(t.status(), "sd: CMD25 at sector 100: data CRC error; sdhost SDHSTS 0x00000020; after 3 attempts"))
      << t.status().what();
}

TEST_F(SdhostTest, CrcErrorOnTheLastBlockIsADataError) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .write_crc_error_always = 101}, {}, {}, {.attempts = 1});
  ASSERT_TRUE(card.Init().ok());
  const Result<uint32_t> t = card.StartWrite(100, Pattern(100, 2));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(Contains(t.status(), "sd: CMD25 at sector 100: data CRC error; sdhost SDHSTS 0x00000020")) << t.status().what();
  EXPECT_LT(clock_.now(), 1'000'000u);  // noticed at once, not after a timeout
}

TEST_F(SdhostTest, InitAfterTheDriversOwnAbandonedWrite) {
  Card& card = Make({.capacity_bytes = 4ull << 30, .high_capacity = true});
  ASSERT_TRUE(card.Init().ok());
  const uint32_t edm = card.host().DebugAbandonWrite(64, 8, 2);
  EXPECT_EQ(edm & 0xf, 0x3u);  // still in WRITEDATA
  EXPECT_EQ(card_->state(), FakeSdCard::kRcv);
  Card again(Host(FakeSdhostIo(*fake_), clock_), clock_);
  ASSERT_TRUE(again.Init().ok()) << again.Init().what();
  const std::vector<uint8_t> data = Pattern(64, 8);
  ASSERT_TRUE(again.StartWrite(64, data).ok());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(card_->SectorIs(64 + i, data.data() + 512 * i)) << i;
}

TEST_F(SdhostTest, InitAfterACrashMidWrite) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  fake_->LeaveMidWrite(500);
  ASSERT_TRUE(card.Init().ok()) << card.Init().what();
  const std::vector<uint8_t> data = Pattern(40, 3);
  ASSERT_TRUE(card.StartWrite(40, data).ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(card_->SectorIs(40 + i, data.data() + 512 * i));
}

}  // namespace
}  // namespace salvage::sd
