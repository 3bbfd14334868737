// salvage::testing — a behavioural fake of the BCM2835 SDHOST controller with a
// FakeSdCard in its slot (test-only; uses GoogleTest and the host standard library).
//
// Modelled on what the Linux driver (drivers/mmc/host/bcm2835.c) expects and QEMU's
// hw/sd/bcm2835_sdhost.c does: SDCMD with NEW_FLAG runs a command (NEW clears when it is
// done, after `command_polls` reads if asked; FAIL_FLAG and SDHSTS say why it failed),
// data moves through a 16-word FIFO whose level SDEDM bits 8:4 show, SDEDM's state
// machine is in READDATA/WRITEDATA during a transfer and DATAMODE after it (or in
// WRITESTART1 with `stall_after_write`, until FORCE_DATA_MODE). There is no Auto CMD12.
//
// Protocol errors reported as test failures: a command while NEW is still set or with
// the card unpowered (SDVDD), a response flag that does not fit the command, SDHBCT other
// than 512 or SDHBLC beyond 9 bits, SDDATA read with an empty FIFO or written to a full
// one, a data command whose direction flag is missing.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <salvage/drivers/io.h>

#include "fakes/fake-sd-card.h"

namespace salvage::testing {

struct FakeSdhostOptions {
  bool card_present = true;
  uint32_t core_clock_hz = 250'000'000;
  uint32_t command_polls = 0;       ///< SDCMD reads that still show NEW after a command.
  bool stall_after_write = false;   ///< After a write, the FSM waits in WRITESTART1.
};

struct FakeSdhostCommand {
  uint8_t index = 0;
  uint32_t arg = 0;
  uint32_t flags = 0;     ///< SDCMD without the index.
  uint32_t clock_hz = 0;
  bool four_bit = false;
  uint32_t blocks = 0;
};

class FakeSdhost {
 public:
  FakeSdhost(FakeSdCard& card, FakeSdhostOptions options = {}) : card_(&card), o_(options) {}
  FakeSdhost(const FakeSdhost&) = delete;
  FakeSdhost& operator=(const FakeSdhost&) = delete;

  const std::vector<FakeSdhostCommand>& commands() const { return commands_; }
  uint32_t card_clock_hz() const { return o_.core_clock_hz / (cdiv_ + 2); }
  uint32_t max_ident_clock_hz() const { return max_ident_clock_; }
  bool four_bit() const { return (hcfg_ & 0x4) != 0; }
  uint32_t power_cycles() const { return power_cycles_; }
  uint32_t forced_data_mode() const { return forced_; }

  /// What a kernel that crashed mid-write leaves: a CMD25 for 8 blocks at `sector`, 2
  /// blocks and a few words sent, the FSM in WRITEDATA, 4-bit, powered, a fast clock.
  void LeaveMidWrite(uint64_t sector) {
    vdd_ = 1;
    hcfg_ = 0x2 | 0x4 | 0x8;
    cdiv_ = 8;
    card_->LeaveMidWrite(sector, 2);
    xfer_ = Xfer::kWrite;
    words_left_ = 6 * 128 - 5;
    block_words_ = 5;
    fsm_ = 0x3;
  }

  // --- The Io side ------------------------------------------------------------------

  uint32_t Read32(uint32_t offset) {
    switch (offset) {
      case 0x00:
        if (new_polls_ > 0) {
          --new_polls_;
          return cmd_ | 0x8000;
        }
        return cmd_;
      case 0x04: return arg_;
      case 0x08: return tout_;
      case 0x0c: return cdiv_;
      case 0x10: case 0x14: case 0x18: case 0x1c: return rsp_[(offset - 0x10) / 4];
      case 0x20: return hsts_;
      case 0x30: return vdd_;
      case 0x34: return (edm_ & ~0x1f0u & ~0xfu) | (static_cast<uint32_t>(fifo_.size()) << 4) | fsm_;
      case 0x38: return hcfg_;
      case 0x3c: return hbct_;
      case 0x40: return ReadData();
      case 0x50: return hblc_;
      default:
        Fault("read of an unknown register 0x" + Hex(offset));
        return 0;
    }
  }

