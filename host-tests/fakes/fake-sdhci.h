// salvage::testing — a behavioural fake of an SDHCI controller (SD Host Controller
// Simplified Specification 3.00) with a FakeSdCard in its slot (test-only; uses
// GoogleTest and the host standard library).
//
// FakeSdhci keeps the register file of §2.2 and runs commands against the card when the
// driver writes the Command register (the upper half of word 0x0c), moving data through
// the Buffer Data Port one 512-byte block at a time as §3.7.2 describes for PIO, with
// Block Count and Auto CMD12. FakeSdhciIo is the small handle a driver copies.
//
// Like the BCM2835's EMMC, it accepts 32-bit accesses only. It reports as test failures
// the protocol errors a driver can make: an 8-bit access, a command while Command
// Inhibit (CMD or DAT) is set, a command with the SD clock off or the bus unpowered, the
// data port used without Buffer Read/Write Ready, a block size other than 512, DMA
// enabled, a wrong response type for the command, a Host Control write while data
// moves; and, with `check_slow_writes`, two register writes closer than four card
// clocks while the clock is at most 400 kHz (the BCM2835 "bugette").
//
// Errors are latched into the Error Interrupt Status only where the Status Enable allows
// (as in the spec and in QEMU), so a driver that does not enable them waits in vain.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <salvage/drivers/io.h>

#include "fakes/fake-clock.h"
#include "fakes/fake-sd-card.h"

namespace salvage::testing {

struct FakeSdhciOptions {
  bool card_present = true;
  uint32_t version = 0x9902;        ///< Host Controller Version (§2.2.34): vendor 0x99, spec 3.00.
  uint32_t capabilities = 0x00000000;  ///< Base clock 0 as on the BCM2835 ("get it elsewhere").
  uint32_t base_clock_hz = 250'000'000;  ///< What the divider really divides.
  uint32_t reset_reads = 1;         ///< Reads of word 0x2c for which a Software Reset bit stays set.
  bool check_slow_writes = false;
  FakeClock* clock = nullptr;       ///< For check_slow_writes and timing records.
  bool auto_cmd12 = true;           ///< Honour Auto CMD12 (else a multi-block transfer never ends by itself).
  bool lose_command_complete = false;  ///< Never set Command Complete (a wedged controller).
  /// A response CRC error on the first command with this index.
  int response_crc_once = -1;
};

/// One command as the controller issued it.
struct FakeSdhciCommand {
  uint8_t index = 0;
  uint32_t arg = 0;
  uint32_t mode = 0;        ///< Transfer Mode.
  uint32_t command = 0;     ///< Command register (16 bits).
  uint32_t clock_hz = 0;    ///< Card clock when issued.
  bool four_bit = false;
  uint32_t blocks = 0;      ///< Block Count when a data command.
};

class FakeSdhci {
 public:
  FakeSdhci(FakeSdCard& card, FakeSdhciOptions options = {}) : card_(&card), o_(options) { Clear(); }
  FakeSdhci(const FakeSdhci&) = delete;
  FakeSdhci& operator=(const FakeSdhci&) = delete;

  FakeSdCard& card() { return *card_; }
  const std::vector<FakeSdhciCommand>& commands() const { return commands_; }
  uint32_t card_clock_hz() const { return CardClockHz(); }
  uint32_t resets_all() const { return resets_all_; }
  uint32_t resets_cmd() const { return resets_cmd_; }
  uint32_t resets_dat() const { return resets_dat_; }
  uint32_t max_ident_clock_hz() const { return max_ident_clock_; }
  bool four_bit() const { return (host_control_ & 0x2) != 0; }

  /// The controller state a kernel that crashed in the middle of a PIO multi-block write
  /// leaves: clock on, bus powered, 4-bit, a CMD25 with Block Count 8 half sent (the card
  /// in rcv), Command/DAT Inhibit set, an interrupt pending.
  void LeaveMidWrite(uint64_t sector) {
    clock_control_ = 0x0007 | (5 << 8);  // 25 MHz from 250 MHz
    host_control_ = 0x0f00 | 0x2;
    status_enable_ = 0x01ff0033;
    card_->LeaveMidWrite(sector, 2);
    xfer_ = Xfer::kWrite;
    blocks_left_ = 6;
    block_count_ = 6;
    mode_ = 0x0026;  // block count, Auto CMD12, multi, write
    pos_ = 100;
    present_ = 0x1ff0000 | 0x1 | 0x2 | 0x4 | 0x100 | 0x400;
    normal_ = 0x10;
  }

  // --- The Io side ------------------------------------------------------------------

