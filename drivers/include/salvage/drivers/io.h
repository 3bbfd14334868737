// salvage::drivers — the IO contract every register-level driver is written over.
//
// A driver is a template over an `Io` type. On a board, Io is an MMIO window from the
// runtime (arch accessors + a base address from the DTB, barriers inside); in
// host-tests it is a fake register file that checks what the driver did. Drivers
// never include arch headers: this concept is all they know of the machine.
#pragma once

#include <concepts>
#include <cstdint>

namespace salvage::drivers {

/// Register access at byte offsets from a device's base.
///   Read8/Read32(offset) -> value, Write8/Write32(offset, value).
/// Accesses are in program order with respect to each other and to memory (the
/// implementation puts the barriers in).
template <class T>
concept Io = requires(T io, uint32_t offset, uint8_t v8, uint32_t v32) {
  { io.Read8(offset) } -> std::same_as<uint8_t>;
  { io.Read32(offset) } -> std::same_as<uint32_t>;
  io.Write8(offset, v8);
  io.Write32(offset, v32);
};

}  // namespace salvage::drivers
