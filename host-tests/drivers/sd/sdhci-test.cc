// Tests for drivers/sd/include/salvage/sd/sdhci.h (with card.h) against the behavioural
// fakes in host-tests/fakes/fake-sdhci.h and fake-sd-card.h.
//
// Command numbers, addresses and bit values are literals from the SD Physical Layer and
// SD Host Controller specifications, so a wrong constant in the driver fails here, and
// every test also fails on any protocol error the fakes see (8-bit accesses, commands
// while inhibited, the data port used out of turn, ...).
#include <salvage/sd/sdhci.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <salvage/blockdump/sink.h>
#include <salvage/blockdump/target.h>
#include <salvage/drivers/block.h>
#include <salvage/sd/card.h>

#include "fakes/fake-clock.h"
#include "fakes/fake-sd-card.h"
#include "fakes/fake-sdhci.h"

namespace salvage::sd {
namespace {

using testing::FakeClock;
using testing::FakeSdCard;
using testing::FakeSdCardOptions;
using testing::FakeSdhci;
using testing::FakeSdhciIo;
using testing::FakeSdhciOptions;

using Host = Sdhci<FakeSdhciIo, FakeClock>;
using Card = SdCard<Host, FakeClock>;

static_assert(sd::Host<Host>);
static_assert(drivers::BlockDevice<Card>);

bool Contains(const Status& s, const char* text) { return std::string(s.what()).find(text) != std::string::npos; }

/// A pattern that differs per sector and per byte, so misplaced data shows.
std::vector<uint8_t> Pattern(uint64_t first_sector, size_t sectors, uint8_t salt = 0) {
  std::vector<uint8_t> v(sectors * 512);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint64_t sector = first_sector + i / 512;
    v[i] = static_cast<uint8_t>(sector * 7 + i % 512 * 13 + salt + (i % 512 >> 8));
  }
  return v;
}

class SdhciTest : public ::testing::Test {
 protected:
  /// A BCM2835-like controller (no card detect, base clock from the config, 32-bit
  /// accesses) with `card_options`' card in the slot.
  Card& Make(FakeSdCardOptions card_options = {}, FakeSdhciOptions host_options = {}, SdhciConfig config = {},
             Options options = {}) {
    card_ = std::make_unique<FakeSdCard>(card_options);
    host_options.clock = &clock_;
    fake_ = std::make_unique<FakeSdhci>(*card_, host_options);
    if (config.base_clock_hz == 0) config.base_clock_hz = 250'000'000;
    device_ = std::make_unique<Card>(Host(FakeSdhciIo(*fake_), clock_, config), clock_, options);
    return *device_;
  }

