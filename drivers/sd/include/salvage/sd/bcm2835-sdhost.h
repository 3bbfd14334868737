// salvage::sd::Bcm2835Sdhost — the BCM2835's custom SD host controller ("SDHOST",
// `brcm,bcm2835-sdhost`), polled, PIO only; satisfies sd::Host.
//
// The controller is not in the BCM2835 ARM Peripherals document. The register layout and
// behaviour follow the Linux driver drivers/mmc/host/bcm2835.c (Raspberry Pi Trading,
// 2015-2016; the register comments there are the only public description) and QEMU's
// model hw/sd/bcm2835_sdhost.c. On a Raspberry Pi 3 running Linux this is the controller
// the SD slot is routed to (GPIO 48-53, ALT0), the Arasan SDHCI driving the Wi-Fi.
//
// How it works, as far as salvage uses it:
//   - a command is started by writing SDCMD with NEW_FLAG; the controller clears
//     NEW_FLAG when the command is done and sets FAIL_FLAG (with the reason in SDHSTS)
//     when it failed. Response lengths and busy waiting are flags in SDCMD.
//   - the data of a command is sized by SDHBCT (bytes per block) and SDHBLC (blocks),
//     written before the command, and moves through a 16-word FIFO at SDDATA; SDEDM bits
//     8:4 say how many words the FIFO holds. The transfer is over when the SDEDM state
//     machine is back in "data mode" (or waits in READWAIT/WRITESTART1, which Linux
//     kicks with FORCE_DATA_MODE).
//   - the card clock is core_clock / (SDCDIV + 2). SLOW_CARD makes the controller use
//     that divider in data mode too (the 3-bit data-mode divisor cannot cope with fast
//     core clocks), as Linux does.
//   - there is no Auto CMD12: the driver sends CMD12 itself after a multi-block transfer;
//     no card detect.
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
namespace sdhost {

/// Register offsets (bcm2835.c), all 32-bit.
struct Reg {
  static constexpr uint32_t kCmd = 0x00;       ///< SDCMD: command to the card (16 bits used).
  static constexpr uint32_t kArg = 0x04;       ///< SDARG: its argument.
  static constexpr uint32_t kTimeout = 0x08;   ///< SDTOUT: data timeout, in card clocks.
  static constexpr uint32_t kClockDiv = 0x0c;  ///< SDCDIV: card clock = core / (SDCDIV + 2), 11 bits.
  static constexpr uint32_t kResponse0 = 0x10; ///< SDRSP0: response bits 31:0 (of a 136-bit response; 48-bit: the payload).
  static constexpr uint32_t kResponse1 = 0x14; ///< SDRSP1: 63:32.
  static constexpr uint32_t kResponse2 = 0x18; ///< SDRSP2: 95:64.
  static constexpr uint32_t kResponse3 = 0x1c; ///< SDRSP3: 127:96.
  static constexpr uint32_t kHostStatus = 0x20;///< SDHSTS: status, write 1 to clear (11 bits).
  static constexpr uint32_t kPower = 0x30;     ///< SDVDD: card power, bit 0.
  static constexpr uint32_t kDebug = 0x34;     ///< SDEDM: "emergency debug mode": FSM state, FIFO level, thresholds.
  static constexpr uint32_t kConfig = 0x38;    ///< SDHCFG: host configuration.
  static constexpr uint32_t kByteCount = 0x3c; ///< SDHBCT: bytes per block.
  static constexpr uint32_t kData = 0x40;      ///< SDDATA: the data FIFO.
  static constexpr uint32_t kBlockCount = 0x50;///< SDHBLC: blocks (9 bits).
};

/// SDCMD bits.
struct Cmd {
  static constexpr uint32_t kNew = 0x8000;          ///< Write: start; read: still running.
  static constexpr uint32_t kFail = 0x4000;         ///< The command failed (see SDHSTS).
  static constexpr uint32_t kBusyWait = 0x0800;     ///< R1b: wait for the card's busy to end.
  static constexpr uint32_t kNoResponse = 0x0400;
  static constexpr uint32_t kLongResponse = 0x0200; ///< 136-bit response (R2).
  static constexpr uint32_t kWrite = 0x0080;        ///< Data from host to card.
  static constexpr uint32_t kRead = 0x0040;         ///< Data from card to host.
  static constexpr uint32_t kIndexMask = 0x003f;
};

/// SDHSTS bits (10:0; write 1 to clear).
struct HostStatus {
  static constexpr uint32_t kBusyIrpt = 0x400;      ///< A BUSYWAIT command's busy ended.
  static constexpr uint32_t kBlockIrpt = 0x200;     ///< A block was transferred.
  static constexpr uint32_t kSdioIrpt = 0x100;
  static constexpr uint32_t kRewTimeout = 0x080;    ///< Read/erase/write (data) timeout.
  static constexpr uint32_t kCmdTimeout = 0x040;    ///< No response.
  static constexpr uint32_t kCrc16Error = 0x020;    ///< Data CRC.
  static constexpr uint32_t kCrc7Error = 0x010;     ///< Response CRC.
  static constexpr uint32_t kFifoError = 0x008;
  // 2:1 reserved.
  static constexpr uint32_t kDataFlag = 0x001;      ///< The FIFO wants servicing.
  static constexpr uint32_t kErrors = kCmdTimeout | kCrc7Error | kCrc16Error | kRewTimeout | kFifoError;
  static constexpr uint32_t kAll = 0x7f9;
};

/// SDHCFG bits.
struct Config {
  static constexpr uint32_t kBusyIrptEnable = 1u << 10;
  static constexpr uint32_t kBlockIrptEnable = 1u << 8;
  static constexpr uint32_t kSdioIrptEnable = 1u << 5;
  static constexpr uint32_t kDataIrptEnable = 1u << 4;
  static constexpr uint32_t kSlowCard = 1u << 3;     ///< Use SDCDIV in data mode too.
  static constexpr uint32_t kWideExtBus = 1u << 2;   ///< 4-bit bus to the card.
  static constexpr uint32_t kWideIntBus = 1u << 1;   ///< Set by Linux always.
  static constexpr uint32_t kRelCmdLine = 1u << 0;
};

/// SDEDM fields.
struct Debug {
  static constexpr uint32_t kFsmMask = 0xf;
  static constexpr uint32_t kFsmIdentMode = 0x0;
  static constexpr uint32_t kFsmDataMode = 0x1;
  static constexpr uint32_t kFsmReadWait = 0x4;
  static constexpr uint32_t kFsmWriteStart1 = 0xa;
  static constexpr uint32_t kFifoLevelShift = 4;     ///< Words in the FIFO (8:4).
  static constexpr uint32_t kFifoLevelMask = 0x1f;
  static constexpr uint32_t kWriteThresholdShift = 9;
  static constexpr uint32_t kReadThresholdShift = 14;
  static constexpr uint32_t kThresholdMask = 0x1f;
  static constexpr uint32_t kForceDataMode = 1u << 19;
  /// Linux limits the FIFO thresholds to 4 words "due to silicon bug".
  static constexpr uint32_t kThreshold = 4;
};

inline constexpr uint32_t kFifoWords = 16;
inline constexpr uint32_t kMaxDivider = 0x7ff;

/// SDCDIV for a card clock of at most `hz` from `core_hz`, and the clock it gives.
struct Divider {
  uint32_t value = kMaxDivider;
  uint32_t hz = 0;
};
constexpr Divider ChooseDivider(uint32_t core_hz, uint32_t hz) {
  Divider d;
  if (hz == 0) {
    d.hz = core_hz / (kMaxDivider + 2);
    return d;
  }
  uint32_t div = (core_hz + hz - 1) / hz;  // smallest core/div <= hz
  if (div < 2) div = 2;
  d.value = div - 2 > kMaxDivider ? kMaxDivider : div - 2;
  d.hz = core_hz / (d.value + 2);
  return d;
}
static_assert(ChooseDivider(250'000'000, 400'000).hz <= 400'000);
static_assert(ChooseDivider(400'000'000, 25'000'000).hz == 25'000'000);

}  // namespace sdhost

/// How the SDHOST is set up; filled by the runtime's binding from the DTB.
struct SdhostConfig {
  /// The core (VPU) clock the divider divides, in Hz: an upper bound when not known, so
  /// the card clock is never faster than asked (the Pi 3 runs it at 250 or 400 MHz).
  uint32_t core_clock_hz = 400'000'000;
  uint32_t bus_width = 4;                  ///< Data lines wired to the card: 1 or 4.
  uint32_t power_settle_us = 20'000;       ///< After SDVDD off and on (Linux: 20 ms each).
  uint32_t command_timeout_us = 500'000;
  uint32_t data_timeout_us = 2'000'000;    ///< Per FIFO wait, and for the end of a transfer.
};

/// The BCM2835 SDHOST at `Io`, timed by `C`.
template <drivers::Io IoT, drivers::Clock C>
class Bcm2835Sdhost {
 public:
  Bcm2835Sdhost(IoT io, C& clock, SdhostConfig config = {}) : io_(io), clock_(&clock), config_(config) {}

