// salvage::uart::Ns16550 — polled transmit driver for the 8250/16550 UART family.
//
// Follows the TI PC16550D datasheet (SNLS378C): its register summary and the
// register descriptions after it. Covers QEMU's ns16550a (riscv64 virt:
// reg-shift 0, 8-bit access) and the DesignWare APB UART (dw-apb-uart, e.g.
// reg-shift 2, reg-io-width 4), whose registers are the 16550's spread out and
// accessed as 32-bit words.
//
// Written for a crash console. Init() assumes nothing about the state the crashed
// kernel left (bytes still in the FIFO, interrupts on, DLAB left set), and no wait
// on the hardware is unbounded.
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
namespace ns16550 {

// Registers by index, as in the datasheet's register summary; register i is at
// byte offset i << reg_shift. All are 8 bits wide.

/// RBR (read) / THR (write): receiver buffer / transmitter holding register. DLAB=0.
struct Thr {
  static constexpr uint8_t kIndex = 0;
};

/// DLL / DLM: divisor latch, least / most significant byte. DLAB=1.
struct Dll {
  static constexpr uint8_t kIndex = 0;
};
struct Dlm {
  static constexpr uint8_t kIndex = 1;
};

/// IER, interrupt enable register. DLAB=0.
struct Ier {
  static constexpr uint8_t kIndex = 1;
  static constexpr uint8_t kNone = 0;  ///< 0 ERBFI, 1 ETBEI, 2 ELSI, 3 EDSSI all off; 7:4 are 0.
};

/// FCR, FIFO control register. Write only (reads at this index give IIR).
struct Fcr {
  static constexpr uint8_t kIndex = 2;
  static constexpr uint8_t kFifoEnable = 1u << 0;  ///< 0 FIFO enable.
  static constexpr uint8_t kRxReset = 1u << 1;     ///< 1 RCVR FIFO reset (self-clearing).
  static constexpr uint8_t kTxReset = 1u << 2;     ///< 2 XMIT FIFO reset (self-clearing).
  // 3 DMA mode select, 5:4 Reserved, 7:6 RCVR trigger level: left 0.
};

/// LCR, line control register.
struct Lcr {
  static constexpr uint8_t kIndex = 3;
  static constexpr uint8_t kWordLength8 = 0b11u;  ///< 1:0 WLS = 0b11: 8 data bits.
  static constexpr uint8_t kDlab = 1u << 7;       ///< 7 DLAB: divisor latch access.
  // 2 STB = 0: 1 stop bit; 3 PEN = 0: no parity; 4 EPS, 5 stick parity, 6 set break: 0.
};

/// MCR, modem control register.
struct Mcr {
  static constexpr uint8_t kIndex = 4;
  static constexpr uint8_t kDtr = 1u << 0;  ///< 0 DTR.
  static constexpr uint8_t kRts = 1u << 1;  ///< 1 RTS.
  // 2 OUT1, 3 OUT2, 4 LOOP: 0 (loopback off); 7:5 are 0.
};

/// LSR, line status register. Read only.
struct Lsr {
  static constexpr uint8_t kIndex = 5;
  static constexpr uint8_t kThre = 1u << 5;  ///< 5 THRE: THR / TX FIFO empty, room for a byte.
  static constexpr uint8_t kTemt = 1u << 6;  ///< 6 TEMT: THR and shift register both empty.
  // 0 DR, 1 OE, 2 PE, 3 FE, 4 BI, 7 error in RCVR FIFO.
};

/// The line the driver programs when it knows the clock: 115200 baud, 8N1.
inline constexpr uint32_t kBaudRate = 115200;

/// The divisor latch value: clock / (16 * baud) (datasheet, "Programmable Baud
/// Generator"), rounded to nearest. The latch is 16 bits; 0 is not a valid divisor.
constexpr uint32_t BaudDivisor(uint32_t clock_hz, uint32_t baud) {
  return static_cast<uint32_t>((uint64_t{clock_hz} + 8ull * baud) / (16ull * baud));
}
static_assert(BaudDivisor(1'843'200, kBaudRate) == 1);
static_assert(BaudDivisor(24'000'000, kBaudRate) == 13);

/// Largest reg_shift accepted; DT bindings use 0 or 2.
inline constexpr uint8_t kMaxRegShift = 8;

}  // namespace ns16550

/// Polled 8250/16550 driver over register window `Io`; satisfies `uart::Uart`.
template <drivers::Io Io>
class Ns16550 {
 public:
  /// Reads of LSR before a wait gives up. One character at 115200 baud lasts about
  /// 87 us; a million register reads is well beyond that on any core.
  static constexpr uint32_t kPollLimit = 1'000'000;

  /// `io` addresses the device's registers. Of `cfg`: clock_hz (0 when unknown:
  /// then the divisor latch is left as found), reg_shift, reg_io_width (1 or 4).
  Ns16550(Io io, const Config& cfg)
      : io_(io),
        clock_hz_(cfg.clock_hz),
        reg_shift_(cfg.reg_shift),
        wide_(cfg.reg_io_width == 4),
        usable_((cfg.reg_io_width == 1 || cfg.reg_io_width == 4) &&
                cfg.reg_shift <= ns16550::kMaxRegShift) {}