  /// Index and argument of every data command the controller issued.
  std::vector<std::pair<int, uint32_t>> DataCommands() const {
    std::vector<std::pair<int, uint32_t>> out;
    for (const auto& c : fake_->commands()) {
      if (c.index == 17 || c.index == 18 || c.index == 24 || c.index == 25) out.emplace_back(c.index, c.arg);
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<FakeSdCard> card_;
  std::unique_ptr<FakeSdhci> fake_;
  std::unique_ptr<Card> device_;
};

// --- Helpers -------------------------------------------------------------------------

TEST(SdhciDivider, TenBitDividedClockFromSpec300) {
  // f = base / (2N): 250 MHz -> N = 313 gives 399.36 kHz; N = 5 gives 25 MHz.
  const sdhci::Divider ident = sdhci::ChooseDivider(250'000'000, 400'000, 2);
  EXPECT_EQ(ident.hz, 250'000'000u / 626);
  EXPECT_EQ(ident.field, (313u & 0xff) << 8 | (313u >> 8) << 6);
  const sdhci::Divider data = sdhci::ChooseDivider(250'000'000, 25'000'000, 2);
  EXPECT_EQ(data.hz, 25'000'000u);
  EXPECT_EQ(data.field, 5u << 8);
  EXPECT_EQ(sdhci::ChooseDivider(50'000'000, 50'000'000, 2).field, 0u);  // the base clock itself
}

TEST(SdhciDivider, PowerOfTwoBeforeSpec300) {
  // 8-bit SDCLK Frequency Select: 0x80 divides by 256.
  const sdhci::Divider d = sdhci::ChooseDivider(52'000'000, 400'000, 1);
  EXPECT_EQ(d.field, 0x80u << 8);
  EXPECT_EQ(d.hz, 52'000'000u / 256);
  EXPECT_EQ(sdhci::ChooseDivider(52'000'000, 25'000'000, 1).field, 0x02u << 8);  // /4: 13 MHz
}

TEST(SdhciDivider, BaseClockFromCapabilities) {
  EXPECT_EQ(sdhci::BaseClockMhz(0x052134b4, 2), 0x34u);  // QEMU's raspi3b value: 52 MHz
  EXPECT_EQ(sdhci::BaseClockMhz(0x0000ff00, 1), 0x3fu);  // 6 bits before 3.00
}

TEST(SdCsd, Version1CapacityAsInTheSpecExample) {
  // C_SIZE 0xE27 (3623), C_SIZE_MULT 3, READ_BL_LEN 9: (3623+1) * 2^5 * 512 bytes.
  uint32_t csd[4] = {};
  auto put = [&](unsigned hi, unsigned lo, uint32_t v) {
    for (unsigned b = lo; b <= hi; ++b, v >>= 1) csd[b / 32] |= (v & 1u) << (b % 32);
  };
  put(83, 80, 9);
  put(73, 62, 0xE27);
  put(49, 47, 3);
  Result<CsdCapacity> c = ParseCsd(csd);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->structure, 0);
  EXPECT_EQ(c->sectors, uint64_t{3624} * 32);
}

TEST(SdCsd, Version2Capacity) {
  uint32_t csd[4] = {};
  csd[3] = 1u << 30;                        // CSD_STRUCTURE = 1
  csd[1] = (7579u & 0xffff) << 16;          // C_SIZE [69:48] low 16 bits at 63:48
  csd[2] = 7579u >> 16;                     // C_SIZE bits 69:64
  Result<CsdCapacity> c = ParseCsd(csd);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->structure, 1);
  EXPECT_EQ(c->sectors, uint64_t{7580} * 1024);  // a "4 GB" card: 3.7 GiB
}

TEST(SdCsd, RejectsSducAndReserved) {
  uint32_t csd[4] = {0, 0, 0, 2u << 30};
  EXPECT_EQ(ParseCsd(csd).status().error(), Error::kUnsupported);
  csd[3] = 3u << 30;
  EXPECT_EQ(ParseCsd(csd).status().error(), Error::kMalformed);
}

// --- Init ----------------------------------------------------------------------------

TEST_F(SdhciTest, InitsAnSdscCardWithCsd1) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  ASSERT_TRUE(card.Init().ok()) << card.Init().what();
  EXPECT_EQ(card.SectorCount(), (64u << 20) / 512);
  EXPECT_EQ(card.SectorSize(), 512u);
  EXPECT_FALSE(card.info().high_capacity);
  EXPECT_TRUE(card.info().v2);
  EXPECT_EQ(card.info().rca, 0xb368);
  EXPECT_EQ(card.info().csd_structure, 0);
  EXPECT_STREQ(card.info().product, "SALVG");
  EXPECT_EQ(card.info().bus_width, 4u);
  EXPECT_TRUE(fake_->four_bit());
  EXPECT_EQ(card_->bus_width(), 4u);
  EXPECT_EQ(card_->state(), FakeSdCard::kTran);
  // Identification at <= 400 kHz, then 25 MHz.
  EXPECT_GT(fake_->max_ident_clock_hz(), 0u);
  EXPECT_LE(fake_->max_ident_clock_hz(), 400'000u);
  EXPECT_EQ(fake_->card_clock_hz(), 25'000'000u);
  EXPECT_EQ(card.info().clock_hz, 25'000'000u);
  // SDSC: CMD16 512; the sequence of §4.2.3.
  EXPECT_EQ(card_->Count(16), 1u);
  std::vector<int> order;
  for (const auto& c : card_->commands()) order.push_back(c.app ? 100 + c.index : c.index);
  ASSERT_GE(order.size(), 8u);
  EXPECT_EQ(order[0], 0);
  EXPECT_EQ(order[1], 8);
  EXPECT_EQ(order[2], 55);
  EXPECT_EQ(order[3], 141);
  EXPECT_EQ(fake_->resets_all(), 1u);
}

TEST_F(SdhciTest, InitsAnSdhcCardWithCsd2AndCcs) {
  Card& card = Make({.capacity_bytes = 8ull << 30, .high_capacity = true});
  ASSERT_TRUE(card.Init().ok());
  EXPECT_EQ(card.SectorCount(), (8ull << 30) / 512);
  EXPECT_TRUE(card.info().high_capacity);
  EXPECT_EQ(card.info().csd_structure, 1);
  EXPECT_NE(card.info().ocr & (1u << 30), 0u);
  EXPECT_EQ(card_->Count(16), 0u);  // block length is fixed at 512 on SDHC
  // ACMD41 carried HCS (bit 30) and the 2.7-3.6 V window.
  for (const auto& c : card_->commands()) {
    if (c.app && c.index == 41) {
      EXPECT_EQ(c.arg, 0x40ff8000u);
    }
  }
}

TEST_F(SdhciTest, InitsAVersion1CardThatIgnoresCmd8) {
  Card& card = Make({.capacity_bytes = 32ull << 20, .v1 = true});
  ASSERT_TRUE(card.Init().ok()) << card.Init().what();
  EXPECT_FALSE(card.info().v2);
  EXPECT_FALSE(card.info().high_capacity);
  // No HCS for a card that did not answer CMD8; the CMD line was reset after the timeout.
  for (const auto& c : card_->commands()) {
    if (c.app && c.index == 41) {
      EXPECT_EQ(c.arg, 0x00ff8000u);
    }
  }
  EXPECT_GE(fake_->resets_cmd(), 1u);
  EXPECT_EQ(card.SectorCount(), (32u << 20) / 512);
}

TEST_F(SdhciTest, CsdWith1024ByteBlocksStillMeans512ByteSectors) {
  Card& card = Make({.capacity_bytes = 1ull << 30, .read_bl_len = 10});
  ASSERT_TRUE(card.Init().ok());
  EXPECT_EQ(card.SectorCount(), (1ull << 30) / 512);
  EXPECT_EQ(card_->Count(16), 1u);
}

TEST_F(SdhciTest, NoCardIsAClearError) {
  Card& card = Make({}, {.card_present = false}, {.card_detect = true});
  const Status s = card.Init();
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_TRUE(Contains(s, "sd: no card answers: CMD8 and CMD55 got no response (timeout); sdhci INT_STATUS 0x"))
      << s.what();
  EXPECT_TRUE(Contains(s, "the controller sees no card in the slot")) << s.what();
  // Command Timeout Error (bit 16) and Error Interrupt (bit 15) in the status shown.
  EXPECT_TRUE(Contains(s, "INT_STATUS 0x00018000")) << s.what();
}

TEST_F(SdhciTest, WrongCmd8EchoIsUnsupported) {
  Card& card = Make({.cmd8_echo_xor = 0x100});
  const Status s = card.Init();
  EXPECT_EQ(s.error(), Error::kUnsupported);
  EXPECT_TRUE(Contains(s, "sd: CMD8: the card echoed 0x0aa, expected 0x1aa")) << s.what();
}

TEST_F(SdhciTest, CardThatStaysBusyTimesOutInAcmd41) {
  Card& card = Make({.never_ready = true});
  const Status s = card.Init();
  EXPECT_EQ(s.error(), Error::kTimeout);
  EXPECT_TRUE(Contains(s, "sd: ACMD41: the card stayed busy (powering up) for 1000 ms; OCR 0x00ff8000")) << s.what();
  EXPECT_GE(clock_.now(), 1'000'000u);
  EXPECT_LT(clock_.now(), 3'000'000u);  // bounded, not much more than asked
}

TEST_F(SdhciTest, ResponseCrcErrorNamesTheCommand) {
  Card& card = Make({}, {.response_crc_once = 9});
  const Status s = card.Init();
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "sd: CMD9: response CRC error; sdhci INT_STATUS 0x00028000")) << s.what();
}

TEST_F(SdhciTest, RepeatsCmd3WhileTheCardPublishesRcaZero) {
  Card& card = Make({.rca_zero_first = true});
  ASSERT_TRUE(card.Init().ok());
  EXPECT_EQ(card.info().rca, 0xb368);
  EXPECT_EQ(card_->Count(3), 2u);
}

TEST_F(SdhciTest, WedgedControllerTimesOut) {
  Card& card = Make({}, {.lose_command_complete = true});
  const Status s = card.Init();
  EXPECT_EQ(s.error(), Error::kTimeout);
  EXPECT_TRUE(Contains(s, "controller did not complete in time")) << s.what();
}

TEST_F(SdhciTest, InitAfterACrashMidWrite) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  fake_->LeaveMidWrite(/*sector=*/300);
  ASSERT_TRUE(card.Init().ok()) << card.Init().what();
  EXPECT_EQ(fake_->resets_all(), 1u);
  EXPECT_EQ(card_->state(), FakeSdCard::kTran);
  // The first command after the reset is CMD0 (from the card's rcv state).
  size_t cmd0 = 0;
  while (card_->commands()[cmd0].index != 0) ++cmd0;
  EXPECT_EQ(card_->commands()[cmd0].state_before, FakeSdCard::kRcv);
  // The card works: a write lands where asked.
  const std::vector<uint8_t> data = Pattern(10, 4);
  ASSERT_TRUE(card.StartWrite(10, data).ok());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(card_->SectorIs(10 + i, data.data() + 512 * i));
}