  static constexpr const char* Name() { return "sdhost"; }
  using Config = SdhostConfig;
  /// Linux bindings/mmc/brcm,bcm2835-sdhost.yaml.
  static constexpr std::array<std::string_view, 1> kCompatibles = {"brcm,bcm2835-sdhost"};
  static constexpr const char* StatusName() { return "SDHSTS"; }
  /// SDHBLC holds 9 bits.
  static constexpr uint32_t kMaxBlocks = 511;

  /// What Linux's bcm2835_reset_internal does: power off, every register to its idle
  /// value (abandoning a command or transfer left running), statuses cleared, the FIFO
  /// thresholds limited, the state machine out of any data wait, power on; then 1-bit,
  /// slow-card mode, the slowest clock. Always Ok (nothing to wait for but time).
  Status Reset() {
    io_.Write32(sdhost::Reg::kPower, 0);
    io_.Write32(sdhost::Reg::kCmd, 0);
    io_.Write32(sdhost::Reg::kArg, 0);
    io_.Write32(sdhost::Reg::kTimeout, 0xf00000);
    io_.Write32(sdhost::Reg::kClockDiv, 0);
    io_.Write32(sdhost::Reg::kHostStatus, sdhost::HostStatus::kAll);
    io_.Write32(sdhost::Reg::kConfig, 0);
    io_.Write32(sdhost::Reg::kByteCount, 0);
    io_.Write32(sdhost::Reg::kBlockCount, 0);
    uint32_t edm = io_.Read32(sdhost::Reg::kDebug);
    edm &= ~((sdhost::Debug::kThresholdMask << sdhost::Debug::kReadThresholdShift) |
             (sdhost::Debug::kThresholdMask << sdhost::Debug::kWriteThresholdShift));
    edm |= (sdhost::Debug::kThreshold << sdhost::Debug::kReadThresholdShift) |
           (sdhost::Debug::kThreshold << sdhost::Debug::kWriteThresholdShift);
    io_.Write32(sdhost::Reg::kDebug, edm);
    KickStateMachine();
    clock_->DelayMicros(config_.power_settle_us);
    io_.Write32(sdhost::Reg::kPower, 1);
    clock_->DelayMicros(config_.power_settle_us);
    config_reg_ = sdhost::Config::kWideIntBus | sdhost::Config::kSlowCard | sdhost::Config::kBusyIrptEnable;
    io_.Write32(sdhost::Reg::kConfig, config_reg_);
    io_.Write32(sdhost::Reg::kClockDiv, sdhost::kMaxDivider);
    clock_hz_ = 0;
    return Status::Ok();
  }