  uint32_t Read32(uint32_t offset) {
    switch (offset) {
      case 0x04: return block_size_ | (block_count_ << 16);
      case 0x08: return argument_;
      case 0x0c: return mode_ | (command_ << 16);
      case 0x10: case 0x14: case 0x18: case 0x1c: return response_[(offset - 0x10) / 4];
      case 0x20: return ReadData();
      case 0x24: return present_ | (o_.card_present ? 0x70000 : 0x40000);
      case 0x28: return host_control_;
      case 0x2c: {
        if (reset_pending_ != 0 && reset_reads_left_ > 0) {
          --reset_reads_left_;
          return clock_control_ | (timeout_ << 16) | (reset_pending_ << 24);
        }
        reset_pending_ = 0;
        return clock_control_ | (timeout_ << 16);
      }
      case 0x30: return Status();
      case 0x34: return status_enable_;
      case 0x38: return signal_enable_;
      case 0x3c: return 0;
      case 0x40: return o_.capabilities;
      case 0x44: return 0;
      case 0xfc: return o_.version << 16;
      default:
        Fault("read of an unknown register 0x" + Hex(offset));
        return 0;
    }
  }

  void Write32(uint32_t offset, uint32_t value) {
    CheckWriteGap(offset);
    switch (offset) {
      case 0x00: return;
      case 0x04:
        if (xfer_ != Xfer::kNone) Fault("Block Size/Count written during a transfer");
        block_size_ = value & 0x7fff;
        block_count_ = value >> 16;
        return;
      case 0x08: argument_ = value; return;
      case 0x0c: IssueCommand(value & 0xffff, value >> 16); return;
      case 0x20: WriteData(value); return;
      case 0x28:
        if (xfer_ != Xfer::kNone) Fault("Host Control written during a transfer");
        if ((value & 0xff0000) != 0) Fault("Block Gap Control written non-zero");
        host_control_ = value & 0xffff;
        return;
      case 0x2c: WriteClockControl(value); return;
      case 0x30:
        normal_ &= ~(value & 0xffff);
        error_ &= ~(value >> 16);
        return;
      case 0x34:
        status_enable_ = value;
        normal_ &= value & 0xffff;
        error_ &= value >> 16;
        return;
      case 0x38: signal_enable_ = value; return;
      case 0x3c: return;
      default: Fault("write to a read-only or unknown register 0x" + Hex(offset)); return;
    }
  }

  uint8_t Read8(uint32_t offset) {
    Fault("8-bit read at 0x" + Hex(offset) + " (the BCM2835 EMMC needs 32-bit accesses)");
    return 0;
  }
  void Write8(uint32_t offset, uint8_t) { Fault("8-bit write at 0x" + Hex(offset) + " (32-bit accesses only)"); }

 private:
  enum class Xfer { kNone, kRead, kWrite };

  static std::string Hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
    return buf;
  }
  void Fault(const std::string& what) { ADD_FAILURE() << "fake sdhci: driver protocol error: " << what; }

  uint32_t Status() const {
    uint32_t s = normal_ | (error_ << 16);
    if (error_ != 0) s |= 0x8000;
    return s;
  }
  void Latch(uint32_t normal) { normal_ |= normal & status_enable_; }
  void LatchError(uint32_t error) { error_ |= error & (status_enable_ >> 16); }

  uint32_t CardClockHz() const {
    if ((clock_control_ & 0x7) != 0x7) return 0;
    const uint32_t n = ((clock_control_ >> 8) & 0xff) | (((clock_control_ >> 6) & 0x3) << 8);
    return n == 0 ? o_.base_clock_hz : o_.base_clock_hz / (2 * n);
  }

