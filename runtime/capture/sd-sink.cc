// The SD sink: every SD host controller candidate in DT order (or the one
// salvage.sink=sd@ADDR names); the first whose card comes up gets the dump, and once a
// card came up its result is final: never a second card.
#include <salvage/console/console.h>
#include <salvage/devices/clock.h>
#include <salvage/devices/mmio.h>
#include <salvage/devices/sd-binding.h>
#include <salvage/sd/all.h>
#include <salvage/sd/card.h>

#include "block-emit.h"
#include "debug.h"
#include "sinks.h"

namespace salvage::capture {
namespace {

// One SD controller: brings its card up and writes the dump (*tried set: the result is
// the dump's), or prints and returns why the card did not come up (*tried stays false).
template <class HostT>
Status TrySdCard(HostT host, const devices::SdChoice& c, const char* path, devices::ArchClock& clock,
                 const CaptureInput& in, const CapturePlan& plan, bool* tried) {
  sd::SdCard<HostT, devices::ArchClock> card(host, clock);
  if (in.options->debug_sd_busy) debug::AbandonSdWrite(card, HostT::Name());
  Status s = card.Init();
  if (!s.ok()) {
    console::Printf("salvage: sd: %s at 0x%llx (%s): %s\n", c.name,
                    static_cast<unsigned long long>(c.base), path, s.what());
    return s;
  }
  *tried = true;
  const sd::CardInfo& info = card.info();
  console::Printf("salvage: sd: %s at 0x%llx (%s): %s card \"%s\", %llu MiB (CSD %u.0, %s addressing), "
                  "%u-bit bus at %u kHz, RCA 0x%04x\n",
                  c.name, static_cast<unsigned long long>(c.base), path,
                  info.high_capacity ? "SDHC/SDXC" : "SDSC", info.product,
                  static_cast<unsigned long long>(card.SectorCount() >> 11), static_cast<unsigned>(info.csd_structure + 1),
                  info.high_capacity ? "block" : "byte", static_cast<unsigned>(info.bus_width),
                  static_cast<unsigned>(info.clock_hz / 1000), static_cast<unsigned>(info.rca));
  s = EmitToBlockDevice(card, in, plan);
  if (card.info().retries != 0) {
    console::Printf("salvage: sd: %u transfers were retried, %u re-initialisations\n",
                    static_cast<unsigned>(card.info().retries), static_cast<unsigned>(card.info().inits - 1));
  }
  return s;
}

}  // namespace

Status EmitToSd(const CaptureInput& in, const CapturePlan& plan) {
  if (in.options->debug_sd_pins_sdhost) debug::RouteSdPinsToSdhost(*in.tree);
  devices::SdChoice choices[devices::kMaxSdControllers];
  SALVAGE_ASSIGN_OR_RETURN(size_t n, devices::FindSdControllers(*in.tree, in.options->sink_address, choices));
  static devices::ArchClock clock;
  Status last;
  for (size_t i = 0; i < n; ++i) {
    const devices::SdChoice& c = choices[i];
    char path[96];
    in.tree->NodePath(c.node, path, sizeof(path));
    bool initialised = false;
    drivers::WithDriverType<devices::AnySdHost>(c.host, [&]<class H>(std::type_identity<H>) {
      last = TrySdCard(H(devices::Mmio(c.base), clock, c.ConfigFor<H>()), c, path, clock, in, plan, &initialised);
    });
    if (initialised) return last;
  }
  return last;
}

}  // namespace salvage::capture