  void Write32(uint32_t offset, uint32_t value) {
    switch (offset) {
      case 0x00:
        if (value & 0x8000) {
          Issue(value);
        } else {
          cmd_ = value;
        }
        return;
      case 0x04: arg_ = value; return;
      case 0x08: tout_ = value; return;
      case 0x0c: cdiv_ = value & 0x7ff; return;
      case 0x20: hsts_ &= ~value; return;
      case 0x30:
        if ((value & 1) && !vdd_) ++power_cycles_;
        if (!(value & 1)) {  // power off abandons any transfer
          xfer_ = Xfer::kNone;
          fifo_.clear();
          fsm_ = 0;
        }
        vdd_ = value & 1;
        return;
      case 0x34:
        if (value & (1u << 19)) {
          if (fsm_ != 0 && fsm_ != 1) ++forced_;
          fsm_ = 1;
          xfer_ = Xfer::kNone;
          fifo_.clear();
        }
        edm_ = value & ~(1u << 19);
        return;
      case 0x38: hcfg_ = value; return;
      case 0x3c: hbct_ = value; return;
      case 0x40: WriteData(value); return;
      case 0x50:
        if (value > 0x1ff) Fault("SDHBLC " + std::to_string(value) + " beyond its 9 bits");
        hblc_ = value & 0x1ff;
        return;
      default: Fault("write to an unknown register 0x" + Hex(offset)); return;
    }
  }

  uint8_t Read8(uint32_t offset) {
    Fault("8-bit read at 0x" + Hex(offset));
    return 0;
  }
  void Write8(uint32_t offset, uint8_t) { Fault("8-bit write at 0x" + Hex(offset)); }

 private:
  enum class Xfer { kNone, kRead, kWrite };

  static std::string Hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
    return buf;
  }
  void Fault(const std::string& what) { ADD_FAILURE() << "fake sdhost: driver protocol error: " << what; }

  void Issue(uint32_t value) {
    if (new_polls_ > 0) Fault("SDCMD written while the previous command is still running");
    if (!vdd_) Fault("command with the card unpowered (SDVDD 0)");
    const uint8_t index = value & 0x3f;
    cmd_ = value & ~0x8000u;
    new_polls_ = o_.command_polls;
    const bool read = value & 0x40, write = value & 0x80;
    commands_.push_back({index, arg_, value & 0xffc0, card_clock_hz(), four_bit(), (read || write) ? hblc_ : 0});
    const bool ident = index == 0 || index == 2 || index == 3 || index == 8 || index == 41 || (index == 55 && arg_ == 0);
    if (ident && card_clock_hz() > max_ident_clock_) max_ident_clock_ = card_clock_hz();
    if (!o_.card_present) {
      Failed(0x40);
      return;
    }
    std::optional<FakeSdCard::Response> r = card_->Command(index, arg_);
    const bool none = (value & 0x400) != 0;
    if (index == 0 && !none) Fault("CMD0 without NO_RESPONSE");
    if (!r) {
      if (!none) Failed(0x40);  // command time-out
      return;
    }
    if (index != 0 && none) Fault("CMD" + std::to_string(index) + " sent with NO_RESPONSE");
    if (r->r136 != ((value & 0x200) != 0)) Fault("CMD" + std::to_string(index) + ": LONG_RESPONSE does not fit");
    if (r->r136) {
      for (int i = 0; i < 4; ++i) rsp_[i] = r->r136w[i];
    } else {
      rsp_[0] = r->r48;
    }
    if ((value & 0x800) && (hcfg_ & (1u << 10))) hsts_ |= 0x400;  // busy over at once
    const bool data_cmd = index == 17 || index == 18 || index == 24 || index == 25;
    if (data_cmd && !(read || write)) Fault("data command without READ_CMD/WRITE_CMD");
    if (read || write) {
      if (hbct_ != 512) Fault("SDHBCT " + std::to_string(hbct_) + ", not 512");
      words_left_ = hblc_ * 128;
      block_words_ = 0;
      if (read) {
        if (!card_->SendingData()) {
          hsts_ |= 0x80;  // REW time-out
          return;
        }
        xfer_ = Xfer::kRead;
        fsm_ = 0x2;
        Refill();
      } else {
        // The host clocks the data out whether or not the card takes it.
        xfer_ = Xfer::kWrite;
        fsm_ = 0x3;
      }
    }
  }

