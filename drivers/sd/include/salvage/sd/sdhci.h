// salvage::sd::Sdhci — an SD Host Controller Interface controller, polled, PIO only;
// satisfies sd::Host.
//
// Follows the SD Specifications Part A2, SD Host Controller Simplified Specification
// 3.00: §2.2 the register map (names below are its names), §3.2 SD clock control,
// §3.3 SD bus power control, §3.7 issuing commands and data transfers without DMA,
// §3.10 error recovery (software reset for the CMD and DAT lines). And the BCM2835 ARM
// Peripherals document (2012), chapter 5 "External Mass Media Controller": the Arasan
// controller of the Raspberry Pi 1-3 (`brcm,bcm2835-sdhci`, EMMC at bus address
// 0x7e300000), which has the SDHCI layout with two differences that matter here:
//   - registers must be accessed 32 bits at a time (§5.1: "the EMMC module restricts
//     access to 32 bits"): so this driver only ever does 32-bit accesses, and writes
//     Transfer Mode together with Command (offset 0x0c) in one store, which also
//     starts the command;
//   - successive writes within two card clocks of each other may be lost while the
//     card clock is slow (Linux sdhci-iproc.c, "bugette"): Config::slow_writes makes
//     the driver wait four card clocks after each write while the clock is <= 400 kHz.
// The BCM2711's `brcm,bcm2711-emmc2` (Raspberry Pi 4's SD slot) is SDHCI 3.00 too.
//
// No DMA: data moves through the Buffer Data Port (offset 0x20), 32 bits at a time,
// Buffer Read/Write Ready per block (§3.7.2.1). Multi-block transfers use Block Count
// and Auto CMD12. No interrupts: the Normal/Error Interrupt Status Enable registers
// latch the statuses, the Signal Enable register stays 0, and the driver polls.
// Every wait is bounded by the caller's Clock.
#pragma once

#include <array>
#include <string_view>

#include <cstdint>

#include <salvage/base/byte-order.h>
#include <salvage/base/status.h>
#include <salvage/drivers/clock.h>
#include <salvage/drivers/io.h>
#include <salvage/sd/host.h>

