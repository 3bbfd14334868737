// salvage::uart — the contract every UART driver meets, and the null UART.
#pragma once

#include <array>
#include <string_view>

#include <concepts>
#include <cstdint>
#include <span>

#include <salvage/base/status.h>

namespace salvage::uart {

/// Where a UART is and how it is wired. Filled by a binding in runtime/devices from a
/// DT node; a driver never sees the DTB.
struct Config {
  uint64_t base = 0;         ///< Physical base of the register block.
  uint32_t clock_hz = 0;     ///< Input clock, 0 when unknown (then the baud rate is left as found).
  uint8_t reg_shift = 0;     ///< Register i lives at base + (i << reg_shift) (8250 family).
  uint8_t reg_io_width = 1;  ///< Access width in bytes: 1 or 4 (8250 family).
  /// BCM2835 mini UART: physical base of the AUX block holding AUX_ENABLES (the
  /// `brcm,bcm2835-aux` node), 0 when unknown. Other drivers ignore it.
  uint64_t aux_base = 0;
};

/// A polled, transmit-first UART:
///   Init()        brings the device to a state where PutChar works, without losing
///                 the line settings the crashed kernel left when the clock is unknown;
///   PutChar(c)    waits for room in the transmitter and sends one byte;
///   PutBytes(b)   sends every byte of `b`, as fast as the transmitter takes them
///                 (a FIFO's worth per status read where the device has a FIFO);
///   Flush()       waits until every byte has left the transmitter.
///   Name()        the driver's short name ("pl011");
///   kCompatibles  the devicetree `compatible` strings of its register interface
///                 (uart/all.h builds the binding's table from them).
/// (Not `putc`: picolibc defines that name as a function-like macro.)
template <class T>
concept Uart = requires(T u, char c, std::span<const uint8_t> bytes) {
  { u.Init() } -> std::same_as<Status>;
  u.PutChar(c);
  u.PutBytes(bytes);
  u.Flush();
  { T::Name() } -> std::convertible_to<const char*>;
  { T::kCompatibles.size() } -> std::convertible_to<size_t>;
};

/// The console before one is found, or when none is: accepts and drops every byte.
class Null {
 public:
  Status Init() { return Status::Ok(); }
  void PutChar(char) {}
  void PutBytes(std::span<const uint8_t>) {}
  void Flush() {}
  static constexpr const char* Name() { return "none"; }
  static constexpr std::array<std::string_view, 0> kCompatibles{};
};
static_assert(Uart<Null>);

}  // namespace salvage::uart