  /// Card clock at most `hz` (the SDHOST cannot stop it: 0 gives the slowest), and the
  /// data timeout to one second of card clocks.
  Status SetClock(uint32_t hz) {
    const sdhost::Divider d = sdhost::ChooseDivider(config_.core_clock_hz, hz);
    io_.Write32(sdhost::Reg::kClockDiv, d.value);
    io_.Write32(sdhost::Reg::kTimeout, d.hz);
    clock_hz_ = hz == 0 ? 0 : d.hz;
    return Status::Ok();
  }
  uint32_t ClockHz() const { return clock_hz_; }

  Status SetBusWidth(uint32_t bits) {
    if (bits != 1 && bits != 4) return Status(Error::kUnsupported, "sd: sdhost: bus width other than 1 or 4");
    if (bits > config_.bus_width) return Status(Error::kUnsupported, "sd: sdhost: the board wires fewer data lines");
    config_reg_ = (config_reg_ & ~sdhost::Config::kWideExtBus) | (bits == 4 ? sdhost::Config::kWideExtBus : 0);
    io_.Write32(sdhost::Reg::kConfig, config_reg_);
    return Status::Ok();
  }
  uint32_t MaxBusWidth() const { return config_.bus_width >= 4 ? 4 : 1; }
  CardDetect Detect() { return CardDetect::kUnknown; }
  uint32_t core_clock_hz() const { return config_.core_clock_hz; }