namespace salvage::sd {
namespace sdhci {

/// Register offsets (§2.2, Table 2-1), as the 32-bit words this driver accesses. Where
/// one word holds several SDHCI registers, they are named low to high.
struct Reg {
  static constexpr uint32_t kArgument2 = 0x00;          ///< SDMA System Address / Argument 2 (unused).
  static constexpr uint32_t kBlockSizeCount = 0x04;     ///< Block Size (15:0), Block Count (31:16).
  static constexpr uint32_t kArgument = 0x08;           ///< Argument (Argument 1).
  static constexpr uint32_t kTransferModeCommand = 0x0c;///< Transfer Mode (15:0), Command (31:16).
  static constexpr uint32_t kResponse0 = 0x10;          ///< Response bits 39:8 of the response (R[39:8]).
  static constexpr uint32_t kResponse1 = 0x14;          ///< R[71:40].
  static constexpr uint32_t kResponse2 = 0x18;          ///< R[103:72].
  static constexpr uint32_t kResponse3 = 0x1c;          ///< R[127:104] (bits 23:0).
  static constexpr uint32_t kBufferData = 0x20;         ///< Buffer Data Port.
  static constexpr uint32_t kPresentState = 0x24;       ///< Present State.
  static constexpr uint32_t kHostControl = 0x28;        ///< Host Control 1 (7:0), Power Control (15:8),
                                                        ///< Block Gap Control (23:16), Wakeup Control (31:24).
  static constexpr uint32_t kClockControl = 0x2c;       ///< Clock Control (15:0), Timeout Control (23:16),
                                                        ///< Software Reset (31:24).
  static constexpr uint32_t kInterruptStatus = 0x30;    ///< Normal (15:0) and Error (31:16) Interrupt Status.
  static constexpr uint32_t kInterruptStatusEnable = 0x34;
  static constexpr uint32_t kInterruptSignalEnable = 0x38;
  static constexpr uint32_t kAutoCmdErrorHostControl2 = 0x3c;  ///< Auto CMD Error Status (15:0), Host Control 2 (31:16).
  static constexpr uint32_t kCapabilities = 0x40;       ///< Capabilities bits 31:0.
  static constexpr uint32_t kSlotStatusVersion = 0xfc;  ///< Slot Interrupt Status (15:0), Host Controller Version (31:16).
};

/// Transfer Mode (§2.2.5), bits 15:0 of word 0x0c.
struct TransferMode {
  static constexpr uint32_t kDmaEnable = 1u << 0;
  static constexpr uint32_t kBlockCountEnable = 1u << 1;
  static constexpr uint32_t kAutoCmd12 = 1u << 2;   ///< Auto CMD Enable (3:2) = 01b.
  static constexpr uint32_t kRead = 1u << 4;        ///< Data Transfer Direction: 1 = card to host.
  static constexpr uint32_t kMultiBlock = 1u << 5;
  // 15:6 reserved.
};

/// Command register (§2.2.6), bits 31:16 of word 0x0c, as positions in that word.
struct Command {
  static constexpr uint32_t kResponseNone = 0u << 16;     ///< Response Type Select (17:16).
  static constexpr uint32_t kResponse136 = 1u << 16;
  static constexpr uint32_t kResponse48 = 2u << 16;
  static constexpr uint32_t kResponse48Busy = 3u << 16;
  // 18 reserved.
  static constexpr uint32_t kCrcCheck = 1u << 19;         ///< Command CRC Check Enable.
  static constexpr uint32_t kIndexCheck = 1u << 20;       ///< Command Index Check Enable.
  static constexpr uint32_t kDataPresent = 1u << 21;      ///< Data Present Select.
  static constexpr uint32_t kTypeAbort = 3u << 22;        ///< Command Type (23:22) = 11b: CMD12 ending a transfer.
  static constexpr uint32_t kIndexShift = 24;             ///< Command Index (29:24). 31:30 reserved.
};

/// Present State (§2.2.9).
struct PresentState {
  static constexpr uint32_t kCommandInhibitCmd = 1u << 0;
  static constexpr uint32_t kCommandInhibitDat = 1u << 1;
  static constexpr uint32_t kDatLineActive = 1u << 2;
  static constexpr uint32_t kWriteTransferActive = 1u << 8;
  static constexpr uint32_t kReadTransferActive = 1u << 9;
  static constexpr uint32_t kBufferWriteEnable = 1u << 10;
  static constexpr uint32_t kBufferReadEnable = 1u << 11;
  static constexpr uint32_t kCardInserted = 1u << 16;
};

/// Host Control 1 (§2.2.10) and Power Control (§2.2.11), in word 0x28.
struct HostControl {
  static constexpr uint32_t kDataWidth4 = 1u << 1;        ///< Data Transfer Width: 4-bit.
  static constexpr uint32_t kHighSpeed = 1u << 2;
  static constexpr uint32_t kDmaSelectMask = 3u << 3;     ///< 00b: SDMA (unused: DMA is never enabled).
  static constexpr uint32_t kExtendedWidth8 = 1u << 5;
  static constexpr uint32_t kBusPower = 1u << 8;          ///< SD Bus Power.
  static constexpr uint32_t kVoltage33 = 7u << 9;         ///< SD Bus Voltage Select (11:9) = 111b: 3.3 V.
  // Block Gap Control (23:16) and Wakeup Control (31:24): always written 0.
};

/// Clock Control (§2.2.14), Timeout Control (§2.2.15), Software Reset (§2.2.16), word 0x2c.
struct ClockControl {
  static constexpr uint32_t kInternalClockEnable = 1u << 0;
  static constexpr uint32_t kInternalClockStable = 1u << 1;
  static constexpr uint32_t kSdClockEnable = 1u << 2;
  // 4:3 reserved; 5 Clock Generator Select (0: divided clock).
  static constexpr uint32_t kDividerHighShift = 6;        ///< Upper bits of the 10-bit divider (7:6).
  static constexpr uint32_t kDividerLowShift = 8;         ///< SDCLK Frequency Select (15:8).
  static constexpr uint32_t kTimeoutShift = 16;           ///< Data Timeout Counter Value (19:16).
  static constexpr uint32_t kTimeoutMax = 0xe;            ///< TMCLK x 2^27, the largest.
  static constexpr uint32_t kResetAll = 1u << 24;
  static constexpr uint32_t kResetCmd = 1u << 25;
  static constexpr uint32_t kResetDat = 1u << 26;
};

/// Normal (15:0) and Error (31:16) Interrupt Status (§2.2.17, §2.2.18); the same bits in
/// the Status Enable and Signal Enable registers. Write 1 to clear.
struct Interrupt {
  static constexpr uint32_t kCommandComplete = 1u << 0;
  static constexpr uint32_t kTransferComplete = 1u << 1;
  static constexpr uint32_t kBlockGap = 1u << 2;
  static constexpr uint32_t kDma = 1u << 3;
  static constexpr uint32_t kBufferWriteReady = 1u << 4;
  static constexpr uint32_t kBufferReadReady = 1u << 5;
  static constexpr uint32_t kCardInsertion = 1u << 6;
  static constexpr uint32_t kCardRemoval = 1u << 7;
  static constexpr uint32_t kCardInterrupt = 1u << 8;
  static constexpr uint32_t kErrorInterrupt = 1u << 15;   ///< Any bit of 31:16 set.
  static constexpr uint32_t kCommandTimeout = 1u << 16;
  static constexpr uint32_t kCommandCrc = 1u << 17;
  static constexpr uint32_t kCommandEndBit = 1u << 18;
  static constexpr uint32_t kCommandIndex = 1u << 19;
  static constexpr uint32_t kDataTimeout = 1u << 20;
  static constexpr uint32_t kDataCrc = 1u << 21;
  static constexpr uint32_t kDataEndBit = 1u << 22;
  static constexpr uint32_t kCurrentLimit = 1u << 23;
  static constexpr uint32_t kAutoCmd = 1u << 24;
  static constexpr uint32_t kAdma = 1u << 25;
  static constexpr uint32_t kErrors = 0xffffu << 16;
  /// What the driver latches (Status Enable): command/transfer complete, buffer ready,
  /// every error from command timeout to Auto CMD. (Bit 15 of the enable is fixed 0.)
  static constexpr uint32_t kEnabled = kCommandComplete | kTransferComplete | kBufferWriteReady | kBufferReadReady |
                                       kCommandTimeout | kCommandCrc | kCommandEndBit | kCommandIndex |
                                       kDataTimeout | kDataCrc | kDataEndBit | kCurrentLimit | kAutoCmd;
};
static_assert(Interrupt::kEnabled == 0x01ff0033);

/// Host Controller Version (§2.2.34), bits 23:16 of word 0xfc: the spec version.
struct Version {
  static constexpr uint32_t kSpecShift = 16;
  static constexpr uint32_t kSpec100 = 0, kSpec200 = 1, kSpec300 = 2;
};

/// Capabilities (§2.2.25): Base Clock Frequency for SD Clock, in MHz; bits 13:8 before
/// 3.00, bits 15:8 from 3.00. 0: "get the information via another method".
constexpr uint32_t BaseClockMhz(uint32_t capabilities, uint32_t spec) {
  return (capabilities >> 8) & (spec >= Version::kSpec300 ? 0xffu : 0x3fu);
}

/// The Clock Control divider field for a card clock of at most `hz` from `base_hz`, and
/// the clock it gives (§2.2.14). 3.00: 10-bit divided clock mode, f = base / (2N) (N = 0:
/// base). Before 3.00: 8-bit, f = base / (2 * field), field a power of 2 (0: base).
struct Divider {
  uint32_t field = 0;   ///< Bits 15:6 of Clock Control as they are written.
  uint32_t hz = 0;      ///< The resulting card clock.
};
constexpr Divider ChooseDivider(uint32_t base_hz, uint32_t hz, uint32_t spec) {
  Divider d;
  if (hz >= base_hz) {
    d.hz = base_hz;
    return d;
  }
  if (spec >= Version::kSpec300) {
    uint32_t n = (base_hz + 2 * hz - 1) / (2 * hz);  // smallest N with base / 2N <= hz
    if (n > 0x3ff) n = 0x3ff;
    d.field = ((n & 0xff) << ClockControl::kDividerLowShift) | ((n >> 8) << ClockControl::kDividerHighShift);
    d.hz = base_hz / (2 * n);
    return d;
  }
  uint32_t field = 1;
  while (field < 0x80 && base_hz / (2 * field) > hz) field <<= 1;
  d.field = field << ClockControl::kDividerLowShift;
  d.hz = base_hz / (2 * field);
  return d;
}
static_assert(ChooseDivider(250'000'000, 400'000, Version::kSpec300).hz <= 400'000);
static_assert(ChooseDivider(250'000'000, 25'000'000, Version::kSpec300).hz == 25'000'000);
static_assert(ChooseDivider(52'000'000, 400'000, Version::kSpec200).hz <= 400'000);

}  // namespace sdhci

/// How an SDHCI controller is set up; filled by the runtime's binding from the DTB.
struct SdhciConfig {
  /// Base clock (SDCLK before the divider) in Hz. 0: the Capabilities register's Base
  /// Clock Frequency, and `fallback_base_clock_hz` where that is 0 too.
  uint32_t base_clock_hz = 0;
  /// Used when neither the binding nor the Capabilities register know the base clock:
  /// an upper bound, so the card clock is never faster than asked.
  uint32_t fallback_base_clock_hz = 250'000'000;
  uint32_t bus_width = 4;          ///< Data lines wired to the card (DT `bus-width`): 1 or 4.
  bool card_detect = true;         ///< Present State's Card Inserted means something (not on BCM2835).
  bool slow_writes = false;        ///< BCM2835: wait 4 card clocks after a write while the clock is <= 400 kHz.
  uint32_t command_timeout_us = 500'000;   ///< Command Complete (the controller's own timeout is 64 clocks).
  uint32_t data_timeout_us = 2'000'000;    ///< Each Buffer Ready, and Transfer Complete (busy after a write).
  uint32_t reset_timeout_us = 150'000;     ///< Software Reset and Internal Clock Stable.
};

/// An SDHCI controller at `Io`, timed by `C`.
template <drivers::Io IoT, drivers::Clock C>
class Sdhci {
 public:
  Sdhci(IoT io, C& clock, SdhciConfig config = {}) : io_(io), clock_(&clock), config_(config) {}