TEST_F(SdhciTest, InitAfterTheDriversOwnAbandonedWrite) {
  // salvage.debug=sd-busy's first driver: CMD25 for 8 blocks at sector 64, 2 sent.
  Card& card = Make({.capacity_bytes = 64ull << 20});
  ASSERT_TRUE(card.Init().ok());
  const uint32_t present = card.host().DebugAbandonWrite(64 * 512, 8, 2);
  EXPECT_EQ(present & 0x302u, 0x102u);  // Command Inhibit (DAT), Write Transfer Active
  EXPECT_EQ(card_->state(), FakeSdCard::kRcv);
  EXPECT_TRUE(card_->written().count(65));
  Card again(Host(FakeSdhciIo(*fake_), clock_, SdhciConfig{.base_clock_hz = 250'000'000}), clock_);
  ASSERT_TRUE(again.Init().ok()) << again.Init().what();
  const std::vector<uint8_t> data = Pattern(64, 8);
  ASSERT_TRUE(again.StartWrite(64, data).ok());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(card_->SectorIs(64 + i, data.data() + 512 * i)) << i;
}

TEST_F(SdhciTest, SlowWritesAreSpacedOnTheBcm2835) {
  Card& card = Make({}, {.check_slow_writes = true}, {.slow_writes = true});
  ASSERT_TRUE(card.Init().ok());  // the fake fails the test on writes too close together
  EXPECT_GT(clock_.delayed(), 0u);
}