  /// Test only (salvage.debug=sd-busy): what a kernel that crashed in the middle of a
  /// PIO write leaves. Starts CMD25 at `arg` for `blocks` blocks, sends `sent` blocks
  /// of 0xbb, and returns without finishing or sending CMD12. Returns SDEDM.
  uint32_t DebugAbandonWrite(uint32_t arg, uint32_t blocks, uint32_t sent) {
    io_.Write32(sdhost::Reg::kHostStatus, sdhost::HostStatus::kAll);
    io_.Write32(sdhost::Reg::kByteCount, 512);
    io_.Write32(sdhost::Reg::kBlockCount, blocks);
    io_.Write32(sdhost::Reg::kArg, arg);
    io_.Write32(sdhost::Reg::kCmd, 25u | sdhost::Cmd::kWrite | sdhost::Cmd::kNew);
    (void)WaitFor([&] { return (io_.Read32(sdhost::Reg::kCmd) & sdhost::Cmd::kNew) == 0; }, config_.command_timeout_us);
    for (uint32_t word = 0; word < sent * 128; ++word) {
      if (!WaitFor([&] { return ((io_.Read32(sdhost::Reg::kDebug) >> sdhost::Debug::kFifoLevelShift) &
                                 sdhost::Debug::kFifoLevelMask) < sdhost::kFifoWords; },
                   config_.data_timeout_us)) {
        break;
      }
      io_.Write32(sdhost::Reg::kData, 0xbbbbbbbbu);
    }
    return io_.Read32(sdhost::Reg::kDebug);
  }

  /// Issues one command, moves its data through the FIFO, and sends CMD12 after a
  /// multi-block transfer when asked (there is no Auto CMD12).
  Outcome Run(const sd::Command& cmd, const DataPhase& data) {
    Outcome out = Issue(cmd, data);
    if (!out.ok() || data.direction == DataDirection::kNone || data.blocks == 0) return out;
    const bool read = data.direction == DataDirection::kRead;
    const uint32_t total_words = data.blocks * (data.block_size / 4);
    uint32_t done = 0;
    const uint32_t block_words = data.block_size / 4;
    while (done < total_words) {
      // Between blocks: a CRC or FIFO error stops the transfer (the FIFO need not fill
      // up first for the driver to notice).
      if (done % block_words == 0 && done != 0) {
        const uint32_t hsts = io_.Read32(sdhost::Reg::kHostStatus);
        if ((hsts & sdhost::HostStatus::kErrors) != 0) return DataFailed(hsts, done, data, out);
      }
      drivers::Deadline<C> deadline(*clock_, config_.data_timeout_us);
      uint32_t words = 0;
      for (;;) {
        const uint32_t level = (io_.Read32(sdhost::Reg::kDebug) >> sdhost::Debug::kFifoLevelShift) &
                               sdhost::Debug::kFifoLevelMask;
        words = read ? level : (level >= sdhost::kFifoWords ? 0 : sdhost::kFifoWords - level);
        if (words != 0) break;
        const uint32_t hsts = io_.Read32(sdhost::Reg::kHostStatus);
        if ((hsts & sdhost::HostStatus::kErrors) != 0) return DataFailed(hsts, done, data, out);
        if (deadline.Expired()) return DataFailed(hsts | sdhost::HostStatus::kRewTimeout, done, data, out, true);
      }
      if (words > total_words - done) words = total_words - done;
      const uint32_t to_block_end = block_words - done % block_words;
      if (words > to_block_end) words = to_block_end;
      for (uint32_t i = 0; i < words; ++i, ++done) {
        const uint32_t byte = done * 4;
        if (read) {
          StoreLe32(data.read_to + byte, io_.Read32(sdhost::Reg::kData));
        } else {
          io_.Write32(sdhost::Reg::kData, LoadLe32(data.write_from + byte));
        }
      }
    }
    // The state machine back in data mode: the last block (and its CRC) has gone.
    if (!WaitIdle(read)) {
      return DataFailed(io_.Read32(sdhost::Reg::kHostStatus) | sdhost::HostStatus::kRewTimeout, done, data, out, true);
    }
    const uint32_t hsts = io_.Read32(sdhost::Reg::kHostStatus);
    if ((hsts & sdhost::HostStatus::kErrors) != 0) return DataFailed(hsts, done, data, out);
    out.blocks_done = data.blocks;
    if (data.stop_after && data.blocks > 1) {
      Outcome stop = Issue(sd::Command{12, 0, ResponseType::kR1b}, DataPhase{});
      if (!stop.ok()) {
        out.fault = Fault::kStopFailed;
        out.status_bits = stop.status_bits;
      }
    }
    return out;
  }

