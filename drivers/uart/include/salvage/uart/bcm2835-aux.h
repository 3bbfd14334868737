// salvage::uart::MiniUart — polled transmit driver for the BCM2835 auxiliary
// "mini UART" (Raspberry Pi 1, Zero, 2, 3 and 4: the UART on GPIO 14/15 of the boards
// whose PL011 drives Bluetooth).
//
// Follows "BCM2835 ARM Peripherals" (Broadcom, 06 February 2012), chapter 2
// "Auxiliaries: UART1 & SPI1, SPI2": §2.1 (AUX_IRQ, AUX_ENABLES) and §2.2 (the
// AUX_MU_* registers), with the corrections of the eLinux "BCM2835 datasheet errata"
// page (LCR bits 1:0 both select 8-bit mode; the IER bit meanings). Section numbers
// below refer to that manual. BCM2836/7 (Pi 2/3) and BCM2711 (Pi 4) have the same block.
//
// The device tree (Linux bindings/serial/brcm,bcm2835-aux-uart.yaml) places the node's
// reg at the AUX_MU_* registers (bus address 0x7e215040); AUX_ENABLES sits below that,
// in the AUX block of the `brcm,bcm2835-aux` node (0x7e215000), which the driver gets
// as a second register window (Config::aux_base).
//
// The mini UART's baud rate comes from the VideoCore core clock (§2.2.1), which the
// DTB rarely gives as a number. So Init() keeps the firmware's (or the crashed
// kernel's) setup when the UART is already enabled, and only programs a baud rate
// when it must enable the UART itself and knows the clock.
//
// Written for a crash console: no wait on the hardware is unbounded.
// Freestanding: no heap, no exceptions; every register access goes through `Io`, 32
// bits wide (QEMU's model accepts nothing else, and the manual's registers are words).
#pragma once

#include <array>
#include <string_view>

#include <cstddef>
#include <cstdint>
#include <span>

#include <salvage/base/status.h>
#include <salvage/drivers/io.h>
#include <salvage/uart/uart.h>