TEST_F(SdhciTest, BaseClockFromCapabilitiesWhenTheConfigHasNone) {
  card_ = std::make_unique<FakeSdCard>();
  fake_ = std::make_unique<FakeSdhci>(*card_, FakeSdhciOptions{.capabilities = 0x052134b4, .base_clock_hz = 52'000'000});
  Card card(Host(FakeSdhciIo(*fake_), clock_, SdhciConfig{}), clock_);
  ASSERT_TRUE(card.Init().ok());
  EXPECT_EQ(card.host().base_clock_hz(), 52'000'000u);
  EXPECT_LE(fake_->max_ident_clock_hz(), 400'000u);
  EXPECT_LE(fake_->card_clock_hz(), 25'000'000u);
}

TEST_F(SdhciTest, OneBitBoardStaysOneBit) {
  Card& card = Make({}, {}, {.bus_width = 1});
  ASSERT_TRUE(card.Init().ok());
  EXPECT_EQ(card.info().bus_width, 1u);
  EXPECT_EQ(card_->Count(6, /*app=*/true), 0u);
  EXPECT_FALSE(fake_->four_bit());
}

// --- Transfers -----------------------------------------------------------------------

TEST_F(SdhciTest, SdscWritesUseByteAddresses) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  ASSERT_TRUE(card.Init().ok());
  const std::vector<uint8_t> one = Pattern(7, 1);
  const std::vector<uint8_t> many = Pattern(1000, 9);
  ASSERT_TRUE(card.StartWrite(7, one).ok());
  ASSERT_TRUE(card.StartWrite(1000, many).ok());
  const auto cmds = DataCommands();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], std::make_pair(24, 7u * 512));
  EXPECT_EQ(cmds[1], std::make_pair(25, 1000u * 512));
  EXPECT_TRUE(card_->SectorIs(7, one.data()));
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(card_->SectorIs(1000 + i, many.data() + 512 * i)) << i;
  EXPECT_EQ(card_->written().size(), 10u);
  // CMD25 used Block Count 9 with Auto CMD12 (Transfer Mode 0x26: count, Auto CMD12, multi).
  for (const auto& c : fake_->commands()) {
    if (c.index == 25) {
      EXPECT_EQ(c.blocks, 9u);
      EXPECT_EQ(c.mode, 0x26u);
    }
  }
  // After each write the card was polled back out of prg with CMD13.
  EXPECT_GE(card_->Count(13), 4u);
}