  /// Waits (bounded) for the transmitter to drain, turns off every interrupt, sets
  /// 8N1 (and 115200 baud when the clock is known), resets and enables the FIFOs,
  /// and raises DTR and RTS with loopback off.
  /// Returns, before touching the device: kUnsupported if reg_io_width is not 1 or 4
  /// or reg_shift exceeds kMaxRegShift; kOutOfRange if clock_hz cannot give 115200
  /// baud. A transmitter that never drains does not fail Init.
  Status Init() {
    if (!usable_) {
      return Status(Error::kUnsupported, "ns16550: reg-io-width not 1 or 4, or reg-shift too large");
    }
    uint32_t divisor = 0;
    if (clock_hz_ != 0) {
      divisor = ns16550::BaudDivisor(clock_hz_, ns16550::kBaudRate);
      if (divisor == 0 || divisor > 0xffff) {
        return Status(Error::kOutOfRange, "ns16550: clock-frequency cannot give 115200 baud");
      }
    }

    // Let the crashed kernel's last bytes out: the FIFO reset below would drop them.
    (void)WaitForLsr(ns16550::Lsr::kTemt);
    // LCR first: if the kernel left DLAB set, index 1 is DLM, not IER.
    constexpr uint8_t k8n1 = ns16550::Lcr::kWordLength8;
    Write(ns16550::Lcr::kIndex, k8n1);
    Write(ns16550::Ier::kIndex, ns16550::Ier::kNone);
    if (clock_hz_ != 0) {
      Write(ns16550::Lcr::kIndex, ns16550::Lcr::kDlab | k8n1);
      Write(ns16550::Dll::kIndex, static_cast<uint8_t>(divisor & 0xff));
      Write(ns16550::Dlm::kIndex, static_cast<uint8_t>(divisor >> 8));
      Write(ns16550::Lcr::kIndex, k8n1);
    }
    Write(ns16550::Fcr::kIndex,
          ns16550::Fcr::kFifoEnable | ns16550::Fcr::kRxReset | ns16550::Fcr::kTxReset);
    Write(ns16550::Mcr::kIndex, ns16550::Mcr::kDtr | ns16550::Mcr::kRts);
    // IIR bits 7:6 read 11 when the FIFOs are on: a 16550A (or later) with a
    // 16-byte transmit FIFO. An 8250/16450 has none: one byte at a time.
    burst_ = (Read(kIirIndex) & kIirFifosEnabled) == kIirFifosEnabled ? kFifoBurst : 1;
    return Status::Ok();
  }

  /// Sends `bytes`: each time the transmitter is empty (THRE), up to a FIFO's worth
  /// without reading LSR in between. Bytes that find no room within kPollLimit polls
  /// are dropped.
  void PutBytes(std::span<const uint8_t> bytes) {
    if (!usable_) return;
    size_t i = 0;
    while (i < bytes.size()) {
      if (!WaitForLsr(ns16550::Lsr::kThre)) return;
      const size_t n = bytes.size() - i < burst_ ? bytes.size() - i : burst_;
      for (size_t k = 0; k < n; ++k) Write(ns16550::Thr::kIndex, bytes[i + k]);
      i += n;
    }
  }

  /// Waits for room in the transmitter and sends `c`. If there is still no room
  /// after kPollLimit polls the byte is dropped, so a dead UART cannot hang the caller.
  void PutChar(char c) {
    if (!usable_ || !WaitForLsr(ns16550::Lsr::kThre)) return;
    Write(ns16550::Thr::kIndex, static_cast<uint8_t>(c));
  }

  /// Waits (at most kPollLimit polls) until the last byte has left the shift register.
  void Flush() {
    if (usable_) (void)WaitForLsr(ns16550::Lsr::kTemt);
  }

  static constexpr const char* Name() { return "ns16550"; }
  /// The devicetree `compatible` strings of this register interface (Linux
  /// bindings/serial/8250.yaml, snps-dw-apb-uart.yaml).
  static constexpr std::array<std::string_view, 3> kCompatibles = {"ns16550a", "ns16550", "snps,dw-apb-uart"};

 private:
  uint32_t Offset(uint8_t index) const { return uint32_t{index} << reg_shift_; }

  uint8_t Read(uint8_t index) {
    if (wide_) return static_cast<uint8_t>(io_.Read32(Offset(index)));
    return io_.Read8(Offset(index));
  }

  void Write(uint8_t index, uint8_t value) {
    if (wide_) {
      io_.Write32(Offset(index), value);
    } else {
      io_.Write8(Offset(index), value);
    }
  }

  /// True once every bit of `mask` reads 1 in LSR; false after kPollLimit reads.
  bool WaitForLsr(uint8_t mask) {
    for (uint32_t i = 0; i < kPollLimit; ++i) {
      if ((Read(ns16550::Lsr::kIndex) & mask) == mask) return true;
    }
    return false;
  }

  static constexpr uint8_t kIirIndex = 2;            ///< IIR (read) shares offset 2 with FCR (write).
  static constexpr uint8_t kIirFifosEnabled = 0xc0;  ///< 7:6 FIFOs enabled.
  static constexpr size_t kFifoBurst = 16;

  Io io_;
  uint32_t clock_hz_;
  size_t burst_ = 1;  ///< kFifoBurst when IIR shows the FIFOs on, else 1.
  uint8_t reg_shift_;
  bool wide_;    ///< 32-bit accesses (reg-io-width 4), else 8-bit.
  bool usable_;  ///< The Config describes an access pattern this driver can do.
};

}  // namespace salvage::uart
