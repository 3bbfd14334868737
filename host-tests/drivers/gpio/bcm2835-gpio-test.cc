// Tests for drivers/gpio/include/salvage/gpio/bcm2835-gpio.h: the GPFSEL read-modify-write
// sequence (BCM2835 ARM Peripherals §6.1), other pins' functions kept.
#include <salvage/gpio/bcm2835-gpio.h>

#include <gtest/gtest.h>

#include "fakes/fake-mmio.h"

namespace salvage::gpio {
namespace {

using bcm2835_gpio::Function;
using testing::FakeMmio;
using testing::FakeMmioScript;

constexpr uint32_t kGpfsel4 = 0x10;
constexpr uint32_t kGpfsel5 = 0x14;

TEST(Bcm2835GpioTest, SdSlotPinsToAlt0KeepOtherPins) {
  // The Pi's SD slot, pins 48-53, to ALT0 (the SDHOST), as Linux's pinctrl leaves them.
  FakeMmioScript script;
  script.ExpectRead32(0x09ffffff, kGpfsel4);   // pins 40-47 ALT3 (111), 48 and 49 output (001)
  script.ExpectWrite32(0x24ffffff, kGpfsel4);  // 48 and 49 ALT0 (100), 40-47 kept
  script.ExpectRead32(0xfffff249, kGpfsel5);   // pins 50-53 output, 54-59 bits set
  script.ExpectWrite32(0xfffff924, kGpfsel5);  // 50-53 ALT0, the rest kept
  Bcm2835Gpio<FakeMmio> gpio{FakeMmio(script)};
  EXPECT_TRUE(gpio.SetFunction(48, 53, Function::kAlt0).ok());
}

TEST(Bcm2835GpioTest, OnePinInOneRegister) {
  FakeMmioScript script;
  script.ExpectRead32(0x00000000, 0x00);
  script.ExpectWrite32(0x00000002 << 27, 0x00);  // pin 9 ALT5 (010): bits 29:27
  Bcm2835Gpio<FakeMmio> gpio{FakeMmio(script)};
  EXPECT_TRUE(gpio.SetFunction(9, 9, Function::kAlt5).ok());
}

TEST(Bcm2835GpioTest, PinsOutsideTheBlockAreRefusedUntouched) {
  FakeMmioScript script;  // no access expected
  Bcm2835Gpio<FakeMmio> gpio{FakeMmio(script)};
  EXPECT_EQ(gpio.SetFunction(50, 54, Function::kAlt0).error(), Error::kOutOfRange);
  EXPECT_EQ(gpio.SetFunction(5, 4, Function::kAlt0).error(), Error::kOutOfRange);
  EXPECT_STREQ(Bcm2835Gpio<FakeMmio>::Name(), "bcm2835-gpio");
}

}  // namespace
}  // namespace salvage::gpio
