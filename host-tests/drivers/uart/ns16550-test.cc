// Tests for drivers/uart/include/salvage/uart/ns16550.h.
//
// Offsets and values are written as literals from the PC16550D datasheet, not with
// the driver's own constants, so a wrong constant in the driver fails here.
#include <salvage/uart/ns16550.h>

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

static_assert(Uart<Ns16550<FakeMmio>>);
static_assert(Uart<Ns16550<FakeRegisterFileIo>>);

// Register indices (datasheet register summary); byte offsets when reg_shift is 0.
constexpr uint32_t kThr = 0;  // Also DLL when LCR.DLAB = 1.
constexpr uint32_t kIer = 1;  // Also DLM when LCR.DLAB = 1.
constexpr uint32_t kFcr = 2;
constexpr uint32_t kLcr = 3;
constexpr uint32_t kMcr = 4;
constexpr uint32_t kLsr = 5;

// LSR bits.
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;

Config MakeConfig(uint32_t clock_hz, uint8_t reg_shift = 0, uint8_t reg_io_width = 1) {
  Config cfg;
  cfg.base = 0x1000'0000;
  cfg.clock_hz = clock_hz;
  cfg.reg_shift = reg_shift;
  cfg.reg_io_width = reg_io_width;
  return cfg;
}

TEST(Ns16550Test, Name) { EXPECT_STREQ(Ns16550<FakeMmio>::Name(), "ns16550"); }