 private:
  /// Writes SDCMD and waits for the command (and, for R1b, the busy) to end.
  Outcome Issue(const sd::Command& cmd, const DataPhase& data) {
    Outcome out;
    if (!WaitFor([&] { return (io_.Read32(sdhost::Reg::kCmd) & sdhost::Cmd::kNew) == 0; }, config_.command_timeout_us)) {
      out.fault = Fault::kHostBusy;
      out.status_bits = io_.Read32(sdhost::Reg::kHostStatus);
      return out;
    }
    io_.Write32(sdhost::Reg::kHostStatus, sdhost::HostStatus::kAll);
    const bool has_data = data.direction != DataDirection::kNone && data.blocks != 0;
    uint32_t sdcmd = cmd.index & sdhost::Cmd::kIndexMask;
    switch (cmd.response) {
      case ResponseType::kNone: sdcmd |= sdhost::Cmd::kNoResponse; break;
      case ResponseType::kR2: sdcmd |= sdhost::Cmd::kLongResponse; break;
      case ResponseType::kR1b: sdcmd |= sdhost::Cmd::kBusyWait; break;
      default: break;
    }
    if (has_data) {
      sdcmd |= data.direction == DataDirection::kRead ? sdhost::Cmd::kRead : sdhost::Cmd::kWrite;
      io_.Write32(sdhost::Reg::kByteCount, data.block_size);
      io_.Write32(sdhost::Reg::kBlockCount, data.blocks);
    }
    io_.Write32(sdhost::Reg::kArg, cmd.arg);
    io_.Write32(sdhost::Reg::kCmd, sdcmd | sdhost::Cmd::kNew);

    uint32_t value = 0;
    if (!WaitFor([&] { return ((value = io_.Read32(sdhost::Reg::kCmd)) & sdhost::Cmd::kNew) == 0; },
                 config_.command_timeout_us)) {
      out.fault = Fault::kHostTimeout;
      out.status_bits = io_.Read32(sdhost::Reg::kHostStatus);
      Recover();
      return out;
    }
    if ((value & sdhost::Cmd::kFail) != 0) {
      const uint32_t hsts = io_.Read32(sdhost::Reg::kHostStatus);
      // R3 (ACMD41) carries no CRC: a CRC7 error alone is not a failure (as Linux for CMD1).
      const bool crc_only = (hsts & sdhost::HostStatus::kErrors) == sdhost::HostStatus::kCrc7Error;
      if (!(crc_only && cmd.response == ResponseType::kR3)) {
        out.fault = (hsts & sdhost::HostStatus::kCmdTimeout)   ? Fault::kNoResponse
                    : (hsts & sdhost::HostStatus::kCrc7Error) ? Fault::kResponseCrc
                                                          : Fault::kResponseOther;
        out.status_bits = hsts;
        Recover();
        return out;
      }
    }
    if (cmd.response == ResponseType::kR2) {
      out.response[0] = io_.Read32(sdhost::Reg::kResponse0);
      out.response[1] = io_.Read32(sdhost::Reg::kResponse1);
      out.response[2] = io_.Read32(sdhost::Reg::kResponse2);
      out.response[3] = io_.Read32(sdhost::Reg::kResponse3);
    } else if (cmd.response != ResponseType::kNone) {
      out.response[0] = io_.Read32(sdhost::Reg::kResponse0);
    }
    if (cmd.response == ResponseType::kR1b) {
      uint32_t hsts = 0;
      if (!WaitFor([&] { return ((hsts = io_.Read32(sdhost::Reg::kHostStatus)) &
                                 (sdhost::HostStatus::kBusyIrpt | sdhost::HostStatus::kErrors)) != 0; },
                   config_.data_timeout_us)) {
        out.fault = Fault::kDataTimeout;
        out.status_bits = hsts;
        Recover();
        return out;
      }
      if ((hsts & sdhost::HostStatus::kErrors) != 0) {
        out.fault = (hsts & sdhost::HostStatus::kRewTimeout) ? Fault::kDataTimeout : Fault::kDataOther;
        out.status_bits = hsts;
        Recover();
        return out;
      }
      io_.Write32(sdhost::Reg::kHostStatus, sdhost::HostStatus::kBusyIrpt);
    }
    return out;
  }

