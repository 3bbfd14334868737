// Tests for drivers/uart/include/salvage/uart/bcm2835-aux.h (the BCM2835 mini UART).
//
// One script covers both register windows the driver uses: the AUX block at offset 0
// and the AUX_MU_* registers at 0x40, as on the chip. Offsets and values are literals
// from "BCM2835 ARM Peripherals" §2.1-2.2, not the driver's constants.
#include <salvage/uart/bcm2835-aux.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fakes/fake-mmio.h"

namespace salvage::uart {
namespace {

using testing::FakeMmio;
using testing::FakeMmioScript;

// A window into the script at `base`: the driver's offsets are relative to its window.
class Window {
 public:
  Window(FakeMmioScript& script, uint32_t base) : io_(script), base_(base) {}
  uint8_t Read8(uint32_t offset) { return io_.Read8(base_ + offset); }
  uint32_t Read32(uint32_t offset) { return io_.Read32(base_ + offset); }
  void Write8(uint32_t offset, uint8_t v) { io_.Write8(base_ + offset, v); }
  void Write32(uint32_t offset, uint32_t v) { io_.Write32(base_ + offset, v); }

 private:
  FakeMmio io_;
  uint32_t base_;
};
static_assert(drivers::Io<Window>);
static_assert(Uart<MiniUart<Window>>);
static_assert(Uart<MiniUart<FakeMmio>>);

// Offsets from the AUX block base (0x7e215000).
constexpr uint32_t kAuxEnables = 0x04;
constexpr uint32_t kMuIo = 0x40;
constexpr uint32_t kMuIer = 0x44;
constexpr uint32_t kMuIir = 0x48;
constexpr uint32_t kMuLcr = 0x4c;
constexpr uint32_t kMuMcr = 0x50;
constexpr uint32_t kMuLsr = 0x54;
constexpr uint32_t kMuCntl = 0x60;
constexpr uint32_t kMuStat = 0x64;
constexpr uint32_t kMuBaud = 0x68;

Config MiniConfig(uint32_t clock_hz, bool with_aux = true) {
  Config cfg;
  cfg.base = 0x3f215040;
  cfg.clock_hz = clock_hz;
  cfg.aux_base = with_aux ? 0x3f215000 : 0;
  return cfg;
}

MiniUart<Window> Make(FakeMmioScript& script, const Config& cfg) {
  return MiniUart<Window>(Window(script, 0x40), Window(script, 0), cfg);
}

TEST(MiniUartTest, Name) { EXPECT_STREQ(MiniUart<FakeMmio>::Name(), "bcm2835-aux"); }

TEST(MiniUartTest, EnabledByTheFirmwareKeepsItsSetup) {
  FakeMmioScript script;
  script.ExpectRead32(0x1, kAuxEnables);  // Init: mini UART already enabled.
  script.ExpectRead32(0x3, kMuLcr);       // Init: 8-bit, DLAB clear: left alone.
  script.ExpectWrite32(0x0, kMuIer);      // Init: interrupts off.
  script.ExpectRead32(0x3, kMuCntl);      // Init: RX and TX on: left alone.
  // No AUX_ENABLES write, no baud rate, no FIFO clear: the script would reject them.
  MiniUart<Window> uart = Make(script, MiniConfig(250'000'000));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(MiniUartTest, EnabledWithTransmitterOffTurnsOnlyTheTransmitterOn) {
  FakeMmioScript script;
  script.ExpectRead32(0x5, kAuxEnables);  // Init: mini UART and SPI2 enabled.
  script.ExpectRead32(0x83, kMuLcr);      // Init: the kernel left DLAB set.
  script.ExpectWrite32(0x03, kMuLcr);     // Init: DLAB cleared, 8-bit kept.
  script.ExpectWrite32(0x0, kMuIer);      // Init: interrupts off.
  script.ExpectRead32(0x0d, kMuCntl);     // Init: RX on, TX off, CTS flow control on.
  script.ExpectWrite32(0x0f, kMuCntl);    // Init: TX on, the rest kept.
  MiniUart<Window> uart = Make(script, MiniConfig(0));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(MiniUartTest, DisabledIsEnabledAndProgrammedFromTheClock) {
  FakeMmioScript script;
  script.ExpectRead32(0x4, kAuxEnables);   // Init: only SPI2 enabled.
  script.ExpectWrite32(0x5, kAuxEnables);  // Init: mini UART on, SPI2 kept.
  script.ExpectWrite32(0x0, kMuCntl);      // Init: RX/TX off while configuring.
  script.ExpectWrite32(0x0, kMuIer);       // Init: interrupts off.
  script.ExpectWrite32(0x3, kMuLcr);       // Init: 8-bit mode (errata: both bits).
  script.ExpectWrite32(0x0, kMuMcr);       // Init: RTS high.
  script.ExpectWrite32(270, kMuBaud);      // Init: 250 MHz / (8 * 271) = 115313 baud.
  script.ExpectWrite32(0x6, kMuIir);       // Init: clear both FIFOs.
  script.ExpectWrite32(0x3, kMuCntl);      // Init: RX and TX on.
  MiniUart<Window> uart = Make(script, MiniConfig(250'000'000));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(MiniUartTest, DisabledWithUnknownClockIsEnabledAndSaysSo) {
  FakeMmioScript script;
  script.ExpectRead32(0x0, kAuxEnables);   // Init: nothing enabled.
  script.ExpectWrite32(0x1, kAuxEnables);  // Init: mini UART on.
  script.ExpectWrite32(0x0, kMuCntl);      // Init: RX/TX off.
  script.ExpectWrite32(0x0, kMuIer);       // Init: interrupts off.
  script.ExpectWrite32(0x3, kMuLcr);       // Init: 8-bit.
  script.ExpectWrite32(0x0, kMuMcr);       // Init: RTS.
  script.ExpectWrite32(0x6, kMuIir);       // Init: clear FIFOs (no baud rate write).
  script.ExpectWrite32(0x3, kMuCntl);      // Init: RX and TX on.
  MiniUart<Window> uart = Make(script, MiniConfig(0));
  Status s = uart.Init();
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_NE(std::strstr(s.what(), "clock is unknown"), nullptr) << s.what();
}

TEST(MiniUartTest, WithoutTheAuxBlockItIsTakenAsSetUp) {
  FakeMmioScript script;
  // No AUX_ENABLES read: the block's address is unknown.
  script.ExpectRead32(0x3, kMuLcr);       // Init: line settings kept.
  script.ExpectWrite32(0x0, kMuIer);      // Init: interrupts off.
  script.ExpectRead32(0x1, kMuCntl);      // Init: TX off.
  script.ExpectWrite32(0x3, kMuCntl);     // Init: TX on.
  MiniUart<Window> uart = Make(script, MiniConfig(0, /*with_aux=*/false));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(MiniUartTest, ClockTooSlowIsRejectedWithoutTouchingTheDevice) {
  FakeMmioScript script;  // No access expected.
  MiniUart<Window> uart = Make(script, MiniConfig(100'000));
  EXPECT_EQ(uart.Init().error(), Error::kOutOfRange);
}

TEST(MiniUartTest, PutBytesFillsTheFreeFifoEntriesPerStatusRead) {
  FakeMmioScript script;
  std::vector<uint8_t> data(11);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0x30 + i);
  script.ExpectRead32(0x0000030e, kMuStat);  // PutBytes: TX FIFO level 0: 8 free.
  for (size_t i = 0; i < 8; ++i) script.ExpectWrite32(data[i], kMuIo);
  script.ExpectRead32(0x08000020, kMuStat);  // PutBytes: level 8 (full): wait.
  script.ExpectRead32(0x06000002, kMuStat);  // PutBytes: level 6: 2 free.
  for (size_t i = 8; i < 10; ++i) script.ExpectWrite32(data[i], kMuIo);
  script.ExpectRead32(0x07000002, kMuStat);  // PutBytes: level 7: 1 free.
  script.ExpectWrite32(data[10], kMuIo);
  MiniUart<Window> uart = Make(script, MiniConfig(0));
  uart.PutBytes(data);
}

TEST(MiniUartTest, PutCharWaitsForTransmitterEmpty) {
  FakeMmioScript script;
  script.ExpectRead32(0x00, kMuLsr);    // PutChar: FIFO full.
  script.ExpectRead32(0x20, kMuLsr);    // PutChar: room for a byte.
  script.ExpectWrite32('A', kMuIo);     // PutChar: 'A'.
  script.ExpectRead32(0x20, kMuLsr);    // PutChar: room.
  script.ExpectWrite32(0xff, kMuIo);    // PutChar: 0xff, not sign-extended.
  MiniUart<Window> uart = Make(script, MiniConfig(0));
  uart.PutChar('A');
  uart.PutChar('\xff');
}

TEST(MiniUartTest, FlushWaitsForTransmitterIdle) {
  FakeMmioScript script;
  script.ExpectRead32(0x20, kMuLsr);  // Flush: FIFO has room but is still sending.
  script.ExpectRead32(0x60, kMuLsr);  // Flush: idle.
  MiniUart<Window> uart = Make(script, MiniConfig(0));
  uart.Flush();
}

TEST(MiniUartTest, ADeadUartCostsTimeNotAHang) {
  // STAT always says full, LSR never has room: every wait gives up after the poll limit.
  testing::FakeRegisterFile regs;
  regs.Set(0x24, 0x08000020);  // AUX_MU_STAT_REG: TX FIFO level 8.
  regs.Set(0x14, 0x00);        // AUX_MU_LSR_REG: no room, not idle.
  MiniUart<testing::FakeRegisterFileIo> uart{testing::FakeRegisterFileIo{regs}, testing::FakeRegisterFileIo{regs},
                                             MiniConfig(0, false)};
  const uint8_t bytes[4] = {1, 2, 3, 4};
  uart.PutBytes(bytes);
  uart.PutChar('x');
  uart.Flush();
  EXPECT_EQ(regs.reads(0x24), MiniUart<testing::FakeRegisterFileIo>::kPollLimit);
  EXPECT_EQ(regs.reads(0x14), 2 * MiniUart<testing::FakeRegisterFileIo>::kPollLimit);
  EXPECT_TRUE(regs.writes().empty());
}

}  // namespace
}  // namespace salvage::uart