  static constexpr const char* Name() { return "sdhci"; }
  using Config = SdhciConfig;
  /// The devicetree `compatible` strings salvage drives with this driver (Linux
  /// bindings/mmc/brcm,sdhci-iproc.yaml; "brcm,bcm2835-mmc" is the Raspberry Pi
  /// downstream kernels' name for the BCM2835's Arasan controller).
  static constexpr std::array<std::string_view, 3> kCompatibles = {"brcm,bcm2835-sdhci", "brcm,bcm2835-mmc",
                                                                   "brcm,bcm2711-emmc2"};
  static constexpr const char* StatusName() { return "INT_STATUS"; }
  /// Block Count is 16 bits (§2.2.3).
  static constexpr uint32_t kMaxBlocks = 65535;

  /// Software Reset For All (§2.2.16), then bus power at 3.3 V, 1-bit bus, statuses
  /// latched and not signalled, all cleared; the card clock stays off. Reads the spec
  /// version and the base clock. kTimeout if the reset does not complete;
  /// kUnsupported if the base clock is unknown.
  Status Reset() {
    clock_hz_ = 0;
    Write(sdhci::Reg::kClockControl, sdhci::ClockControl::kResetAll);
    if (!WaitFor([&] { return (io_.Read32(sdhci::Reg::kClockControl) & sdhci::ClockControl::kResetAll) == 0; },
                 config_.reset_timeout_us)) {
      return Status(Error::kTimeout, "sd: sdhci: Software Reset For All did not complete");
    }
    version_ = io_.Read32(sdhci::Reg::kSlotStatusVersion) >> 16;
    spec_ = version_ & 0xff;
    capabilities_ = io_.Read32(sdhci::Reg::kCapabilities);
    base_hz_ = config_.base_clock_hz;
    if (base_hz_ == 0) base_hz_ = sdhci::BaseClockMhz(capabilities_, spec_) * 1'000'000;
    if (base_hz_ == 0) base_hz_ = config_.fallback_base_clock_hz;
    if (base_hz_ == 0) return Status(Error::kUnsupported, "sd: sdhci: the base clock is unknown");
    host_control_ = sdhci::HostControl::kVoltage33;
    Write(sdhci::Reg::kHostControl, host_control_);
    host_control_ |= sdhci::HostControl::kBusPower;
    Write(sdhci::Reg::kHostControl, host_control_);
    Write(sdhci::Reg::kInterruptSignalEnable, 0);
    Write(sdhci::Reg::kInterruptStatusEnable, sdhci::Interrupt::kEnabled);
    Write(sdhci::Reg::kInterruptStatus, 0xffffffffu);
    return Status::Ok();
  }

