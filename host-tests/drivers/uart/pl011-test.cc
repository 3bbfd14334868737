// Tests for drivers/uart/include/salvage/uart/pl011.h.
//
// Offsets and values are written as literals from the TRM (DDI 0183), not with the
// driver's own constants, so a wrong constant in the driver fails here.
#include <salvage/uart/pl011.h>

#include <gtest/gtest.h>

#include <cstring>

#include "fakes/fake-mmio.h"

namespace salvage::uart {
namespace {

using testing::FakeMmio;
using testing::FakeMmioScript;
using testing::FakeRegisterFile;
using testing::FakeRegisterFileIo;
using testing::MmioAccess;

static_assert(Uart<Pl011<FakeMmio>>);
static_assert(Uart<Pl011<FakeRegisterFileIo>>);

// Register offsets (TRM table 3-1).
constexpr uint32_t kDr = 0x00;
constexpr uint32_t kFr = 0x18;
constexpr uint32_t kIbrd = 0x24;
constexpr uint32_t kFbrd = 0x28;
constexpr uint32_t kLcrH = 0x2c;
constexpr uint32_t kCr = 0x30;
constexpr uint32_t kImsc = 0x38;
constexpr uint32_t kIcr = 0x44;

// UARTFR bits.
constexpr uint32_t kFrBusy = 0x08;
constexpr uint32_t kFrTxff = 0x20;

Config ConfigWithClock(uint32_t clock_hz) {
  Config cfg;
  cfg.base = 0x0900'0000;
  cfg.clock_hz = clock_hz;
  return cfg;
}

TEST(Pl011Test, Name) { EXPECT_STREQ(Pl011<FakeMmio>::Name(), "pl011"); }

TEST(Pl011Test, InitWithUnknownClockKeepsLineSettingsAndEnables) {
  FakeMmioScript script;
  script.ExpectRead32(0x00, kFr);       // Init: wait for BUSY clear (already clear).
  script.ExpectWrite32(0x000, kImsc);   // Init: mask every interrupt.
  script.ExpectWrite32(0x7ff, kIcr);    // Init: clear every interrupt.
  script.ExpectRead32(0x0000, kCr);     // Init: UARTCR as the kernel left it (disabled).
  script.ExpectWrite32(0x0301, kCr);    // Init: UARTEN | TXE | RXE.
  script.ExpectRead32(0x0060, kLcrH);   // Init: FIFOs as the kernel left them (off).
  // No access to UARTIBRD, UARTFBRD or UARTLCR_H: the script would reject it.

  Pl011 uart(FakeMmio(script), ConfigWithClock(0));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Pl011Test, InitWithUnknownClockKeepsOtherControlBits) {
  FakeMmioScript script;
  script.ExpectRead32(0x00, kFr);       // Init: wait for BUSY clear.
  script.ExpectWrite32(0x000, kImsc);   // Init: mask interrupts.
  script.ExpectWrite32(0x7ff, kIcr);    // Init: clear interrupts.
  script.ExpectRead32(0x0c01, kCr);     // Init: UARTCR = RTS | DTR | UARTEN, TX/RX off.
  script.ExpectWrite32(0x0f01, kCr);    // Init: adds TXE | RXE, keeps RTS | DTR.
  script.ExpectRead32(0x0070, kLcrH);   // Init: FIFOs as the kernel left them (on).

  Pl011 uart(FakeMmio(script), ConfigWithClock(0));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Pl011Test, InitWaitsForBusyToClear) {
  FakeMmioScript script;
  script.ExpectRead32(kFrBusy, kFr);    // Init: kernel's last byte still going out.
  script.ExpectRead32(kFrBusy, kFr);    // Init: still busy.
  script.ExpectRead32(0x00, kFr);       // Init: done.
  script.ExpectWrite32(0x000, kImsc);   // Init: mask interrupts.
  script.ExpectWrite32(0x7ff, kIcr);    // Init: clear interrupts.
  script.ExpectRead32(0x0301, kCr);     // Init: UARTCR already enabled.
  script.ExpectWrite32(0x0301, kCr);    // Init: unchanged.
  script.ExpectRead32(0x0070, kLcrH);   // Init: FIFO state.

  Pl011 uart(FakeMmio(script), ConfigWithClock(0));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Pl011Test, InitWithKnownClockPrograms115200_8N1) {
  FakeMmioScript script;
  script.ExpectRead32(0x00, kFr);       // Init: wait for BUSY clear.
  script.ExpectWrite32(0x000, kImsc);   // Init: mask interrupts.
  script.ExpectWrite32(0x7ff, kIcr);    // Init: clear interrupts.
  script.ExpectWrite32(0x0000, kCr);    // Init: disable before reprogramming.
  script.ExpectWrite32(13, kIbrd);      // Init: 24 MHz / (16 * 115200) = 13.02 -> 13 ...
  script.ExpectWrite32(1, kFbrd);       // Init: ... + 1/64 (0.02 * 64 + 0.5 = 1).
  script.ExpectWrite32(0x70, kLcrH);    // Init: WLEN 8 bits | FEN; latches the divisors.
  script.ExpectWrite32(0x0301, kCr);    // Init: UARTEN | TXE | RXE.

  Pl011 uart(FakeMmio(script), ConfigWithClock(24'000'000));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Pl011Test, InitWithTrmExampleClock) {
  // TRM §3.3.6 example: 4 MHz for 230400 gives 1 + 5/64. At 115200 the same clock
  // gives 2.17 -> IBRD 2, FBRD integer(0.17 * 64 + 0.5) = 11.
  FakeMmioScript script;
  script.ExpectRead32(0x00, kFr);       // Init: wait for BUSY clear.
  script.ExpectWrite32(0x000, kImsc);   // Init: mask interrupts.
  script.ExpectWrite32(0x7ff, kIcr);    // Init: clear interrupts.
  script.ExpectWrite32(0x0000, kCr);    // Init: disable.
  script.ExpectWrite32(2, kIbrd);       // Init: integer divisor.
  script.ExpectWrite32(11, kFbrd);      // Init: fractional divisor.
  script.ExpectWrite32(0x70, kLcrH);    // Init: 8N1, FIFOs on.
  script.ExpectWrite32(0x0301, kCr);    // Init: enable.

  Pl011 uart(FakeMmio(script), ConfigWithClock(4'000'000));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Pl011Test, InitRejectsClockTooSlowForTheBaudRateWithoutTouchingTheDevice) {
  FakeMmioScript script;  // No access expected.
  Pl011 uart(FakeMmio(script), ConfigWithClock(1'000'000));  // Divisor 0.54: below 1.
  Status status = uart.Init();
  EXPECT_EQ(status.error(), Error::kOutOfRange);
  EXPECT_NE(std::strstr(status.what(), "pl011"), nullptr) << status.what();
}

TEST(Pl011Test, PutCharWaitsWhileTxFifoFull) {
  FakeMmioScript script;
  script.ExpectRead32(kFrTxff, kFr);    // PutChar: FIFO full.
  script.ExpectRead32(kFrTxff | kFrBusy, kFr);  // PutChar: still full.
  script.ExpectRead32(kFrBusy, kFr);    // PutChar: room (BUSY alone does not block).
  script.ExpectWrite32('A', kDr);       // PutChar: UARTDR = 'A'.

  Pl011 uart(FakeMmio(script), ConfigWithClock(0));
  uart.PutChar('A');
}

TEST(Pl011Test, PutCharWritesHighBytesZeroExtended) {
  FakeMmioScript script;
  script.ExpectRead32(0x00, kFr);       // PutChar: room.
  script.ExpectWrite32(0xff, kDr);      // PutChar: 0xff, not a sign-extended 0xffffffff.

  Pl011 uart(FakeMmio(script), ConfigWithClock(0));
  uart.PutChar('\xff');
}

TEST(Pl011Test, FlushWaitsForBusyToClear) {
  FakeMmioScript script;
  script.ExpectRead32(kFrBusy, kFr);    // Flush: transmitting.
  script.ExpectRead32(kFrBusy, kFr);    // Flush: transmitting.
  script.ExpectRead32(0x00, kFr);       // Flush: idle; returns.

  Pl011 uart(FakeMmio(script), ConfigWithClock(0));
  uart.Flush();
}

TEST(Pl011Test, PutCharGivesUpOnAStuckFifo) {
  FakeRegisterFile regs;
  regs.Set(kFr, kFrTxff);  // TXFF forever: a dead or flow-controlled UART.
  Pl011 uart(FakeRegisterFileIo(regs), ConfigWithClock(0));

  uart.PutChar('x');  // Returns instead of hanging.

  EXPECT_EQ(regs.reads(kFr), Pl011<FakeRegisterFileIo>::kPollLimit);
  EXPECT_TRUE(regs.writes().empty()) << "wrote to a full FIFO";
}

TEST(Pl011Test, PutCharSendsOnceTheFifoDrains) {
  FakeRegisterFile regs;
  regs.QueueReads(kFr, {kFrTxff, kFrTxff, kFrTxff});  // Full for three polls, then 0.
  Pl011 uart(FakeRegisterFileIo(regs), ConfigWithClock(0));

  uart.PutChar('z');

  EXPECT_EQ(regs.reads(kFr), 4u);
  ASSERT_EQ(regs.writes().size(), 1u);
  EXPECT_EQ(regs.writes()[0], (MmioAccess{MmioAccess::Kind::kWrite, 4, kDr, 'z'}));
}

TEST(Pl011Test, FlushAndInitGiveUpOnAStuckBusyFlag) {
  FakeRegisterFile regs;
  regs.Set(kFr, kFrBusy);
  Pl011 uart(FakeRegisterFileIo(regs), ConfigWithClock(0));

  uart.Flush();
  EXPECT_EQ(regs.reads(kFr), Pl011<FakeRegisterFileIo>::kPollLimit);

  // Init still sets the device up after its wait gives up.
  EXPECT_TRUE(uart.Init().ok());
  EXPECT_EQ(regs.reads(kFr), 2 * Pl011<FakeRegisterFileIo>::kPollLimit);
  ASSERT_FALSE(regs.writes().empty());
  EXPECT_EQ(regs.writes().back(), (MmioAccess{MmioAccess::Kind::kWrite, 4, kCr, 0x0301}));
}

}  // namespace
}  // namespace salvage::uart