  void CheckWriteGap(uint32_t offset) {
    if (!o_.check_slow_writes || o_.clock == nullptr) return;
    const uint64_t now = o_.clock->now();
    const uint32_t hz = CardClockHz();
    if (have_last_write_ && (hz == 0 || hz <= 400'000)) {
      const uint64_t need = hz == 0 ? 10 : (4'000'000 + hz - 1) / hz;
      if (now - last_write_ < need) {
        Fault("write to 0x" + Hex(offset) + " only " + std::to_string(now - last_write_) +
              " us after the previous write at a slow card clock (needs " + std::to_string(need) + ")");
      }
    }
    have_last_write_ = true;
    last_write_ = now;
  }

  /// Software Reset For All: every register but Capabilities and Version to 0.
  void Clear() {
    block_size_ = block_count_ = argument_ = mode_ = command_ = 0;
    std::memset(response_, 0, sizeof(response_));
    host_control_ = 0;
    clock_control_ = 0;
    timeout_ = 0;
    normal_ = error_ = 0;
    status_enable_ = signal_enable_ = 0;
    present_ = 0;
    xfer_ = Xfer::kNone;
    pos_ = 0;
    blocks_left_ = 0;
  }

  void WriteClockControl(uint32_t value) {
    const uint32_t reset = (value >> 24) & 0x7;
    if (reset & 0x1) {
      Clear();
      ++resets_all_;
      reset_pending_ = 0x1;
      reset_reads_left_ = o_.reset_reads;
      return;
    }
    if (reset & 0x2) {
      ++resets_cmd_;
      present_ &= ~0x1u;
      normal_ &= ~0x1u;
    }
    if (reset & 0x4) {
      ++resets_dat_;
      xfer_ = Xfer::kNone;
      pos_ = 0;
      blocks_left_ = 0;
      present_ &= ~(0x2u | 0x4u | 0x100u | 0x200u | 0x400u | 0x800u);
      normal_ &= ~(0x2u | 0x4u | 0x8u | 0x10u | 0x20u);
    }
    if (reset != 0) {
      reset_pending_ = reset;
      reset_reads_left_ = o_.reset_reads;
    }
    clock_control_ = value & 0xffe7;
    if (clock_control_ & 0x1) clock_control_ |= 0x2;  // internal clock stable at once
    else clock_control_ &= ~0x2u;
    timeout_ = (value >> 16) & 0xf;
  }

  void IssueCommand(uint32_t mode, uint32_t command) {
    mode_ = mode;
    command_ = command;
    const uint8_t index = (command >> 8) & 0x3f;
    const uint32_t rtype = command & 0x3;
    const bool data = (command & 0x20) != 0;
    if ((clock_control_ & 0x7) != 0x7) Fault("CMD" + std::to_string(index) + " issued with the SD clock off");
    if ((host_control_ & 0x0f00) != 0x0f00) Fault("CMD" + std::to_string(index) + " issued without bus power at 3.3 V");
    if (present_ & 0x1) Fault("CMD" + std::to_string(index) + " issued while Command Inhibit (CMD) is set");
    if ((data || rtype == 3) && (present_ & 0x2)) {
      Fault("CMD" + std::to_string(index) + " issued while Command Inhibit (DAT) is set");
    }
    if (mode & 0x1) Fault("DMA enabled");
    FakeSdhciCommand log{index, argument_, mode, command, CardClockHz(), (host_control_ & 0x2) != 0, block_count_};
    commands_.push_back(log);
    const bool identifying = index == 0 || index == 2 || index == 3 || index == 8 || index == 41 ||
                             (index == 55 && argument_ == 0);
    if (identifying && CardClockHz() > max_ident_clock_) max_ident_clock_ = CardClockHz();

    if (!o_.card_present) {
      LatchError(0x1);  // Command Timeout
      return;
    }
    std::optional<FakeSdCard::Response> r = card_->Command(index, argument_);
    if (!r) {
      LatchError(0x1);
      return;
    }
    if (o_.response_crc_once == index) {
      o_.response_crc_once = -1;
      LatchError(0x2);  // Command CRC Error
      return;
    }
    // Response type select against what the card sent (§2.2.6 table 2-10).
    const bool none = index == 0;
    if (none != (rtype == 0)) Fault("CMD" + std::to_string(index) + ": response type select " + std::to_string(rtype));
    if (!none && r->r136 != (rtype == 1)) {
      Fault("CMD" + std::to_string(index) + ": response length does not match Response Type Select");
    }
    if (r->r136) {
      // R[127:8] into Response 0..3 (§2.2.7).
      const uint32_t* w = r->r136w;
      response_[0] = (w[0] >> 8) | (w[1] << 24);
      response_[1] = (w[1] >> 8) | (w[2] << 24);
      response_[2] = (w[2] >> 8) | (w[3] << 24);
      response_[3] = w[3] >> 8;
    } else {
      response_[0] = r->r48;
    }
    if (!o_.lose_command_complete) Latch(0x1);  // Command Complete
    if (rtype == 3 && !data) Latch(0x2);          // busy over: Transfer Complete
    if (data) StartData(index, mode);
  }

  void StartData(uint8_t index, uint32_t mode) {
    if ((block_size_ & 0xfff) != 512) Fault("data block size " + std::to_string(block_size_ & 0xfff) + ", not 512");
    const bool multi = (mode & 0x20) != 0;
    const bool count = (mode & 0x2) != 0;
    if (multi && (!count || block_count_ == 0)) Fault("multi-block transfer without a Block Count");
    blocks_left_ = multi ? block_count_ : 1;
    pos_ = 0;
    if (mode & 0x10) {
      if (!card_->SendingData()) {
        LatchError(0x10);  // Data Timeout: the card sends nothing
        return;
      }
      xfer_ = Xfer::kRead;
      present_ |= 0x2 | 0x4 | 0x200;
      LoadReadBlock();
    } else {
      xfer_ = Xfer::kWrite;
      present_ |= 0x2 | 0x4 | 0x100 | 0x400;
      Latch(0x10);  // Buffer Write Ready
    }
    (void)index;
  }

  void LoadReadBlock() {
    if (!card_->ReadBlock(buffer_)) {
      LatchError(0x20);  // Data CRC Error
      xfer_ = Xfer::kNone;  // the DAT lines stay inhibited until a DAT reset
      present_ &= ~0x800u;
      return;
    }
    present_ |= 0x800;
    Latch(0x20);  // Buffer Read Ready
  }

  uint32_t ReadData() {
    if (xfer_ != Xfer::kRead || !(present_ & 0x800)) {
      Fault("Buffer Data Port read without Buffer Read Enable");
      return 0;
    }
    if (normal_ & 0x20) Fault("Buffer Data Port read before Buffer Read Ready was cleared");
    uint32_t v;
    std::memcpy(&v, buffer_ + pos_, 4);
    pos_ += 4;
    if (pos_ == 512) {
      pos_ = 0;
      present_ &= ~0x800u;
      if (mode_ & 0x2) block_count_ = --blocks_left_;
      else --blocks_left_;
      if (blocks_left_ > 0) {
        LoadReadBlock();
      } else {
        EndTransfer();
      }
    }
    return v;
  }

  void WriteData(uint32_t v) {
    if (xfer_ != Xfer::kWrite || !(present_ & 0x400)) {
      Fault("Buffer Data Port write without Buffer Write Enable");
      return;
    }
    if (normal_ & 0x10) Fault("Buffer Data Port written before Buffer Write Ready was cleared");
    std::memcpy(buffer_ + pos_, &v, 4);
    pos_ += 4;
    if (pos_ < 512) return;
    pos_ = 0;
    present_ &= ~0x400u;
    if (!card_->WriteBlock(buffer_)) {
      LatchError(0x20);  // Data CRC Error (negative CRC status)
      xfer_ = Xfer::kNone;
      return;
    }
    if (mode_ & 0x2) block_count_ = --blocks_left_;
    else --blocks_left_;
    if (blocks_left_ > 0) {
      present_ |= 0x400;
      Latch(0x10);
    } else {
      EndTransfer();
    }
  }

  void EndTransfer() {
    xfer_ = Xfer::kNone;
    if ((mode_ & 0x20) && (mode_ & 0xc) == 0x4) {
      if (!o_.auto_cmd12) return;  // the transfer never completes
      std::optional<FakeSdCard::Response> r = card_->Command(12, 0);
      if (!r) {
        LatchError(0x100);  // Auto CMD Error
        return;
      }
      response_[3] = r->r48;
    }
    present_ &= ~(0x2u | 0x4u | 0x100u | 0x200u);
    Latch(0x2);  // Transfer Complete
  }

  FakeSdCard* card_;
  FakeSdhciOptions o_;
  uint32_t block_size_ = 0, block_count_ = 0, argument_ = 0, mode_ = 0, command_ = 0;
  uint32_t response_[4] = {};
  uint32_t host_control_ = 0, clock_control_ = 0, timeout_ = 0;
  uint32_t normal_ = 0, error_ = 0, status_enable_ = 0, signal_enable_ = 0;
  uint32_t present_ = 0;
  uint32_t reset_pending_ = 0, reset_reads_left_ = 0;
  Xfer xfer_ = Xfer::kNone;
  uint8_t buffer_[512] = {};
  uint32_t pos_ = 0;
  uint32_t blocks_left_ = 0;
  uint32_t resets_all_ = 0, resets_cmd_ = 0, resets_dat_ = 0;
  uint32_t max_ident_clock_ = 0;
  bool have_last_write_ = false;
  uint64_t last_write_ = 0;
  std::vector<FakeSdhciCommand> commands_;
};

/// The Io handle for a FakeSdhci owned by the test.
class FakeSdhciIo {
 public:
  explicit FakeSdhciIo(FakeSdhci& dev) : dev_(&dev) {}
  uint8_t Read8(uint32_t offset) { return dev_->Read8(offset); }
  uint32_t Read32(uint32_t offset) { return dev_->Read32(offset); }
  void Write8(uint32_t offset, uint8_t v) { dev_->Write8(offset, v); }
  void Write32(uint32_t offset, uint32_t v) { dev_->Write32(offset, v); }

 private:
  FakeSdhci* dev_;
};
static_assert(drivers::Io<FakeSdhciIo>);

}  // namespace salvage::testing