TEST_F(SdhciTest, SdhcWritesUseBlockAddresses) {
  Card& card = Make({.capacity_bytes = 4ull << 30, .high_capacity = true});
  ASSERT_TRUE(card.Init().ok());
  const uint64_t far = (4ull << 30) / 512 - 16;  // near the end of the card
  const std::vector<uint8_t> data = Pattern(far, 16);
  ASSERT_TRUE(card.StartWrite(far, data).ok());
  ASSERT_TRUE(card.StartWrite(3, Pattern(3, 1)).ok());
  const auto cmds = DataCommands();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], std::make_pair(25, static_cast<uint32_t>(far)));
  EXPECT_EQ(cmds[1], std::make_pair(24, 3u));
  for (int i = 0; i < 16; ++i) EXPECT_TRUE(card_->SectorIs(far + i, data.data() + 512 * i)) << i;
}

TEST_F(SdhciTest, ReadsBackWhatWasWritten) {
  Card& card = Make({.capacity_bytes = 4ull << 30, .high_capacity = true});
  ASSERT_TRUE(card.Init().ok());
  for (int s = 0; s < 40; ++s) card_->Fill(2000 + s, static_cast<uint8_t>(s + 1));
  std::vector<uint8_t> buf(40 * 512, 0x5a);
  ASSERT_TRUE(card.Read(2000, buf).ok());
  for (int s = 0; s < 40; ++s) EXPECT_EQ(buf[s * 512 + 17], s + 1) << s;
  std::vector<uint8_t> one(512);
  ASSERT_TRUE(card.Read(2005, one).ok());
  EXPECT_EQ(one[0], 6);
  const auto cmds = DataCommands();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], std::make_pair(18, 2000u));
  EXPECT_EQ(cmds[1], std::make_pair(17, 2005u));
}

TEST_F(SdhciTest, LargeTransfersAreSplitAtMaxTransfer) {
  Card& card = Make({.capacity_bytes = 64ull << 20}, {}, {}, {.max_transfer = 8 * 512});
  ASSERT_TRUE(card.Init().ok());
  EXPECT_EQ(card.MaxTransfer(), 8u * 512);
  std::vector<uint8_t> buf(20 * 512);
  ASSERT_TRUE(card.Read(100, buf).ok());
  const auto cmds = DataCommands();
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[2], std::make_pair(18, 116u * 512));
  EXPECT_EQ(card.StartWrite(0, std::vector<uint8_t>(9 * 512)).status().error(), Error::kInvalidArgument);
}