namespace salvage::uart {
namespace bcm2835_aux {

// The AUX block (§2.1, table at 0x7e215000), offsets from Config::aux_base.

/// AUX_ENABLES, auxiliary enables (§2.1.1). Clearing a bit also stops that
/// peripheral's register access, so it is only ever set, read-modify-write.
struct AuxEnables {
  static constexpr uint32_t kOffset = 0x04;
  static constexpr uint32_t kMiniUart = 1u << 0;  ///< 0 Mini UART enable.
  // 1 SPI 1 enable, 2 SPI 2 enable: left as found. 31:3 Reserved.
};

// The mini UART's registers (§2.2.2), offsets from the node's reg (AUX_MU_IO_REG).

/// AUX_MU_IO_REG: transmit / receive data with DLAB = 0.
struct MuIo {
  static constexpr uint32_t kOffset = 0x00;
  // 7:0 data (DLAB = 1: baud rate bits 7:0). 31:8 Reserved.
};

/// AUX_MU_IER_REG, interrupt enable (DLAB = 0).
struct MuIer {
  static constexpr uint32_t kOffset = 0x04;
  static constexpr uint32_t kNone = 0;  ///< 1:0 transmit / receive interrupts off (errata: 3:2 too).
};

/// AUX_MU_IIR_REG. Writes clear the FIFOs.
struct MuIir {
  static constexpr uint32_t kOffset = 0x08;
  static constexpr uint32_t kClearRxFifo = 1u << 1;  ///< Write 1: clear the receive FIFO.
  static constexpr uint32_t kClearTxFifo = 1u << 2;  ///< Write 1: clear the transmit FIFO.
  // Read: 0 interrupt pending (0 = pending), 2:1 interrupt ID, 7:6 FIFO enables (always 1).
};

/// AUX_MU_LCR_REG, line control.
struct MuLcr {
  static constexpr uint32_t kOffset = 0x0c;
  static constexpr uint32_t kDataSize8 = 0b11u;  ///< 1:0 = 0b11: 8-bit mode (errata: bit 1 too).
  static constexpr uint32_t kDlab = 1u << 7;     ///< 7 DLAB access: IO/IER become the baud rate bytes.
  // 6 Break: 0. 5:2 Reserved.
};

/// AUX_MU_MCR_REG, modem control.
struct MuMcr {
  static constexpr uint32_t kOffset = 0x10;
  static constexpr uint32_t kNone = 0;  ///< 1 RTS: 0 (RTS line high). Others reserved.
};

/// AUX_MU_LSR_REG, line status. Read only.
struct MuLsr {
  static constexpr uint32_t kOffset = 0x14;
  static constexpr uint32_t kTxEmpty = 1u << 5;  ///< 5 Transmitter empty: the FIFO takes at least one byte.
  static constexpr uint32_t kTxIdle = 1u << 6;   ///< 6 Transmitter idle: FIFO empty, last bit shifted out.
  // 0 data ready, 1 receiver overrun; others reserved.
};

/// AUX_MU_CNTL_REG, extra control.
struct MuCntl {
  static constexpr uint32_t kOffset = 0x20;
  static constexpr uint32_t kRxEnable = 1u << 0;  ///< 0 Receiver enable.
  static constexpr uint32_t kTxEnable = 1u << 1;  ///< 1 Transmitter enable.
  // 2 RTS flow, 3 CTS flow, 5:4 RTS FIFO level, 6 RTS assert level, 7 CTS assert
  // level: kept as found when the UART is already set up, 0 (no flow control) otherwise.
};

/// AUX_MU_STAT_REG, extra status. Read only.
struct MuStat {
  static constexpr uint32_t kOffset = 0x24;
  static constexpr uint32_t kTxLevelShift = 24;  ///< 27:24 transmit FIFO fill level, 0..8.
  static constexpr uint32_t kTxLevelMask = 0xfu;
  // 0 symbol available, 1 space available, 2 RX idle, 3 TX idle, 4 RX overrun, 5 TX FIFO
  // full, 6 RTS, 7 CTS, 8 TX FIFO empty, 9 transmitter done; 19:16 RX FIFO level.
};

/// AUX_MU_BAUD_REG, direct access to the 16-bit baud rate counter.
struct MuBaud {
  static constexpr uint32_t kOffset = 0x28;
  static constexpr uint32_t kMax = 0xffffu;  ///< 15:0 baud rate. 31:16 Reserved.
};

/// Both FIFOs hold 8 symbols (§2.2).
inline constexpr uint32_t kFifoDepth = 8;

/// The line the driver programs when it must set the UART up and knows the clock.
inline constexpr uint32_t kBaudRate = 115200;

/// AUX_MU_BAUD_REG for `baud` from the system (core) clock: baud = clock / (8 *
/// (reg + 1)) (§2.2.1), so reg = clock / (8 * baud) - 1, rounded to nearest. Returns a
/// value above kMax when the clock is too slow or too fast for it.
constexpr uint64_t BaudRegister(uint32_t clock_hz, uint32_t baud) {
  const uint64_t divisor = (uint64_t{clock_hz} + 4ull * baud) / (8ull * baud);
  return divisor == 0 ? MuBaud::kMax + 1ull : divisor - 1;
}
static_assert(BaudRegister(250'000'000, kBaudRate) == 270);  // Linux's value for a 250 MHz core clock.
static_assert(BaudRegister(400'000'000, kBaudRate) == 433);
static_assert(BaudRegister(1'000'000, kBaudRate) == 0);     // 1.08: the fastest setting.
static_assert(BaudRegister(100'000, kBaudRate) > MuBaud::kMax);

}  // namespace bcm2835_aux

/// Polled mini-UART driver over register windows `Io` (the AUX_MU_* registers, and the
/// AUX block for AUX_ENABLES); satisfies `uart::Uart`.
template <drivers::Io Io>
class MiniUart {
 public:
  /// Reads of a status register before a wait gives up (a byte at 115200 baud lasts
  /// about 87 us; a million reads is well beyond that on any core).
  static constexpr uint32_t kPollLimit = 1'000'000;

  /// `mu` addresses the AUX_MU_* registers (Config::base); `aux` the AUX block
  /// (Config::aux_base), used only when cfg.aux_base is not 0. Of `cfg` also clock_hz
  /// (the core clock; 0 when unknown).
  MiniUart(Io mu, Io aux, const Config& cfg) : mu_(mu), aux_(aux), clock_hz_(cfg.clock_hz), has_aux_(cfg.aux_base != 0) {}

  /// When AUX_ENABLES says the mini UART is on (or the AUX block is unknown), keeps
  /// its baud rate, line settings and flow control: turns interrupts off, clears a
  /// DLAB left set, and enables the transmitter if it is off. Otherwise enables it in
  /// AUX_ENABLES and sets it up from scratch: 8N1, no flow control, FIFOs cleared,
  /// 115200 baud when the clock is known.
  /// Returns, before touching the device, kOutOfRange if clock_hz cannot give 115200
  /// baud. Returns kNotFound after enabling the UART when it was off and the clock is
  /// unknown: it then runs at whatever rate its baud register holds.
  Status Init() {
    uint64_t baud_reg = 0;
    if (clock_hz_ != 0) {
      baud_reg = bcm2835_aux::BaudRegister(clock_hz_, bcm2835_aux::kBaudRate);
      if (baud_reg > bcm2835_aux::MuBaud::kMax) {
        return Status(Error::kOutOfRange, "bcm2835-aux: the clock cannot give 115200 baud");
      }
    }
    using namespace bcm2835_aux;
    const uint32_t enables = has_aux_ ? aux_.Read32(AuxEnables::kOffset) : AuxEnables::kMiniUart;
    if ((enables & AuxEnables::kMiniUart) != 0) {
      // Set up by the firmware or the crashed kernel: the rate is right, keep it.
      const uint32_t lcr = mu_.Read32(MuLcr::kOffset);
      if ((lcr & MuLcr::kDlab) != 0) mu_.Write32(MuLcr::kOffset, lcr & ~MuLcr::kDlab);
      mu_.Write32(MuIer::kOffset, MuIer::kNone);
      const uint32_t cntl = mu_.Read32(MuCntl::kOffset);
      if ((cntl & MuCntl::kTxEnable) == 0) mu_.Write32(MuCntl::kOffset, cntl | MuCntl::kTxEnable);
      return Status::Ok();
    }
    aux_.Write32(AuxEnables::kOffset, enables | AuxEnables::kMiniUart);
    mu_.Write32(MuCntl::kOffset, 0);  // Transmitter and receiver off while configuring.
    mu_.Write32(MuIer::kOffset, MuIer::kNone);
    mu_.Write32(MuLcr::kOffset, MuLcr::kDataSize8);
    mu_.Write32(MuMcr::kOffset, MuMcr::kNone);
    if (clock_hz_ != 0) mu_.Write32(MuBaud::kOffset, static_cast<uint32_t>(baud_reg));
    mu_.Write32(MuIir::kOffset, MuIir::kClearRxFifo | MuIir::kClearTxFifo);
    mu_.Write32(MuCntl::kOffset, MuCntl::kRxEnable | MuCntl::kTxEnable);
    if (clock_hz_ == 0) {
      return Status(Error::kNotFound, "bcm2835-aux: was disabled and its clock is unknown; baud rate not set");
    }
    return Status::Ok();
  }

  /// Sends `bytes`: per read of AUX_MU_STAT_REG as many bytes as the transmit FIFO has
  /// room for (up to 8). Bytes that find no room within kPollLimit polls are dropped.
  void PutBytes(std::span<const uint8_t> bytes) {
    size_t i = 0;
    while (i < bytes.size()) {
      const uint32_t room = WaitForRoom();
      if (room == 0) return;
      const size_t n = bytes.size() - i < room ? bytes.size() - i : room;
      for (size_t k = 0; k < n; ++k) mu_.Write32(bcm2835_aux::MuIo::kOffset, bytes[i + k]);
      i += n;
    }
  }

  /// Waits for room in the transmit FIFO and sends `c`. If there is still no room after
  /// kPollLimit polls the byte is dropped, so a dead UART cannot hang the caller.
  void PutChar(char c) {
    if (!WaitForLsr(bcm2835_aux::MuLsr::kTxEmpty)) return;
    mu_.Write32(bcm2835_aux::MuIo::kOffset, static_cast<uint8_t>(c));
  }

  /// Waits (at most kPollLimit polls) until the last bit has been shifted out.
  void Flush() { (void)WaitForLsr(bcm2835_aux::MuLsr::kTxIdle); }

  static constexpr const char* Name() { return "bcm2835-aux"; }
  /// The devicetree `compatible` strings of this register interface (Linux
  /// bindings/serial/brcm,bcm2835-aux-uart.yaml).
  static constexpr std::array<std::string_view, 1> kCompatibles = {"brcm,bcm2835-aux-uart"};

 private:
  /// Free transmit FIFO entries (1..8) once there is any, 0 after kPollLimit reads.
  uint32_t WaitForRoom() {
    using bcm2835_aux::MuStat;
    for (uint32_t i = 0; i < kPollLimit; ++i) {
      const uint32_t level = (mu_.Read32(MuStat::kOffset) >> MuStat::kTxLevelShift) & MuStat::kTxLevelMask;
      if (level < bcm2835_aux::kFifoDepth) return bcm2835_aux::kFifoDepth - level;
    }
    return 0;
  }

  /// True once every bit of `mask` reads 1 in AUX_MU_LSR_REG; false after kPollLimit reads.
  bool WaitForLsr(uint32_t mask) {
    for (uint32_t i = 0; i < kPollLimit; ++i) {
      if ((mu_.Read32(bcm2835_aux::MuLsr::kOffset) & mask) == mask) return true;
    }
    return false;
  }

  Io mu_;
  Io aux_;
  uint32_t clock_hz_;
  bool has_aux_;  ///< The AUX block is known: AUX_ENABLES is read (and set when off).
};

}  // namespace salvage::uart
