// Tests for drivers/reset/include/salvage/reset/bcm2835-pm.h: the exact register
// sequence (Linux's bcm2835_wdt restart and power-off), and a behavioural fake of the PM
// block that only acts on writes carrying the password, as the chip (and QEMU's
// bcm2835_powermgt) do.
#include <salvage/reset/bcm2835-pm.h>

#include <gtest/gtest.h>

#include "fakes/fake-mmio.h"

namespace salvage::reset {
namespace {

using testing::FakeMmio;
using testing::FakeMmioScript;

static_assert(ResetDevice<Bcm2835Pm<FakeMmio>>);

constexpr uint32_t kRstc = 0x1c;
constexpr uint32_t kRsts = 0x20;
constexpr uint32_t kWdog = 0x24;

TEST(Bcm2835PmTest, Name) { EXPECT_STREQ(Bcm2835Pm<FakeMmio>::Name(), "bcm2835-pm"); }

TEST(Bcm2835PmTest, ResetSequence) {
  FakeMmioScript script;
  script.ExpectRead32(0x00001555, kRsts);   // Reset: RSTS: power-on reset, partition 63 left set.
  script.ExpectWrite32(0x5a001000, kRsts);  // Reset: partition 0 (a normal boot), status kept.
  script.ExpectWrite32(0x5a00000a, kWdog);  // Reset: watchdog expires in 10 ticks.
  script.ExpectRead32(0x00000102, kRstc);   // Reset: RSTC at its reset value.
  script.ExpectWrite32(0x5a000122, kRstc);  // Reset: WRCFG = full reset, other bits kept.
  Bcm2835Pm<FakeMmio> pm{FakeMmio(script)};
  pm.Reset();
}

TEST(Bcm2835PmTest, PowerOffSequence) {
  FakeMmioScript script;
  script.ExpectRead32(0x00001000, kRsts);   // PowerOff: RSTS after power-on.
  script.ExpectWrite32(0x5a001555, kRsts);  // PowerOff: partition 63, "halt" to the firmware.
  script.ExpectWrite32(0x5a00000a, kWdog);  // PowerOff: 10 ticks.
  script.ExpectRead32(0x00000132, kRstc);   // PowerOff: WRCFG already 0b11 (set).
  script.ExpectWrite32(0x5a000122, kRstc);  // PowerOff: WRCFG = 0b10 full reset.
  Bcm2835Pm<FakeMmio> pm{FakeMmio(script)};
  pm.PowerOff();
}

TEST(Bcm2835PmTest, PasswordBitsReadBackAreNotWrittenTwice) {
  // A read with garbage in 31:24 must not corrupt the password of the write.
  FakeMmioScript script;
  script.ExpectRead32(0xff001000, kRsts);   // Reset: RSTS with a nonzero top byte.
  script.ExpectWrite32(0x5a001000, kRsts);  // Reset: the password, not 0xff | 0x5a.
  script.ExpectWrite32(0x5a00000a, kWdog);
  script.ExpectRead32(0xa5000102, kRstc);
  script.ExpectWrite32(0x5a000122, kRstc);
  Bcm2835Pm<FakeMmio> pm{FakeMmio(script)};
  pm.Reset();
}

// A behavioural PM block: RSTC, RSTS and WDOG; writes without the password are
// ignored; a write of RSTC with WRCFG = full reset "resets the machine", as a halt when
// RSTS names partition 63.
class FakePmBlock {
 public:
  enum class Outcome { kRunning, kReset, kHalt };

  uint32_t Read32(uint32_t offset) {
    switch (offset) {
      case kRstc: return rstc_;
      case kRsts: return rsts_;
      case kWdog: return wdog_;
    }
    ADD_FAILURE() << "read of unknown offset " << offset;
    return 0;
  }
  void Write32(uint32_t offset, uint32_t value) {
    if ((value & 0xff000000u) != 0x5a000000u) {
      ++ignored_writes_;
      return;
    }
    value &= 0x00ffffffu;
    switch (offset) {
      case kRstc:
        rstc_ = value;
        if ((value & 0x30u) == 0x20u) {
          if (wdog_ == 0) ADD_FAILURE() << "full reset armed with the watchdog counter at 0";
          outcome_ = (rsts_ & 0x555u) == 0x555u ? Outcome::kHalt : Outcome::kReset;
        }
        return;
      case kRsts: rsts_ = value; return;
      case kWdog: wdog_ = value & 0xfffffu; return;
    }
    ADD_FAILURE() << "write of unknown offset " << offset;
  }

  Outcome outcome() const { return outcome_; }
  int ignored_writes() const { return ignored_writes_; }
  void set_rsts(uint32_t v) { rsts_ = v; }
  uint32_t rsts() const { return rsts_; }

 private:
  uint32_t rstc_ = 0x00000102;  // Values after power-on (eLinux BCM2835 registers, PM).
  uint32_t rsts_ = 0x00001000;
  uint32_t wdog_ = 0;
  Outcome outcome_ = Outcome::kRunning;
  int ignored_writes_ = 0;
};

class FakePmIo {
 public:
  explicit FakePmIo(FakePmBlock& pm) : pm_(&pm) {}
  uint8_t Read8(uint32_t) {
    ADD_FAILURE() << "8-bit read of the PM block";
    return 0;
  }
  uint32_t Read32(uint32_t offset) { return pm_->Read32(offset); }
  void Write8(uint32_t, uint8_t) { ADD_FAILURE() << "8-bit write to the PM block"; }
  void Write32(uint32_t offset, uint32_t value) { pm_->Write32(offset, value); }

 private:
  FakePmBlock* pm_;
};
static_assert(drivers::Io<FakePmIo>);

TEST(Bcm2835PmFakeBlockTest, ResetResets) {
  FakePmBlock block;
  Bcm2835Pm<FakePmIo> pm{FakePmIo(block)};
  pm.Reset();
  EXPECT_EQ(block.outcome(), FakePmBlock::Outcome::kReset);
  EXPECT_EQ(block.ignored_writes(), 0);
}

TEST(Bcm2835PmFakeBlockTest, PowerOffHalts) {
  FakePmBlock block;
  Bcm2835Pm<FakePmIo> pm{FakePmIo(block)};
  pm.PowerOff();
  EXPECT_EQ(block.outcome(), FakePmBlock::Outcome::kHalt);
  EXPECT_EQ(block.rsts() & 0x1000u, 0x1000u);  // The power-on status bit survives.
  EXPECT_EQ(block.ignored_writes(), 0);
}

TEST(Bcm2835PmFakeBlockTest, ResetAfterAHaltRequestStillReboots) {
  FakePmBlock block;
  block.set_rsts(0x1555);  // Someone asked for a halt before the crash.
  Bcm2835Pm<FakePmIo> pm{FakePmIo(block)};
  pm.Reset();
  EXPECT_EQ(block.outcome(), FakePmBlock::Outcome::kReset);
}

TEST(ResetNullTest, DoesNothing) {
  Null none;
  none.Reset();
  none.PowerOff();
  EXPECT_STREQ(Null::Name(), "none");
}

}  // namespace
}  // namespace salvage::reset