  /// Card clock at most `hz` (§3.2.1 stop, §3.2.2 start): SD Clock Enable off, the
  /// divider, Internal Clock Enable, wait for Internal Clock Stable, SD Clock Enable.
  Status SetClock(uint32_t hz) {
    const uint32_t timeout = sdhci::ClockControl::kTimeoutMax << sdhci::ClockControl::kTimeoutShift;
    Write(sdhci::Reg::kClockControl, (io_.Read32(sdhci::Reg::kClockControl) & 0x00ff'fffbu));  // SD clock off
    clock_hz_ = 0;
    if (hz == 0) return Status::Ok();
    const sdhci::Divider d = sdhci::ChooseDivider(base_hz_, hz, spec_);
    const uint32_t value = timeout | d.field | sdhci::ClockControl::kInternalClockEnable;
    Write(sdhci::Reg::kClockControl, value);
    if (!WaitFor([&] { return (io_.Read32(sdhci::Reg::kClockControl) & sdhci::ClockControl::kInternalClockStable) != 0; },
                 config_.reset_timeout_us)) {
      return Status(Error::kTimeout, "sd: sdhci: Internal Clock Stable did not come");
    }
    clock_hz_ = d.hz;  // before the write below: it ends the slow-write waits at once
    Write(sdhci::Reg::kClockControl, value | sdhci::ClockControl::kSdClockEnable);
    return Status::Ok();
  }
  uint32_t ClockHz() const { return clock_hz_; }

  Status SetBusWidth(uint32_t bits) {
    if (bits != 1 && bits != 4) return Status(Error::kUnsupported, "sd: sdhci: bus width other than 1 or 4");
    if (bits > config_.bus_width) return Status(Error::kUnsupported, "sd: sdhci: the board wires fewer data lines");
    host_control_ = (host_control_ & ~sdhci::HostControl::kDataWidth4) | (bits == 4 ? sdhci::HostControl::kDataWidth4 : 0);
    Write(sdhci::Reg::kHostControl, host_control_);
    return Status::Ok();
  }
  uint32_t MaxBusWidth() const { return config_.bus_width >= 4 ? 4 : 1; }

  CardDetect Detect() {
    if (!config_.card_detect) return CardDetect::kUnknown;
    return (io_.Read32(sdhci::Reg::kPresentState) & sdhci::PresentState::kCardInserted) != 0 ? CardDetect::kPresent
                                                                                          : CardDetect::kAbsent;
  }

  /// Spec version (0: 1.00, 1: 2.00, 2: 3.00) and the whole Host Controller Version
  /// register, Capabilities, and the base clock in use; valid after Reset.
  uint32_t spec() const { return spec_; }
  uint32_t version() const { return version_; }
  uint32_t capabilities() const { return capabilities_; }
  uint32_t base_clock_hz() const { return base_hz_; }

  /// Test only (salvage.debug=sd-busy): what a kernel that crashed in the middle of a
  /// PIO write leaves. Starts CMD25 at `arg` for `blocks` blocks with Block Count and
  /// Auto CMD12, sends `sent` blocks of 0xbb, and returns without finishing. Returns
  /// Present State (Command Inhibit (DAT) and Write Transfer Active set).
  uint32_t DebugAbandonWrite(uint32_t arg, uint32_t blocks, uint32_t sent) {
    Write(sdhci::Reg::kInterruptStatus, 0xffffffffu);
    Write(sdhci::Reg::kBlockSizeCount, 512u | blocks << 16);
    Write(sdhci::Reg::kArgument, arg);
    Write(sdhci::Reg::kTransferModeCommand,
          sdhci::TransferMode::kBlockCountEnable | sdhci::TransferMode::kAutoCmd12 | sdhci::TransferMode::kMultiBlock |
              sdhci::Command::kResponse48 | sdhci::Command::kCrcCheck | sdhci::Command::kIndexCheck |
              sdhci::Command::kDataPresent | 25u << sdhci::Command::kIndexShift);
    for (uint32_t block = 0; block < sent; ++block) {
      if (!WaitFor([&] { return (io_.Read32(sdhci::Reg::kInterruptStatus) & sdhci::Interrupt::kBufferWriteReady) != 0; },
                   config_.data_timeout_us)) {
        break;
      }
      Write(sdhci::Reg::kInterruptStatus, sdhci::Interrupt::kBufferWriteReady);
      for (int w = 0; w < 128; ++w) io_.Write32(sdhci::Reg::kBufferData, 0xbbbbbbbbu);
    }
    return io_.Read32(sdhci::Reg::kPresentState);
  }

  /// Issues one command and moves its data (§3.7.1, §3.7.2 without DMA).
  Outcome Run(const sd::Command& cmd, const DataPhase& data) {
    Outcome out;
    const bool has_data = data.direction != DataDirection::kNone && data.blocks != 0;
    const bool busy = cmd.response == ResponseType::kR1b;
    uint32_t inhibit = sdhci::PresentState::kCommandInhibitCmd;
    if (has_data || busy) inhibit |= sdhci::PresentState::kCommandInhibitDat;
    if (!WaitFor([&] { return (io_.Read32(sdhci::Reg::kPresentState) & inhibit) == 0; }, config_.command_timeout_us)) {
      ResetLines(sdhci::ClockControl::kResetCmd | sdhci::ClockControl::kResetDat);
      out.fault = Fault::kHostBusy;
      out.status_bits = io_.Read32(sdhci::Reg::kInterruptStatus);
      return out;
    }
    Write(sdhci::Reg::kInterruptStatus, 0xffffffffu);

    uint32_t mode = 0;
    uint32_t command = uint32_t{cmd.index} << sdhci::Command::kIndexShift;
    switch (cmd.response) {
      case ResponseType::kNone: command |= sdhci::Command::kResponseNone; break;
      case ResponseType::kR2: command |= sdhci::Command::kResponse136 | sdhci::Command::kCrcCheck; break;
      case ResponseType::kR3: command |= sdhci::Command::kResponse48; break;
      case ResponseType::kR1b:
        command |= sdhci::Command::kResponse48Busy | sdhci::Command::kCrcCheck | sdhci::Command::kIndexCheck;
        break;
      case ResponseType::kR1:
      case ResponseType::kR6:
      case ResponseType::kR7:
        command |= sdhci::Command::kResponse48 | sdhci::Command::kCrcCheck | sdhci::Command::kIndexCheck;
        break;
    }
    if (cmd.index == 12) command |= sdhci::Command::kTypeAbort;
    if (has_data) {
      command |= sdhci::Command::kDataPresent;
      mode |= sdhci::TransferMode::kBlockCountEnable;
      if (data.direction == DataDirection::kRead) mode |= sdhci::TransferMode::kRead;
      if (data.blocks > 1) {
        mode |= sdhci::TransferMode::kMultiBlock;
        if (data.stop_after) mode |= sdhci::TransferMode::kAutoCmd12;
      }
      Write(sdhci::Reg::kBlockSizeCount, (data.block_size & 0xfff) | (data.blocks << 16));
    }
    Write(sdhci::Reg::kArgument, cmd.arg);
    Write(sdhci::Reg::kTransferModeCommand, mode | command);

    // Command Complete (or an error).
    uint32_t status = 0;
    if (!WaitFor([&] { return ((status = io_.Read32(sdhci::Reg::kInterruptStatus)) &
                               (sdhci::Interrupt::kCommandComplete | sdhci::Interrupt::kErrorInterrupt |
                                sdhci::Interrupt::kErrors)) != 0; },
                 config_.command_timeout_us)) {
      return Abort(Fault::kHostTimeout, status, has_data || busy);
    }
    if ((status & sdhci::Interrupt::kErrors) != 0) return Abort(FaultOf(status), status, has_data || busy);
    Write(sdhci::Reg::kInterruptStatus, sdhci::Interrupt::kCommandComplete);
    ReadResponse(cmd.response, out);

    if (has_data) {
      const bool read = data.direction == DataDirection::kRead;
      const uint32_t ready = read ? sdhci::Interrupt::kBufferReadReady : sdhci::Interrupt::kBufferWriteReady;
      const uint32_t words = data.block_size / 4;
      for (uint32_t block = 0; block < data.blocks; ++block) {
        if (!WaitFor([&] { return ((status = io_.Read32(sdhci::Reg::kInterruptStatus)) &
                                   (ready | sdhci::Interrupt::kErrors)) != 0; },
                     config_.data_timeout_us)) {
          out.blocks_done = block;
          return Abort(Fault::kHostTimeout, status, true, out);
        }
        if ((status & sdhci::Interrupt::kErrors) != 0) {
          out.blocks_done = block;
          return Abort(FaultOf(status), status, true, out);
        }
        Write(sdhci::Reg::kInterruptStatus, ready);
        const uint32_t offset = block * data.block_size;
        if (read) {
          for (uint32_t w = 0; w < words; ++w) StoreLe32(data.read_to + offset + 4 * w, io_.Read32(sdhci::Reg::kBufferData));
        } else {
          for (uint32_t w = 0; w < words; ++w) io_.Write32(sdhci::Reg::kBufferData, LoadLe32(data.write_from + offset + 4 * w));
        }
      }
      out.blocks_done = data.blocks;
    }
    if (has_data || busy) {
      // Transfer Complete: the last block (and the Auto CMD12) is done and the card has
      // released DAT0 (busy) after a write or an R1b command.
      if (!WaitFor([&] { return ((status = io_.Read32(sdhci::Reg::kInterruptStatus)) &
                                 (sdhci::Interrupt::kTransferComplete | sdhci::Interrupt::kErrors)) != 0; },
                   config_.data_timeout_us)) {
        return Abort(busy && !has_data ? Fault::kDataTimeout : Fault::kHostTimeout, status, true, out);
      }
      if ((status & sdhci::Interrupt::kErrors) != 0) return Abort(FaultOf(status), status, true, out);
    }
    Write(sdhci::Reg::kInterruptStatus, 0xffffffffu);
    return out;
  }

 private:
  /// Every register write goes through here for the BCM2835 slow-write quirk.
  void Write(uint32_t offset, uint32_t value) {
    io_.Write32(offset, value);
    if (config_.slow_writes && clock_hz_ <= 400'000) {
      // Four card clocks, at least 10 us when the clock is off or unknown.
      const uint32_t us = clock_hz_ == 0 ? 10 : (4'000'000 + clock_hz_ - 1) / clock_hz_;
      clock_->DelayMicros(us < 10 ? 10 : us);
    }
  }

  template <class Pred>
  bool WaitFor(Pred done, uint32_t timeout_us) {
    if (done()) return true;
    drivers::Deadline<C> deadline(*clock_, timeout_us);
    while (!deadline.Expired()) {
      if (done()) return true;
    }
    return done();
  }

  static Fault FaultOf(uint32_t status) {
    using I = sdhci::Interrupt;
    if (status & I::kCommandTimeout) return Fault::kNoResponse;
    if (status & I::kCommandCrc) return Fault::kResponseCrc;
    if (status & (I::kCommandEndBit | I::kCommandIndex)) return Fault::kResponseOther;
    if (status & I::kAutoCmd) return Fault::kStopFailed;
    if (status & I::kDataTimeout) return Fault::kDataTimeout;
    if (status & I::kDataCrc) return Fault::kDataCrc;
    return Fault::kDataOther;
  }

  /// §3.10: after an error, Software Reset for the CMD line (and the DAT line when the
  /// command used it), so the next command can be issued.
  Outcome Abort(Fault fault, uint32_t status, bool dat, Outcome out = {}) {
    out.fault = fault;
    out.status_bits = status;
    ResetLines(sdhci::ClockControl::kResetCmd | (dat ? sdhci::ClockControl::kResetDat : 0));
    Write(sdhci::Reg::kInterruptStatus, 0xffffffffu);
    return out;
  }

  void ResetLines(uint32_t bits) {
    const uint32_t keep = io_.Read32(sdhci::Reg::kClockControl) & 0x00ff'ffffu;
    Write(sdhci::Reg::kClockControl, keep | bits);
    (void)WaitFor([&] { return (io_.Read32(sdhci::Reg::kClockControl) & bits) == 0; }, config_.reset_timeout_us);
  }

  /// §2.2.7: the Response registers hold R[127:8] for 136-bit responses (the CRC byte
  /// dropped), R[39:8] in Response0 for 48-bit ones.
  void ReadResponse(ResponseType type, Outcome& out) {
    if (type == ResponseType::kNone) return;
    const uint32_t r0 = io_.Read32(sdhci::Reg::kResponse0);
    if (type != ResponseType::kR2) {
      out.response[0] = r0;
      return;
    }
    const uint32_t r1 = io_.Read32(sdhci::Reg::kResponse1);
    const uint32_t r2 = io_.Read32(sdhci::Reg::kResponse2);
    const uint32_t r3 = io_.Read32(sdhci::Reg::kResponse3);
    out.response[0] = r0 << 8;
    out.response[1] = (r1 << 8) | (r0 >> 24);
    out.response[2] = (r2 << 8) | (r1 >> 24);
    out.response[3] = (r3 << 8) | (r2 >> 24);
  }


  IoT io_;
  C* clock_;
  SdhciConfig config_;
  uint32_t version_ = 0;
  uint32_t spec_ = 0;
  uint32_t capabilities_ = 0;
  uint32_t base_hz_ = 0;
  uint32_t clock_hz_ = 0;
  uint32_t host_control_ = 0;
};

}  // namespace salvage::sd