TEST_F(SdhciTest, RefusesRequestsOutsideTheCard) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  std::vector<uint8_t> buf(1024);
  EXPECT_EQ(card.Read(0, buf).error(), Error::kInvalidArgument);  // before Init
  ASSERT_TRUE(card.Init().ok());
  const size_t before = fake_->commands().size();
  EXPECT_EQ(card.Read(card.SectorCount() - 1, buf).error(), Error::kOutOfRange);
  EXPECT_EQ(card.StartWrite(card.SectorCount(), std::span<const uint8_t>(buf).first(512)).status().error(),
            Error::kOutOfRange);
  EXPECT_EQ(card.StartWrite(0, std::span<const uint8_t>(buf).first(100)).status().error(), Error::kInvalidArgument);
  EXPECT_EQ(fake_->commands().size(), before);  // nothing reached the card
}

TEST_F(SdhciTest, WriteCrcErrorOnceSucceedsOnRetry) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .write_crc_error_once = 503});
  ASSERT_TRUE(card.Init().ok());
  const std::vector<uint8_t> data = Pattern(500, 8);
  Result<uint32_t> t = card.StartWrite(500, data);
  ASSERT_TRUE(t.ok()) << t.status().what();
  EXPECT_TRUE(card.Wait(*t).ok());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(card_->SectorIs(500 + i, data.data() + 512 * i)) << i;
  EXPECT_EQ(card.info().retries, 1u);
  EXPECT_EQ(card.info().inits, 1u);  // recovered without a re-init
  EXPECT_GE(fake_->resets_dat(), 1u);
  // The card was left in rcv by the failed transfer and stopped with CMD12 before the retry.
  EXPECT_GE(card_->Count(12), 2u);  // the recovery's and the retry's Auto CMD12
  const auto cmds = DataCommands();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[1], cmds[0]);
}

TEST_F(SdhciTest, ReadCrcErrorOnceSucceedsOnRetry) {
  Card& card = Make({.capacity_bytes = 4ull << 30, .high_capacity = true, .read_crc_error_once = 42});
  ASSERT_TRUE(card.Init().ok());
  card_->Fill(42, 0x42);
  std::vector<uint8_t> buf(4 * 512);
  ASSERT_TRUE(card.Read(40, buf).ok());
  EXPECT_EQ(buf[2 * 512], 0x42);
  EXPECT_EQ(card.info().retries, 1u);
}

TEST_F(SdhciTest, PersistentWriteErrorIsAClearErrorAfterThreeAttempts) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .write_crc_error_always = 8195});
  ASSERT_TRUE(card.Init().ok());
  const Result<uint32_t> t = card.StartWrite(8192, Pattern(8192, 8));
  ASSERT_FALSE(t.ok());
  const Status& s = t.status();
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_TRUE(Contains(s, "sd: CMD25 at sector 8192: data CRC error; sdhci INT_STATUS 0x00208000; after 3 attempts"))
      << s.what();
  EXPECT_EQ(DataCommands().size(), 3u);
  EXPECT_EQ(card.info().inits, 2u);  // the third attempt came after a re-initialisation
  EXPECT_EQ(fake_->resets_all(), 2u);
  // Sectors before the bad one were written (each attempt); none from it on.
  EXPECT_TRUE(card_->written().count(8194));
  EXPECT_FALSE(card_->written().count(8195));
}

TEST_F(SdhciTest, WriteProtectedSectorReportsTheCardStatus) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .write_protected = 77});
  ASSERT_TRUE(card.Init().ok());
  const Result<uint32_t> t = card.StartWrite(77, Pattern(77, 1));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().error(), Error::kIo);
  EXPECT_TRUE(Contains(t.status(), "sd: CMD13 after CMD24 at sector 77: card status 0x04000e00 (WP_VIOLATION, state prg)"))
      << t.status().what();
  EXPECT_TRUE(Contains(t.status(), "after 3 attempts")) << t.status().what();
}

TEST_F(SdhciTest, WaitsForTheCardToFinishProgramming) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .programming_polls = 50});
  ASSERT_TRUE(card.Init().ok());
  const size_t before = card_->Count(13);
  ASSERT_TRUE(card.StartWrite(1, Pattern(1, 2)).ok());
  EXPECT_GE(card_->Count(13) - before, 50u);
  EXPECT_EQ(card_->state(), FakeSdCard::kTran);
}

