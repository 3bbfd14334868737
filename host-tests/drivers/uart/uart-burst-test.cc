// PutBytes: a FIFO's worth of bytes per status read (drivers/uart/pl011.h, ns16550.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <salvage/uart/ns16550.h>
#include <salvage/uart/pl011.h>

#include "fakes/fake-mmio.h"

namespace salvage::uart {
namespace {

using testing::FakeMmio;
using testing::FakeMmioScript;

constexpr uint32_t kPl011Dr = 0x00, kPl011Fr = 0x18, kPl011LcrH = 0x2c, kPl011Cr = 0x30, kPl011Imsc = 0x38,
                   kPl011Icr = 0x44;
constexpr uint32_t kFrTxfe = 1u << 7;

std::vector<uint8_t> Bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(0xa0 + i);
  return v;
}

// Init with an unknown clock; `lcrh` is what the kernel left in UARTLCR_H.
void ExpectPl011Init(FakeMmioScript& script, uint32_t lcrh) {
  script.ExpectRead32(0x00, kPl011Fr);      // Init: BUSY clear.
  script.ExpectWrite32(0x000, kPl011Imsc);  // Init: mask interrupts.
  script.ExpectWrite32(0x7ff, kPl011Icr);   // Init: clear interrupts.
  script.ExpectRead32(0x0301, kPl011Cr);    // Init: already enabled.
  script.ExpectWrite32(0x0301, kPl011Cr);   // Init: unchanged.
  script.ExpectRead32(lcrh, kPl011LcrH);    // Init: FIFO state.
}

TEST(UartBurstTest, Pl011WithFifosSendsSixteenBytesPerFlagRead) {
  FakeMmioScript script;
  ExpectPl011Init(script, 0x70);  // WLEN 8 | FEN
  const std::vector<uint8_t> data = Bytes(20);
  script.ExpectRead32(kFrTxfe, kPl011Fr);                                // PutBytes: FIFO empty.
  for (size_t i = 0; i < 16; ++i) script.ExpectWrite32(data[i], kPl011Dr);  // PutBytes: 16 bytes.
  script.ExpectRead32(0x00, kPl011Fr);                                   // PutBytes: FIFO not empty yet.
  script.ExpectRead32(kFrTxfe, kPl011Fr);                                // PutBytes: empty again.
  for (size_t i = 16; i < 20; ++i) script.ExpectWrite32(data[i], kPl011Dr);  // PutBytes: the last 4.
  Pl011<FakeMmio> uart(FakeMmio(script), Config{});
  ASSERT_TRUE(uart.Init().ok());
  uart.PutBytes(data);
}

TEST(UartBurstTest, Pl011WithoutFifosSendsOneBytePerFlagRead) {
  FakeMmioScript script;
  ExpectPl011Init(script, 0x60);  // WLEN 8, FEN off: a one-byte holding register
  const std::vector<uint8_t> data = Bytes(3);
  for (uint8_t b : data) {
    script.ExpectRead32(kFrTxfe, kPl011Fr);  // PutBytes: holding register empty.
    script.ExpectWrite32(b, kPl011Dr);       // PutBytes: one byte.
  }
  Pl011<FakeMmio> uart(FakeMmio(script), Config{});
  ASSERT_TRUE(uart.Init().ok());
  uart.PutBytes(data);
}

// 16550 at reg_shift 0, width 1, unknown clock. `iir` is what IIR reads after the FIFO
// enable: 0xc1 for a 16550A, 0x01 for a part without FIFOs.
void ExpectNs16550Init(FakeMmioScript& script, uint8_t iir) {
  script.ExpectRead8(0x60, 5);    // Init: LSR TEMT | THRE, nothing left to send.
  script.ExpectWrite8(0x03, 3);   // Init: LCR 8N1, DLAB off.
  script.ExpectWrite8(0x00, 1);   // Init: IER, no interrupts.
  script.ExpectWrite8(0x07, 2);   // Init: FCR enable + reset both FIFOs.
  script.ExpectWrite8(0x03, 4);   // Init: MCR DTR | RTS.
  script.ExpectRead8(iir, 2);     // Init: IIR FIFO bits.
}

TEST(UartBurstTest, Ns16550aSendsSixteenBytesPerLsrRead) {
  FakeMmioScript script;
  ExpectNs16550Init(script, 0xc1);
  const std::vector<uint8_t> data = Bytes(17);
  script.ExpectRead8(0x20, 5);                                         // PutBytes: THRE.
  for (size_t i = 0; i < 16; ++i) script.ExpectWrite8(data[i], 0);     // PutBytes: 16 bytes.
  script.ExpectRead8(0x20, 5);                                         // PutBytes: THRE again.
  script.ExpectWrite8(data[16], 0);                                    // PutBytes: the last one.
  Ns16550<FakeMmio> uart(FakeMmio(script), Config{0, 0, 0, 1});
  ASSERT_TRUE(uart.Init().ok());
  uart.PutBytes(data);
}

TEST(UartBurstTest, Ns16550WithoutFifoSendsOneBytePerLsrRead) {
  FakeMmioScript script;
  ExpectNs16550Init(script, 0x01);
  const std::vector<uint8_t> data = Bytes(2);
  for (uint8_t b : data) {
    script.ExpectRead8(0x20, 5);  // PutBytes: THRE.
    script.ExpectWrite8(b, 0);    // PutBytes: one byte.
  }
  Ns16550<FakeMmio> uart(FakeMmio(script), Config{0, 0, 0, 1});
  ASSERT_TRUE(uart.Init().ok());
  uart.PutBytes(data);
}

}  // namespace
}  // namespace salvage::uart
