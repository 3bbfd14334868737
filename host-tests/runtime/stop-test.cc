// Tests for runtime/stop.h's PlanStop: which means salvage tries for each
// salvage.after= action, with and without PSCI and a reset device.
#include "stop.h"

#include <gtest/gtest.h>

namespace salvage::stop {
namespace {

using devices::ResetChoice;

constexpr ResetChoice kNoDevice{};
constexpr ResetChoice kPiWatchdog{devices::ResetDriverOf<reset::Bcm2835Pm>, 0x3f100000, 42, /*can_power_off=*/true};
constexpr ResetChoice kOldPiWatchdog{devices::ResetDriverOf<reset::Bcm2835Pm>, 0x3f100000, 42, /*can_power_off=*/false};

TEST(PlanStop, HaltIsAlwaysJustAHalt) {
  EXPECT_EQ(PlanStop(AfterAction::kHalt, true, kPiWatchdog), (Plan{false, false}));
  EXPECT_EQ(PlanStop(AfterAction::kHalt, false, kNoDevice), (Plan{false, false}));
}

TEST(PlanStop, FirmwareFirstThenTheResetDevice) {
  EXPECT_EQ(PlanStop(AfterAction::kReboot, true, kPiWatchdog), (Plan{true, true}));
  EXPECT_EQ(PlanStop(AfterAction::kPowerOff, true, kPiWatchdog), (Plan{true, true}));
  EXPECT_EQ(PlanStop(AfterAction::kReboot, true, kNoDevice), (Plan{true, false}));
}

TEST(PlanStop, RaspberryPiWithoutPsciUsesTheWatchdog) {
  EXPECT_EQ(PlanStop(AfterAction::kReboot, false, kPiWatchdog), (Plan{false, true}));
  EXPECT_EQ(PlanStop(AfterAction::kPowerOff, false, kPiWatchdog), (Plan{false, true}));
}

TEST(PlanStop, PowerOffNeedsASystemPowerController) {
  EXPECT_EQ(PlanStop(AfterAction::kPowerOff, false, kOldPiWatchdog), (Plan{false, false}));
  EXPECT_EQ(PlanStop(AfterAction::kReboot, false, kOldPiWatchdog), (Plan{false, true}));
}

TEST(PlanStop, NothingKnownHalts) {
  EXPECT_EQ(PlanStop(AfterAction::kPowerOff, false, kNoDevice), (Plan{false, false}));
  EXPECT_EQ(PlanStop(AfterAction::kReboot, false, kNoDevice), (Plan{false, false}));
}

}  // namespace
}  // namespace salvage::stop