TEST_F(SdhciTest, CardBusyForeverIsATimeoutNamingTheState) {
  Card& card = Make({.capacity_bytes = 64ull << 20, .busy_forever = true}, {}, {},
                    {.busy_timeout_us = 50'000, .attempts = 1});
  ASSERT_TRUE(card.Init().ok());
  const Result<uint32_t> t = card.StartWrite(4, Pattern(4, 1));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().error(), Error::kTimeout);
  EXPECT_TRUE(Contains(t.status(), "sd: CMD13 after CMD24 at sector 4: the card stayed in state prg for 50 ms"))
      << t.status().what();
  EXPECT_LT(clock_.now(), 1'000'000u);
}

TEST_F(SdhciTest, TicketsFollowTheBlockDeviceContract) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  ASSERT_TRUE(card.Init().ok());
  const std::vector<uint8_t> data = Pattern(0, 1);
  std::vector<uint32_t> tickets;
  for (size_t i = 0; i < Card::kMaxTickets; ++i) {
    Result<uint32_t> t = card.StartWrite(i, data);
    ASSERT_TRUE(t.ok());
    tickets.push_back(*t);
  }
  EXPECT_EQ(card.StartWrite(100, data).status().error(), Error::kResourceExhausted);
  EXPECT_TRUE(card.Wait(tickets[5]).ok());
  EXPECT_EQ(card.Wait(tickets[5]).error(), Error::kInvalidArgument);  // collected once
  EXPECT_TRUE(card.StartWrite(100, data).ok());
  EXPECT_TRUE(card.Flush().ok());
  EXPECT_EQ(card.Wait(tickets[0]).error(), Error::kInvalidArgument);
  EXPECT_STREQ(Card::Name(), "sd");
}

// --- The block sink over an SD card ---------------------------------------------------

TEST_F(SdhciTest, BlockSinkWritesADumpAreaOnAnMbrPartition) {
  Card& card = Make({.capacity_bytes = 64ull << 20});
  // An MBR with partition 2 at sector 4096, 8192 sectors (type 0x83).
  uint8_t mbr[512] = {};
  const uint32_t start = 4096, count = 8192;
  uint8_t* e = mbr + 446 + 16;
  e[4] = 0x83;
  std::memcpy(e + 8, &start, 4);
  std::memcpy(e + 12, &count, 4);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  ASSERT_TRUE(card.Init().ok());
  ASSERT_TRUE(card.StartWrite(0, std::span<const uint8_t>(mbr, 512)).ok());

  Result<blockdump::TargetSpec> spec = blockdump::ParseTarget("mbr:2");
  ASSERT_TRUE(spec.ok());
  std::vector<uint8_t> scratch(4096);
  Result<blockdump::Extents> extents = blockdump::ResolveTarget(card, *spec, scratch);
  ASSERT_TRUE(extents.ok()) << extents.status().what();
  constexpr uint32_t kBuffer = 64 * 1024;
  std::vector<uint8_t> memory(blockdump::BlockSinkMemoryBytes(2, kBuffer) + 4096);
  std::span<uint8_t> aligned(memory.data() + (4096 - reinterpret_cast<uintptr_t>(memory.data()) % 4096),
                             blockdump::BlockSinkMemoryBytes(2, kBuffer));
  blockdump::BlockSink sink(card, *extents, aligned, kBuffer);
  ASSERT_TRUE(sink.Begin().ok());
  std::vector<uint8_t> stream(300 * 1024);
  for (size_t i = 0; i < stream.size(); ++i) stream[i] = static_cast<uint8_t>(i * 31 + (i >> 9));
  ASSERT_TRUE(sink.Write(stream).ok());
  ASSERT_TRUE(sink.Finish(false).ok());
  // The stream starts 4096 bytes into the area, i.e. at sector 4096 + 8, byte for byte.
  for (uint64_t s = 0; s < stream.size() / 512; ++s) {
    ASSERT_TRUE(card_->SectorIs(4096 + 8 + s, stream.data() + 512 * s)) << "sector " << s;
  }
  // Nothing outside the partition (but the MBR) was written.
  for (uint64_t s : card_->written()) EXPECT_TRUE(s == 0 || (s >= 4096 && s < 4096 + 8192)) << s;
}

}  // namespace
}  // namespace salvage::sd