  void Failed(uint32_t status) {
    cmd_ |= 0x4000;
    hsts_ |= status;
  }

  void Refill() {
    while (xfer_ == Xfer::kRead && fifo_.size() < 16 && words_left_ > 0) {
      if (block_words_ == 0) {
        if (!card_->ReadBlock(block_)) {
          hsts_ |= 0x20;  // CRC16 error
          xfer_ = Xfer::kNone;
          return;
        }
        block_words_ = 128;
      }
      uint32_t w;
      std::memcpy(&w, block_ + 4 * (128 - block_words_), 4);
      fifo_.push_back(w);
      --block_words_;
      --words_left_;
    }
    if (xfer_ == Xfer::kRead && words_left_ == 0 && fifo_.empty()) {
      xfer_ = Xfer::kNone;
      fsm_ = 0x1;
    }
  }

  uint32_t ReadData() {
    if (fifo_.empty()) {
      Fault("SDDATA read with an empty FIFO");
      return 0;
    }
    const uint32_t v = fifo_.front();
    fifo_.pop_front();
    Refill();
    if (xfer_ == Xfer::kNone && words_left_ == 0 && fifo_.empty() && fsm_ == 0x2) fsm_ = 0x1;
    return v;
  }

  void WriteData(uint32_t v) {
    if (xfer_ != Xfer::kWrite) {
      Fault("SDDATA written with no write transfer running");
      return;
    }
    if (fifo_.size() >= 16) Fault("SDDATA written to a full FIFO");
    std::memcpy(block_ + 4 * block_words_, &v, 4);
    ++block_words_;
    --words_left_;
    if (block_words_ == 128) {
      block_words_ = 0;
      if (card_->ReceivingData() && !card_->WriteBlock(block_)) {
        hsts_ |= 0x20;  // CRC16 error (negative CRC status)
        xfer_ = Xfer::kNone;
        fsm_ = 0x6;     // stuck in WRITECRC until forced
        return;
      }
    }
    if (words_left_ == 0) {
      xfer_ = Xfer::kNone;
      fsm_ = o_.stall_after_write ? 0xa : 0x1;
    }
  }

  FakeSdCard* card_;
  FakeSdhostOptions o_;
  uint32_t cmd_ = 0, arg_ = 0, tout_ = 0, cdiv_ = 0, hsts_ = 0, vdd_ = 0, edm_ = 0xc60f, hcfg_ = 0, hbct_ = 0,
           hblc_ = 0;
  uint32_t fsm_ = 0xf;  // QEMU's reset value: STARTPOWDOWN until SDEDM is written
  uint32_t rsp_[4] = {};
  uint32_t new_polls_ = 0;
  Xfer xfer_ = Xfer::kNone;
  std::deque<uint32_t> fifo_;
  uint8_t block_[512] = {};
  uint32_t block_words_ = 0;
  uint32_t words_left_ = 0;
  uint32_t max_ident_clock_ = 0;
  uint32_t power_cycles_ = 0;
  uint32_t forced_ = 0;
  std::vector<FakeSdhostCommand> commands_;
};

class FakeSdhostIo {
 public:
  explicit FakeSdhostIo(FakeSdhost& dev) : dev_(&dev) {}
  uint8_t Read8(uint32_t offset) { return dev_->Read8(offset); }
  uint32_t Read32(uint32_t offset) { return dev_->Read32(offset); }
  void Write8(uint32_t offset, uint8_t v) { dev_->Write8(offset, v); }
  void Write32(uint32_t offset, uint32_t v) { dev_->Write32(offset, v); }

 private:
  FakeSdhost* dev_;
};
static_assert(drivers::Io<FakeSdhostIo>);

}  // namespace salvage::testing
