// salvage::devices — the drivers::Clock the image gives drivers that wait: the CPU's
// free-running counter (arch/include/salvage/arch/timer.h).
#pragma once

#include <cstdint>

#include <salvage/arch/timer.h>
#include <salvage/drivers/clock.h>

namespace salvage::devices {

/// Microseconds from arch::Ticks(). When the counter's rate is unknown (TicksPerSecond()
/// is 0) time advances by 1 us per NowMicros() call instead, so every driver timeout
/// still ends (after that many polls).
class ArchClock {
 public:
  uint64_t NowMicros() {
    if (arch::TicksPerSecond() == 0) return ++calls_;
    return arch::MicrosBetween(0, arch::Ticks());
  }
  void DelayMicros(uint32_t us) {
    const uint64_t end = NowMicros() + us;
    while (NowMicros() < end) {
    }
  }

 private:
  uint64_t calls_ = 0;
};
static_assert(drivers::Clock<ArchClock>);

}  // namespace salvage::devices