TEST(Ns16550Test, InitWithUnknownClockLeavesTheDivisorAlone) {
  FakeMmioScript script;
  script.ExpectRead8(0x60, kLsr);   // Init: wait for TEMT (already empty).
  script.ExpectWrite8(0x03, kLcr);  // Init: 8N1, DLAB off, so index 1 is IER.
  script.ExpectWrite8(0x00, kIer);  // Init: no interrupts.
  script.ExpectWrite8(0x07, kFcr);  // Init: FIFOs on, both reset.
  script.ExpectWrite8(0x03, kMcr);  // Init: DTR | RTS, loopback off.
  script.ExpectRead8(0xc1, 0x02);   // Init: IIR 7:6 = 11, FIFOs on: 16-byte bursts.
  // No DLAB write and no DLL/DLM access: the script would reject them.

  Ns16550 uart(FakeMmio(script), MakeConfig(0));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Ns16550Test, InitWaitsForTheKernelsLastBytesBeforeResettingTheFifo) {
  FakeMmioScript script;
  script.ExpectRead8(0x00, kLsr);   // Init: FIFO still holds bytes.
  script.ExpectRead8(0x20, kLsr);   // Init: THRE but the shift register is busy.
  script.ExpectRead8(0x60, kLsr);   // Init: TEMT.
  script.ExpectWrite8(0x03, kLcr);  // Init: 8N1.
  script.ExpectWrite8(0x00, kIer);  // Init: no interrupts.
  script.ExpectWrite8(0x07, kFcr);  // Init: FIFOs on and reset.
  script.ExpectWrite8(0x03, kMcr);  // Init: DTR | RTS.
  script.ExpectRead8(0xc1, 0x02);   // Init: IIR 7:6 = 11, FIFOs on: 16-byte bursts.

  Ns16550 uart(FakeMmio(script), MakeConfig(0));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Ns16550Test, InitWithKnownClockProgramsTheDivisor) {
  FakeMmioScript script;
  script.ExpectRead8(0x60, kLsr);   // Init: wait for TEMT.
  script.ExpectWrite8(0x03, kLcr);  // Init: 8N1, DLAB off.
  script.ExpectWrite8(0x00, kIer);  // Init: no interrupts.
  script.ExpectWrite8(0x83, kLcr);  // Init: DLAB on.
  script.ExpectWrite8(0x01, kThr);  // Init: DLL = 1843200 / (16 * 115200) = 1.
  script.ExpectWrite8(0x00, kIer);  // Init: DLM = 0.
  script.ExpectWrite8(0x03, kLcr);  // Init: DLAB off, 8N1.
  script.ExpectWrite8(0x07, kFcr);  // Init: FIFOs on and reset.
  script.ExpectWrite8(0x03, kMcr);  // Init: DTR | RTS.
  script.ExpectRead8(0xc1, 0x02);   // Init: IIR 7:6 = 11, FIFOs on: 16-byte bursts.

  Ns16550 uart(FakeMmio(script), MakeConfig(1'843'200));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Ns16550Test, InitWritesBothDivisorBytes) {
  FakeMmioScript script;
  script.ExpectRead8(0x60, kLsr);   // Init: wait for TEMT.
  script.ExpectWrite8(0x03, kLcr);  // Init: 8N1.
  script.ExpectWrite8(0x00, kIer);  // Init: no interrupts.
  script.ExpectWrite8(0x83, kLcr);  // Init: DLAB on.
  script.ExpectWrite8(0x1f, kThr);  // Init: DLL: 1 GHz / 1843200 = 542.5 -> 543 = 0x21f.
  script.ExpectWrite8(0x02, kIer);  // Init: DLM.
  script.ExpectWrite8(0x03, kLcr);  // Init: DLAB off.
  script.ExpectWrite8(0x07, kFcr);  // Init: FIFOs.
  script.ExpectWrite8(0x03, kMcr);  // Init: DTR | RTS.
  script.ExpectRead8(0xc1, 0x02);   // Init: IIR 7:6 = 11, FIFOs on: 16-byte bursts.

  Ns16550 uart(FakeMmio(script), MakeConfig(1'000'000'000));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Ns16550Test, InitWithRegShift2AndWidth4) {
  // DesignWare APB UART: registers 4 bytes apart, 32-bit accesses.
  FakeMmioScript script;
  script.ExpectRead32(0x60, 0x14);   // Init: LSR (5 << 2), TEMT.
  script.ExpectWrite32(0x03, 0x0c);  // Init: LCR (3 << 2) = 8N1.
  script.ExpectWrite32(0x00, 0x04);  // Init: IER (1 << 2) = 0.
  script.ExpectWrite32(0x83, 0x0c);  // Init: LCR DLAB on.
  script.ExpectWrite32(0x0d, 0x00);  // Init: DLL = 24 MHz / (16 * 115200) = 13.02 -> 13.
  script.ExpectWrite32(0x00, 0x04);  // Init: DLM = 0.
  script.ExpectWrite32(0x03, 0x0c);  // Init: LCR DLAB off.
  script.ExpectWrite32(0x07, 0x08);  // Init: FCR (2 << 2).
  script.ExpectWrite32(0x03, 0x10);  // Init: MCR (4 << 2).
  script.ExpectRead32(0xc1, 0x08);   // Init: IIR (2 << 2), FIFOs on.

  Ns16550 uart(FakeMmio(script), MakeConfig(24'000'000, 2, 4));
  EXPECT_TRUE(uart.Init().ok());
}

TEST(Ns16550Test, PutCharWithRegShift2AndWidth4) {
  FakeMmioScript script;
  script.ExpectRead32(0xffffff00, 0x14);  // PutChar: LSR, THRE clear (upper bits ignored).
  script.ExpectRead32(0x20, 0x14);        // PutChar: THRE.
  script.ExpectWrite32(0xe9, 0x00);       // PutChar: THR = 0xe9, zero-extended.

  Ns16550 uart(FakeMmio(script), MakeConfig(0, 2, 4));
  uart.PutChar('\xe9');
}

TEST(Ns16550Test, InitRejectsUnsupportedAccessWidthWithoutTouchingTheDevice) {
  FakeMmioScript script;  // No access expected, from Init or after.
  Ns16550 uart(FakeMmio(script), MakeConfig(0, 1, 2));
  Status status = uart.Init();
  EXPECT_EQ(status.error(), Error::kUnsupported);
  EXPECT_NE(std::strstr(status.what(), "ns16550"), nullptr) << status.what();
  uart.PutChar('a');
  uart.Flush();
}

TEST(Ns16550Test, InitRejectsHugeRegShift) {
  FakeMmioScript script;  // No access expected.
  Ns16550 uart(FakeMmio(script), MakeConfig(0, 40, 1));
  EXPECT_EQ(uart.Init().error(), Error::kUnsupported);
}

TEST(Ns16550Test, InitRejectsClockTooSlowForTheBaudRate) {
  FakeMmioScript script;  // No access expected.
  Ns16550 uart(FakeMmio(script), MakeConfig(900'000));  // Divisor 0.49 -> 0.
  EXPECT_EQ(uart.Init().error(), Error::kOutOfRange);
}

TEST(Ns16550Test, PutCharWaitsForThre) {
  FakeMmioScript script;
  script.ExpectRead8(0x00, kLsr);      // PutChar: holding register full.
  script.ExpectRead8(kLsrTemt, kLsr);  // PutChar: TEMT alone is not THRE; keep waiting.
  script.ExpectRead8(0x21, kLsr);      // PutChar: THRE (with DR set).
  script.ExpectWrite8('k', kThr);      // PutChar: THR = 'k'.

  Ns16550 uart(FakeMmio(script), MakeConfig(0));
  uart.PutChar('k');
}

TEST(Ns16550Test, FlushWaitsForTemt) {
  FakeMmioScript script;
  script.ExpectRead8(0x00, kLsr);      // Flush: FIFO not empty.
  script.ExpectRead8(kLsrThre, kLsr);  // Flush: FIFO empty, last byte still shifting.
  script.ExpectRead8(0x60, kLsr);      // Flush: TEMT; returns.

  Ns16550 uart(FakeMmio(script), MakeConfig(0));
  uart.Flush();
}

TEST(Ns16550Test, PutCharGivesUpOnAStuckTransmitter) {
  FakeRegisterFile regs;
  regs.Set(kLsr, 0x00);  // THRE never set: a dead UART.
  Ns16550 uart(FakeRegisterFileIo(regs), MakeConfig(0));

  uart.PutChar('x');  // Returns instead of hanging.

  EXPECT_EQ(regs.reads(kLsr), Ns16550<FakeRegisterFileIo>::kPollLimit);
  EXPECT_TRUE(regs.writes().empty()) << "wrote to a full transmitter";
}

TEST(Ns16550Test, FlushGivesUpOnAStuckTransmitter) {
  FakeRegisterFile regs;
  regs.Set(kLsr, kLsrThre);  // TEMT never set.
  Ns16550 uart(FakeRegisterFileIo(regs), MakeConfig(0));

  uart.Flush();

  EXPECT_EQ(regs.reads(kLsr), Ns16550<FakeRegisterFileIo>::kPollLimit);
}

TEST(Ns16550Test, PutCharSendsOnceThreSets) {
  FakeRegisterFile regs;
  regs.QueueReads(kLsr, {0x00, 0x00});  // Busy for two polls ...
  regs.Set(kLsr, kLsrThre);             // ... then room.
  Ns16550 uart(FakeRegisterFileIo(regs), MakeConfig(0));

  uart.PutChar('q');

  EXPECT_EQ(regs.reads(kLsr), 3u);
  ASSERT_EQ(regs.writes().size(), 1u);
  EXPECT_EQ(regs.writes()[0], (MmioAccess{MmioAccess::Kind::kWrite, 1, kThr, 'q'}));
}

}  // namespace
}  // namespace salvage::uart
