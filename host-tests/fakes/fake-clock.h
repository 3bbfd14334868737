// salvage::testing — a fake drivers::Clock (test-only).
//
// Time moves by 1 us on every NowMicros() call (as a real counter moves while a driver
// polls, so every deadline ends) and by `us` on DelayMicros(us). Tests and fake devices
// read now() to check what happened when.
#pragma once

#include <cstdint>

#include <salvage/drivers/clock.h>

namespace salvage::testing {

class FakeClock {
 public:
  uint64_t NowMicros() { return now_++; }
  void DelayMicros(uint32_t us) {
    now_ += us;
    delayed_ += us;
  }
  /// Current time without moving it.
  uint64_t now() const { return now_; }
  /// Microseconds spent in DelayMicros.
  uint64_t delayed() const { return delayed_; }
  void Advance(uint64_t us) { now_ += us; }

 private:
  uint64_t now_ = 0;
  uint64_t delayed_ = 0;
};
static_assert(drivers::Clock<FakeClock>);

}  // namespace salvage::testing
