// The purgatory: what runs between the crashed kernel and the salvage image. It checks
// the SHA-256 of every segment the loader placed (a stray write into the reservation
// before the crash must not send the machine into garbage), then returns so that
// <arch>/entry.S sets the boot registers and jumps. On a mismatch it names the damaged
// segment on the console and stops: it never jumps.
//
// Runs with the MMU off, from wherever the loader put it (self-relocated like the image),
// with nothing but its own stack. Uses the UART drivers over plain volatile accesses.
#include <cstddef>
#include <cstdint>
#include <span>

#include <salvage/base/sha256.h>
#include <salvage/purgatory/params.h>
#include <salvage/uart/bcm2835-aux.h>
#include <salvage/uart/ns16550.h>
#include <salvage/uart/pl011.h>

namespace salvage::purgatory {
namespace {

// Register access for the console: single loads and stores. No barriers are needed
// with the MMU off (all accesses are strongly ordered / device memory).
struct RawIo {
  uintptr_t base;
  uint8_t Read8(uint32_t off) { return *reinterpret_cast<volatile uint8_t*>(base + off); }
  uint32_t Read32(uint32_t off) { return *reinterpret_cast<volatile uint32_t*>(base + off); }
  void Write8(uint32_t off, uint8_t v) { *reinterpret_cast<volatile uint8_t*>(base + off) = v; }
  void Write32(uint32_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(base + off) = v; }
};

void Put(const Params& p, const char* s) {
  const uart::Config cfg{p.console_base, 0, p.console_reg_shift, p.console_reg_io_width};
  RawIo io{static_cast<uintptr_t>(p.console_base)};
  for (; *s; ++s) {
    if (p.console_kind == 1) {
      uart::Pl011<RawIo> u(io, cfg);
      if (*s == '\n') u.PutChar('\r');
      u.PutChar(*s);
    } else if (p.console_kind == 2) {
      uart::Ns16550<RawIo> u(io, cfg);
      if (*s == '\n') u.PutChar('\r');
      u.PutChar(*s);
    } else if (p.console_kind == 3) {
      // The Raspberry Pi's mini UART, as the crashed kernel left it (aux_base 0: the
      // AUX enable bits are not touched).
      uart::MiniUart<RawIo> u(io, io, cfg);
      if (*s == '\n') u.PutChar('\r');
      u.PutChar(*s);
    }
  }
}

void PutHex(const Params& p, uint64_t v) {
  char buf[19] = {'0', 'x'};
  for (int i = 0; i < 16; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  buf[18] = 0;
  Put(p, buf);
}

[[noreturn]] void Stop() {
  for (;;) {
#if defined(__riscv)
    __asm__ volatile("wfi");
#else
    __asm__ volatile("wfe");
#endif
  }
}

}  // namespace
}  // namespace salvage::purgatory

/// Called by purgatory/<arch>/entry.S. Returns only when every segment is intact.
extern "C" void PurgatoryMain() {
  using namespace salvage::purgatory;
  const Params& p = purgatory_params;
  bool ok_magic = p.version == kVersion;
  for (size_t i = 0; i < kMagic.size(); ++i) ok_magic = ok_magic && p.magic[i] == kMagic[i];
  if (!ok_magic || p.segment_count > kMaxSegments || p.entry == 0) {
    Put(p, "\npurgatory: the parameter block was not filled in by a loader; not jumping\n");
    Stop();
  }
  bool damaged = false;
  for (uint32_t i = 0; i < p.segment_count; ++i) {
    const Segment& s = p.segments[i];
    const auto digest = salvage::Sha256::Hash(reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(s.address)),
                                              static_cast<size_t>(s.size));
    bool same = true;
    for (int b = 0; b < 32; ++b) same = same && digest[b] == s.sha256[b];
    if (!same) {
      Put(p, "\npurgatory: segment ");
      PutHex(p, i);
      Put(p, " at ");
      PutHex(p, s.address);
      Put(p, " (");
      PutHex(p, s.size);
      Put(p, " bytes) is damaged: its SHA-256 differs from what the loader recorded\n");
      damaged = true;
    }
  }
  if (damaged) {
    Put(p, "purgatory: something wrote into the crash reservation; not jumping into it\n");
    Stop();
  }
}