  /// The data phase failed: map the status, get the controller ready for the next
  /// command (the card layer stops the card with CMD12).
  Outcome DataFailed(uint32_t hsts, uint32_t words_done, const DataPhase& data, Outcome out, bool timeout = false) {
    out.status_bits = hsts;
    out.blocks_done = words_done / (data.block_size / 4);
    if (timeout) {
      out.fault = Fault::kHostTimeout;
    } else if (hsts & sdhost::HostStatus::kCrc16Error) {
      out.fault = Fault::kDataCrc;
    } else if (hsts & sdhost::HostStatus::kRewTimeout) {
      out.fault = Fault::kDataTimeout;
    } else {
      out.fault = Fault::kDataOther;
    }
    Recover();
    return out;
  }

  /// After an error: statuses cleared, the FIFO drained, the state machine forced out of
  /// its data wait (what Linux does before the next request).
  void Recover() {
    io_.Write32(sdhost::Reg::kHostStatus, sdhost::HostStatus::kAll);
    for (uint32_t i = 0; i < 2 * sdhost::kFifoWords; ++i) {
      if (((io_.Read32(sdhost::Reg::kDebug) >> sdhost::Debug::kFifoLevelShift) & sdhost::Debug::kFifoLevelMask) == 0) break;
      (void)io_.Read32(sdhost::Reg::kData);
    }
    KickStateMachine();
  }

  void KickStateMachine() {
    const uint32_t edm = io_.Read32(sdhost::Reg::kDebug);
    const uint32_t fsm = edm & sdhost::Debug::kFsmMask;
    if (fsm != sdhost::Debug::kFsmIdentMode && fsm != sdhost::Debug::kFsmDataMode) {
      io_.Write32(sdhost::Reg::kDebug, edm | sdhost::Debug::kForceDataMode);
    }
  }

  /// Linux's bcm2835_wait_transfer_complete: ident or data mode, or the "alternate idle"
  /// of the direction, which is left with FORCE_DATA_MODE; or an error in SDHSTS.
  bool WaitIdle(bool read) {
    const uint32_t alternate = read ? sdhost::Debug::kFsmReadWait : sdhost::Debug::kFsmWriteStart1;
    return WaitFor(
        [&] {
          const uint32_t edm = io_.Read32(sdhost::Reg::kDebug);
          const uint32_t fsm = edm & sdhost::Debug::kFsmMask;
          if (fsm == sdhost::Debug::kFsmIdentMode || fsm == sdhost::Debug::kFsmDataMode) return true;
          // An error ends the wait too; the caller reads SDHSTS next.
          if ((io_.Read32(sdhost::Reg::kHostStatus) & sdhost::HostStatus::kErrors) != 0) return true;
          if (fsm == alternate) {
            io_.Write32(sdhost::Reg::kDebug, edm | sdhost::Debug::kForceDataMode);
            return true;
          }
          return false;
        },
        config_.data_timeout_us);
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


  IoT io_;
  C* clock_;
  SdhostConfig config_;
  uint32_t config_reg_ = 0;
  uint32_t clock_hz_ = 0;
};

}  // namespace salvage::sd
