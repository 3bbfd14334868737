// salvage::uart::Pl011 — polled transmit driver for the ARM PL011 UART.
//
// Follows the ARM PrimeCell UART (PL011) Technical Reference Manual r1p5 (DDI 0183),
// chapter 3 "Programmers Model"; section numbers below refer to it.
//
// Written for a crash console. Init() assumes nothing about the state the crashed
// kernel left behind (mid-transfer, interrupts enabled, UART or transmitter
// disabled), and no wait on the hardware is unbounded: a dead or wedged UART costs
// time, never the dump.
//
// Freestanding: no heap, no exceptions; every register access goes through `Io`.
#pragma once

#include <array>
#include <string_view>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include <salvage/base/status.h>
#include <salvage/drivers/io.h>
#include <salvage/uart/uart.h>

namespace salvage::uart {
namespace pl011 {

// Register offsets and fields, named as in TRM table 3-1 and §3.3. All registers
// are accessed as 32-bit words; bits not listed are reserved and read as zero.

/// UARTDR, data register (§3.3.1).
struct Dr {
  static constexpr uint32_t kOffset = 0x00;
  static constexpr uint32_t kData = 0xffu;  ///< 7:0 DATA: byte to transmit / received.
  // 11:8 OE, BE, PE, FE: receive error flags, read only; ignored on write.
  // 31:12 Reserved.
};

/// UARTFR, flag register (§3.3.3). Read only.
struct Fr {
  static constexpr uint32_t kOffset = 0x18;
  static constexpr uint32_t kBusy = 1u << 3;  ///< 3 BUSY: transmitting, or TX FIFO not empty.
  static constexpr uint32_t kTxff = 1u << 5;  ///< 5 TXFF: TX FIFO (or holding register) full.
  static constexpr uint32_t kTxfe = 1u << 7;  ///< 7 TXFE: TX FIFO (or holding register) empty.
  // 0 CTS, 1 DSR, 2 DCD, 4 RXFE, 6 RXFF, 7 TXFE, 8 RI; 31:9 Reserved.
};

/// UARTIBRD, integer baud rate divisor (§3.3.5).
struct Ibrd {
  static constexpr uint32_t kOffset = 0x24;
  static constexpr uint32_t kDivInt = 0xffffu;  ///< 15:0 BAUD DIVINT. 31:16 Reserved.
};

/// UARTFBRD, fractional baud rate divisor (§3.3.6).
struct Fbrd {
  static constexpr uint32_t kOffset = 0x28;
  static constexpr uint32_t kDivFrac = 0x3fu;  ///< 5:0 BAUD DIVFRAC, in 1/64ths. 31:6 Reserved.
};

/// UARTLCR_H, line control (§3.3.7). Writing it latches UARTIBRD and UARTFBRD too, so
/// it is written after them.
struct LcrH {
  static constexpr uint32_t kOffset = 0x2c;
  static constexpr uint32_t kFen = 1u << 4;        ///< 4 FEN: enable FIFOs.
  static constexpr uint32_t kWlen8 = 0b11u << 5;   ///< 6:5 WLEN = 0b11: 8 data bits.
  // 0 BRK, 1 PEN, 2 EPS, 3 STP2, 7 SPS: all zero gives no parity, 1 stop bit.
  // 31:8 Reserved.
};

/// UARTCR, control register (§3.3.8).
struct Cr {
  static constexpr uint32_t kOffset = 0x30;
  static constexpr uint32_t kUarten = 1u << 0;  ///< 0 UARTEN: UART enable.
  static constexpr uint32_t kTxe = 1u << 8;     ///< 8 TXE: transmit enable.
  static constexpr uint32_t kRxe = 1u << 9;     ///< 9 RXE: receive enable.
  // 1 SIREN, 2 SIRLP, 6:3 Reserved (do not modify), 7 LBE, 10 DTR, 11 RTS, 12 Out1,
  // 13 Out2, 14 RTSEn, 15 CTSEn; 31:16 Reserved.
};

/// UARTIMSC, interrupt mask set/clear (§3.3.10). A 1 enables the interrupt.
struct Imsc {
  static constexpr uint32_t kOffset = 0x38;
  static constexpr uint32_t kNone = 0;  ///< Every interrupt masked. 31:11 Reserved.
};

/// UARTICR, interrupt clear (§3.3.13). Write only; a 1 clears the interrupt.
struct Icr {
  static constexpr uint32_t kOffset = 0x44;
  static constexpr uint32_t kAll = 0x7ffu;  ///< 10:0 every interrupt. 31:11 Reserved.
};

/// The line the driver programs when it knows the clock: 115200 baud, 8N1.
inline constexpr uint32_t kBaudRate = 115200;

/// The baud rate divisor in 1/64ths: UARTCLK / (16 * baud), rounded to the nearest
/// 1/64 (§3.3.6). UARTIBRD is the result >> 6, UARTFBRD its low 6 bits.
constexpr uint64_t BaudDivisor64(uint32_t clock_hz, uint32_t baud) {
  return (uint64_t{clock_hz} * 4 + baud / 2) / baud;
}
static_assert(BaudDivisor64(4'000'000, 230400) == (1u << 6 | 5u));  // The §3.3.6 worked example.
static_assert(BaudDivisor64(24'000'000, kBaudRate) == (13u << 6 | 1u));

}  // namespace pl011

/// Polled PL011 driver over register window `Io`; satisfies `uart::Uart`.
template <drivers::Io Io>
class Pl011 {
 public:
  /// Reads of UARTFR before a wait gives up. One character at 115200 baud lasts
  /// about 87 us; a million register reads is well beyond that on any core.
  static constexpr uint32_t kPollLimit = 1'000'000;

