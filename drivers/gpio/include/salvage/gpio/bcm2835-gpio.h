// salvage::gpio::Bcm2835Gpio — pin functions of the BCM2835 GPIO block (also in BCM2836,
// BCM2837 and, with the same function-select registers, BCM2711).
//
// "BCM2835 ARM Peripherals" §6.1: GPFSEL0..GPFSEL5 at 0x00..0x14 select each pin's
// function, ten pins per register, three bits per pin (pin n: register n / 10, bits
// 3 * (n % 10) + 2 .. 3 * (n % 10)); 000 input, 001 output, 100 ALT0, 101 ALT1, 110 ALT2,
// 111 ALT3, 011 ALT4, 010 ALT5. Pins 0..53.
//
// Freestanding: no heap, no exceptions; every access goes through `Io`, 32 bits wide,
// at offsets from the node's first reg entry.
#pragma once

#include <cstdint>

#include <salvage/base/status.h>
#include <salvage/drivers/io.h>

namespace salvage::gpio {
namespace bcm2835_gpio {

/// GPFSELn: function select for pins 10n .. 10n + 9.
struct Gpfsel {
  static constexpr uint32_t kOffset0 = 0x00;
  static constexpr uint32_t kPinsPerRegister = 10;
  static constexpr uint32_t kBitsPerPin = 3;
  static constexpr uint32_t kFieldMask = 0b111;
};

inline constexpr uint32_t kPins = 54;

/// The FSEL field values (§6.1, table 6-2).
enum class Function : uint32_t {
  kInput = 0b000,
  kOutput = 0b001,
  kAlt0 = 0b100,
  kAlt1 = 0b101,
  kAlt2 = 0b110,
  kAlt3 = 0b111,
  kAlt4 = 0b011,
  kAlt5 = 0b010,
};

}  // namespace bcm2835_gpio

/// The BCM2835 GPIO block over register window `Io`.
template <drivers::Io Io>
class Bcm2835Gpio {
 public:
  explicit Bcm2835Gpio(Io io) : io_(io) {}

  /// Sets pins first..last (inclusive) to `function`: one read-modify-write of each
  /// GPFSEL register involved; the other pins keep theirs.
  /// Errors: kOutOfRange (last above 53, or first > last).
  Status SetFunction(uint32_t first, uint32_t last, bcm2835_gpio::Function function) {
    using bcm2835_gpio::Gpfsel;
    if (first > last || last >= bcm2835_gpio::kPins) {
      return Status(Error::kOutOfRange, "bcm2835-gpio: pin range outside 0..53");
    }
    for (uint32_t reg = first / Gpfsel::kPinsPerRegister; reg <= last / Gpfsel::kPinsPerRegister; ++reg) {
      const uint32_t offset = Gpfsel::kOffset0 + 4 * reg;
      uint32_t v = io_.Read32(offset);
      // Not unrolled: ten pins of straight-line code cost the image a kilobyte for a
      // call made once, and only by a debug option.
#pragma GCC unroll 1
      for (uint32_t pin = reg * Gpfsel::kPinsPerRegister; pin < (reg + 1) * Gpfsel::kPinsPerRegister; ++pin) {
        if (pin < first || pin > last) continue;
        const uint32_t shift = Gpfsel::kBitsPerPin * (pin % Gpfsel::kPinsPerRegister);
        v = (v & ~(Gpfsel::kFieldMask << shift)) | static_cast<uint32_t>(function) << shift;
      }
      io_.Write32(offset, v);
    }
    return Status::Ok();
  }

  static constexpr const char* Name() { return "bcm2835-gpio"; }

 private:
  Io io_;
};

}  // namespace salvage::gpio
