// salvage::drivers — the time contract drivers that wait are written over.
//
// A driver that must bound a wait in time (an SD card's power-up, a write the card is
// still programming) takes a `Clock` from its caller. On a board it reads the CPU's
// free-running counter (runtime/devices/clock.h); in host-tests it is a fake whose time
// moves only when the test, the fake device or the driver's own delays move it. Drivers
// never read arch timers themselves.
#pragma once

#include <concepts>
#include <cstdint>

namespace salvage::drivers {

/// Elapsed time and busy-waiting:
///   NowMicros()         microseconds since an arbitrary origin; never goes backwards.
///                       Where the counter's rate is unknown, it must still advance
///                       (e.g. by one per call), so that every timeout ends.
///   DelayMicros(us)     returns after at least `us` microseconds.
template <class T>
concept Clock = requires(T& c, uint32_t us) {
  { c.NowMicros() } -> std::same_as<uint64_t>;
  c.DelayMicros(us);
};

/// A deadline on a Clock: Expired() once `micros` have passed since construction.
template <Clock C>
class Deadline {
 public:
  Deadline(C& clock, uint64_t micros) : clock_(&clock), end_(clock.NowMicros() + micros) {}
  bool Expired() const { return clock_->NowMicros() >= end_; }

 private:
  C* clock_;
  uint64_t end_;
};

}  // namespace salvage::drivers