  /// `io` addresses the device's registers; of `cfg` only clock_hz is used (0 when
  /// unknown: then the baud rate and line settings are left as found).
  Pl011(Io io, const Config& cfg) : io_(io), clock_hz_(cfg.clock_hz) {}

  /// Waits (bounded) for the transmitter to drain, masks and clears every
  /// interrupt and enables the UART, transmitter and receiver. With a known clock it
  /// first programs 115200 8N1 with FIFOs on; otherwise it keeps the line settings
  /// and the other UARTCR bits the crashed kernel left.
  /// Returns kOutOfRange, before touching the device, if clock_hz cannot give
  /// 115200 baud. A transmitter that stays busy does not fail Init: the wait gives
  /// up and the device is set up anyway.
  Status Init() {
    uint64_t divisor = 0;
    if (clock_hz_ != 0) {
      divisor = pl011::BaudDivisor64(clock_hz_, pl011::kBaudRate);
      // The divisor must be 1 .. 0xffff + 0/64: UARTIBRD = 0 is invalid, and with
      // UARTIBRD = 0xffff UARTFBRD must be 0 (§3.3.6).
      if (divisor < (1u << 6) || divisor > (uint64_t{pl011::Ibrd::kDivInt} << 6)) {
        return Status(Error::kOutOfRange, "pl011: clock-frequency cannot give 115200 baud");
      }
    }

    // The crashed kernel may be mid-transfer: let its last bytes (often the panic
    // message) out before reconfiguring; the §3.3.8 reprogramming sequence also
    // waits for the current character.
    (void)WaitForFlagsClear(pl011::Fr::kBusy);
    io_.Write32(pl011::Imsc::kOffset, pl011::Imsc::kNone);
    io_.Write32(pl011::Icr::kOffset, pl011::Icr::kAll);

    constexpr uint32_t kEnable = pl011::Cr::kUarten | pl011::Cr::kTxe | pl011::Cr::kRxe;
    if (clock_hz_ == 0) {
      io_.Write32(pl011::Cr::kOffset, io_.Read32(pl011::Cr::kOffset) | kEnable);
      // FIFOs as the kernel left them: without FEN the transmitter holds one byte.
      burst_ = (io_.Read32(pl011::LcrH::kOffset) & pl011::LcrH::kFen) ? kFifoBurst : 1;
      return Status::Ok();
    }
    // Disable before reprogramming (§3.3.8); UARTLCR_H last, as it latches the
    // divisors (§3.3.7).
    io_.Write32(pl011::Cr::kOffset, 0);
    io_.Write32(pl011::Ibrd::kOffset, static_cast<uint32_t>(divisor >> 6));
    io_.Write32(pl011::Fbrd::kOffset, static_cast<uint32_t>(divisor) & pl011::Fbrd::kDivFrac);
    io_.Write32(pl011::LcrH::kOffset, pl011::LcrH::kWlen8 | pl011::LcrH::kFen);
    io_.Write32(pl011::Cr::kOffset, kEnable);
    burst_ = kFifoBurst;
    return Status::Ok();
  }

  /// Waits for room in the transmit FIFO and sends `c`. If there is still no room
  /// after kPollLimit polls the byte is dropped, so a dead UART cannot hang the caller.
  void PutChar(char c) {
    if (!WaitForFlagsClear(pl011::Fr::kTxff)) return;
    io_.Write32(pl011::Dr::kOffset, static_cast<uint8_t>(c));
  }

  /// Sends `bytes`: each time the transmit FIFO is empty (TXFE), up to kFifoBurst bytes
  /// without reading UARTFR in between, one flag read per burst instead of per byte.
  /// Bytes that find no room within kPollLimit polls are dropped.
  void PutBytes(std::span<const uint8_t> bytes) {
    size_t i = 0;
    while (i < bytes.size()) {
      if (!WaitForFlagsSet(pl011::Fr::kTxfe)) return;
      const size_t n = bytes.size() - i < burst_ ? bytes.size() - i : burst_;
      for (size_t k = 0; k < n; ++k) io_.Write32(pl011::Dr::kOffset, bytes[i + k]);
      i += n;
    }
  }

  /// Waits (at most kPollLimit polls) until the last byte has left the shift register.
  void Flush() { (void)WaitForFlagsClear(pl011::Fr::kBusy); }

  static constexpr const char* Name() { return "pl011"; }
  /// The devicetree `compatible` strings of this register interface (Linux
  /// bindings/serial/pl011.yaml).
  static constexpr std::array<std::string_view, 1> kCompatibles = {"arm,pl011"};

 private:
  /// True once every bit of `mask` reads 0 in UARTFR; false after kPollLimit reads.
  bool WaitForFlagsClear(uint32_t mask) {
    for (uint32_t i = 0; i < kPollLimit; ++i) {
      if ((io_.Read32(pl011::Fr::kOffset) & mask) == 0) return true;
    }
    return false;
  }

  /// True once every bit of `mask` reads 1 in UARTFR; false after kPollLimit reads.
  bool WaitForFlagsSet(uint32_t mask) {
    for (uint32_t i = 0; i < kPollLimit; ++i) {
      if ((io_.Read32(pl011::Fr::kOffset) & mask) == mask) return true;
    }
    return false;
  }

  /// Bytes an empty FIFO takes: 16 on every PL011 revision (r1p5 has 32).
  static constexpr size_t kFifoBurst = 16;

  Io io_;
  uint32_t clock_hz_;
  size_t burst_ = 1;  ///< kFifoBurst with FIFOs on (UARTLCR_H.FEN), else 1.
};

}  // namespace salvage::uart
