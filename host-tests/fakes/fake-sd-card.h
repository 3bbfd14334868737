// salvage::testing — a behavioural fake of an SD memory card (test-only; uses GoogleTest
// and the host standard library).
//
// Written from the SD Physical Layer Simplified Specification 4.10, not from the driver:
// command numbers, state numbers and bit positions are literals here. The card has the
// state machine of §4.8 (idle -> ready -> ident -> stby -> tran -> data/rcv -> prg ->
// tran), answers the commands salvage uses with the responses of §4.9 (R1 with the
// state the card was in when the command arrived, R2 CID/CSD, R3 OCR, R6, R7), ignores
// commands that are illegal in its state (no response, ILLEGAL_COMMAND in the next
// status), and keeps its data sparse (sectors never written read as zero), so SDHC
// cards of several GiB cost nothing.
//
// Injected problems (FakeSdCardOptions): no CMD8 answer (a version 1.x card), a wrong
// CMD8 echo, ACMD41 busy for N tries or forever, a write CRC error on a sector once or
// always, a read CRC error once, write protection, programming (prg) lasting N CMD13
// polls or forever, an RCA of 0 published first.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace salvage::testing {

struct FakeSdCardOptions {
  uint64_t capacity_bytes = 64ull << 20;
  bool high_capacity = false;       ///< SDHC/SDXC: CSD 2.0, OCR.CCS when the host sends HCS.
  bool v1 = false;                  ///< Physical layer 1.x: no answer to CMD8 (SDSC only).
  uint32_t read_bl_len = 9;         ///< SDSC CSD READ_BL_LEN: 9, 10 or 11.
  uint32_t cmd8_echo_xor = 0;       ///< XORed into CMD8's echo (non-zero: a broken answer).
  uint32_t power_up_tries = 3;      ///< ACMD41s answered busy before the card is ready.
  bool never_ready = false;         ///< ACMD41 busy forever.
  uint32_t rca = 0xb368;
  bool rca_zero_first = false;      ///< CMD3 publishes RCA 0 once first.
  uint32_t programming_polls = 2;   ///< CMD13s that still show prg after a write.
  bool busy_forever = false;        ///< A write leaves the card in prg for good.
  std::optional<uint64_t> write_crc_error_once = std::nullopt;  ///< The first write of this sector gets a CRC error.
  std::optional<uint64_t> write_crc_error_always = std::nullopt;
  std::optional<uint64_t> read_crc_error_once = std::nullopt;   ///< The first read of this sector gets a CRC error.
  std::optional<uint64_t> write_protected = std::nullopt;       ///< Writes of this sector: WP_VIOLATION.
  std::string product = "SALVG";
};

/// One command as the card received it.
struct FakeSdCommand {
  uint8_t index = 0;
  bool app = false;
  uint32_t arg = 0;
  uint8_t state_before = 0;  ///< §4.10.1 state numbers.
  bool answered = false;
};

class FakeSdCard {
 public:
  // States (§4.10.1 CURRENT_STATE).
  static constexpr uint8_t kIdle = 0, kReady = 1, kIdent = 2, kStby = 3, kTran = 4, kData = 5, kRcv = 6, kPrg = 7;

  struct Response {
    bool r136 = false;
    uint32_t r48 = 0;     ///< The 32 bits between index and CRC.
    uint32_t r136w[4] = {};  ///< CID/CSD bits 127:0, word 0 = bits 31:0 (CRC7 + end bit in 7:0).
  };

  explicit FakeSdCard(FakeSdCardOptions options = {}) : o_(options) {
    if (o_.v1) {
      EXPECT_FALSE(o_.high_capacity) << "a version 1.x card is SDSC";
    }
  }
  FakeSdCard(const FakeSdCard&) = delete;
  FakeSdCard& operator=(const FakeSdCard&) = delete;

  uint64_t sectors() const { return o_.capacity_bytes / 512; }

  /// Handles one command; nullopt when the card does not answer.
  std::optional<Response> Command(uint8_t index, uint32_t arg) {
    const bool app = app_next_;
    app_next_ = false;
    FakeSdCommand log{index, app, arg, state_, false};
    std::optional<Response> r = app ? AppCommand(index, arg) : Normal(index, arg);
    log.answered = r.has_value();
    commands_.push_back(log);
    return r;
  }

  // --- The data side, for the controller ---------------------------------------------

  /// The card is sending (state data) and has a block ready.
  bool SendingData() const { return state_ == kData; }
  bool ReceivingData() const { return state_ == kRcv; }

  /// Next block of a read; false (and the block is not advanced past) on an injected CRC
  /// error: the controller reports a data CRC error.
  bool ReadBlock(uint8_t* out) {
    EXPECT_EQ(state_, kData) << "fake SD card: data read while not in the data state";
    const uint64_t sector = next_sector_;
    if (sector >= sectors()) {
      status_errors_ |= 1u << 31;  // OUT_OF_RANGE while reading on
      std::memset(out, 0, 512);
      return true;
    }
    if (o_.read_crc_error_once && *o_.read_crc_error_once == sector && !read_crc_done_) {
      read_crc_done_ = true;
      return false;
    }
    auto it = data_.find(sector);
    if (it == data_.end()) {
      std::memset(out, 0, 512);
    } else {
      std::memcpy(out, it->second.data(), 512);
    }
    ++next_sector_;
    ++blocks_read_;
    if (single_) state_ = kTran;
    return true;
  }

  /// One block of a write; false on a CRC error (negative CRC status token): the block
  /// is discarded and the card waits for CMD12 in rcv.
  bool WriteBlock(const uint8_t* in) {
    EXPECT_EQ(state_, kRcv) << "fake SD card: data written while not in the receive state";
    if (state_ != kRcv) return false;
    const uint64_t sector = next_sector_;
    if (o_.write_crc_error_always && *o_.write_crc_error_always == sector) return false;
    if (o_.write_crc_error_once && *o_.write_crc_error_once == sector && !write_crc_done_) {
      write_crc_done_ = true;
      return false;
    }
    if (sector >= sectors()) {
      status_errors_ |= 1u << 31;  // OUT_OF_RANGE
    } else if (o_.write_protected && *o_.write_protected == sector) {
      status_errors_ |= 1u << 26;  // WP_VIOLATION
    } else {
      std::array<uint8_t, 512>& block = data_[sector];
      std::memcpy(block.data(), in, 512);
      written_.insert(sector);
    }
    ++next_sector_;
    ++blocks_written_;
    if (single_) StartProgramming();
    return true;
  }

  // --- What tests set up and inspect -------------------------------------------------

  /// Puts bytes on the card (a sector never written reads as zero).
  void Fill(uint64_t sector, uint8_t value) { data_[sector].fill(value); }
  /// Sector contents (zeros when never written).
  std::array<uint8_t, 512> Sector(uint64_t sector) const {
    auto it = data_.find(sector);
    if (it == data_.end()) return {};
    return it->second;
  }
  bool SectorIs(uint64_t sector, const uint8_t* expect) const {
    const std::array<uint8_t, 512> s = Sector(sector);
    return std::memcmp(s.data(), expect, 512) == 0;
  }
  const std::set<uint64_t>& written() const { return written_; }
  const std::vector<FakeSdCommand>& commands() const { return commands_; }
  uint8_t state() const { return state_; }
  uint32_t bus_width() const { return bus_width_; }
  uint64_t blocks_written() const { return blocks_written_; }
  /// Commands with this index (and app flag) received.
  size_t Count(uint8_t index, bool app = false) const {
    size_t n = 0;
    for (const FakeSdCommand& c : commands_) n += c.index == index && c.app == app;
    return n;
  }

  /// Puts the card where a kernel that crashed mid-write leaves it: selected, in rcv
  /// after CMD25 at `sector`, `blocks` blocks of 0xee already taken.
  void LeaveMidWrite(uint64_t sector, int blocks) {
    state_ = kRcv;
    rca_ = o_.rca;
    ocr_ready_ = true;
    single_ = false;
    next_sector_ = sector;
    uint8_t junk[512];
    std::memset(junk, 0xee, sizeof(junk));
    for (int i = 0; i < blocks; ++i) WriteBlock(junk);
  }

 private:
  uint32_t R1(uint8_t state_before) {
    uint32_t s = status_errors_ | (uint32_t{state_before} << 9);
    if (state_before == kTran || state_before == kRcv) s |= 1u << 8;  // READY_FOR_DATA
    if (app_next_) s |= 1u << 5;  // APP_CMD: the next command is an application command
    status_errors_ = 0;
    return s;
  }
  std::optional<Response> Short(uint32_t v) {
    Response r;
    r.r48 = v;
    return r;
  }
  std::optional<Response> Illegal() {
    status_errors_ |= 1u << 22;  // ILLEGAL_COMMAND, reported with the next answer
    return std::nullopt;
  }
  bool Selected(uint32_t arg) const { return (arg >> 16) == rca_ && rca_ != 0; }

  void StartProgramming() {
    state_ = kPrg;
    programming_left_ = o_.programming_polls;
  }

  /// Byte (SDSC) or block (SDHC) address to a sector; false if misaligned.
  bool AddressToSector(uint32_t arg, uint64_t* sector) {
    if (o_.high_capacity) {
      *sector = arg;
      return true;
    }
    if (arg % 512 != 0) return false;
    *sector = arg / 512;
    return true;
  }

  std::optional<Response> Normal(uint8_t index, uint32_t arg) {
    const uint8_t before = state_;
    switch (index) {
      case 0:  // GO_IDLE_STATE, no response
        Reset();
        return Response{};
      case 8:  // SEND_IF_COND, R7
        if (o_.v1 || state_ != kIdle) return Illegal();
        if (((arg >> 8) & 0xf) != 1) return std::nullopt;  // voltage not supported: no answer
        v2_host_ = true;
        return Short((arg & 0xfff) ^ o_.cmd8_echo_xor);
      case 55:  // APP_CMD, R1
        if (state_ != kIdle && !Selected(arg) && !(state_ == kReady && arg == 0)) return Illegal();
        app_next_ = true;
        return Short(R1(before));
      case 2:  // ALL_SEND_CID, R2
        if (state_ != kReady) return Illegal();
        state_ = kIdent;
        return Cid();
      case 3:  // SEND_RELATIVE_ADDR, R6
        if (state_ != kIdent && state_ != kStby) return Illegal();
        state_ = kStby;
        rca_ = (o_.rca_zero_first && !rca_zero_done_) ? 0 : o_.rca;
        if (rca_ == 0) rca_zero_done_ = true;
        return Short((rca_ << 16) | (uint32_t{before} << 9));
      case 9:  // SEND_CSD, R2
        if (state_ != kStby || !Selected(arg)) return Illegal();
        return Csd();
      case 7:  // SELECT/DESELECT_CARD, R1b
        if (state_ == kStby && Selected(arg)) {
          state_ = kTran;
          return Short(R1(before));
        }
        if (state_ == kTran && !Selected(arg)) {
          state_ = kStby;
          return std::nullopt;  // deselected cards do not answer
        }
        return Illegal();
      case 13: {  // SEND_STATUS, R1
        if (!Selected(arg) || state_ < kStby) return Illegal();
        const uint32_t s = R1(before);
        if (state_ == kPrg && !o_.busy_forever) {
          if (programming_left_ > 0) --programming_left_;
          if (programming_left_ == 0) state_ = kTran;
        }
        return Short(s);
      }
      case 16:  // SET_BLOCKLEN, R1
        if (state_ != kTran) return Illegal();
        if (!o_.high_capacity && arg != 512) status_errors_ |= 1u << 29;
        block_len_ = arg;
        return Short(R1(before));
      case 17:
      case 18:
      case 24:
      case 25: {  // READ_SINGLE/MULTIPLE_BLOCK, WRITE_BLOCK/MULTIPLE_BLOCK, R1
        if (state_ != kTran) return Illegal();
        uint64_t sector = 0;
        if (!AddressToSector(arg, &sector)) {
          status_errors_ |= 1u << 30;  // ADDRESS_ERROR
          return Short(R1(before));
        }
        if (sector >= sectors()) {
          status_errors_ |= 1u << 31;  // OUT_OF_RANGE
          return Short(R1(before));
        }
        if (!o_.high_capacity) {
          EXPECT_EQ(block_len_, 512u) << "SDSC transfer before CMD16 512";
        }
        next_sector_ = sector;
        single_ = index == 17 || index == 24;
        state_ = (index == 17 || index == 18) ? kData : kRcv;
        return Short(R1(before));
      }
      case 12:  // STOP_TRANSMISSION, R1b
        if (state_ == kData) {
          state_ = kTran;
        } else if (state_ == kRcv) {
          StartProgramming();
        } else {
          return Illegal();
        }
        return Short(R1(before));
      default:
        return Illegal();
    }
  }

  std::optional<Response> AppCommand(uint8_t index, uint32_t arg) {
    const uint8_t before = state_;
    switch (index) {
      case 41: {  // SD_SEND_OP_COND, R3
        if (state_ != kIdle && state_ != kReady) return Illegal();
        uint32_t ocr = 0x00ff8000;
        if ((arg & 0x00ff8000) == 0) return Short(ocr);  // inquiry
        const bool hcs = (arg & (1u << 30)) != 0;
        // An SDHC card never becomes ready for a host that does not send HCS (§4.2.3.1).
        if (!o_.never_ready && !(o_.high_capacity && !hcs) && tries_ >= o_.power_up_tries) {
          ocr |= 1u << 31;
          if (o_.high_capacity) ocr |= 1u << 30;
          state_ = kReady;
          ocr_ready_ = true;
        }
        ++tries_;
        return Short(ocr);
      }
      case 6:  // SET_BUS_WIDTH, R1
        if (state_ != kTran) return Illegal();
        if ((arg & 3) != 0 && (arg & 3) != 2) {
          status_errors_ |= 1u << 27;  // ERASE_PARAM stands in for "bad argument"
        } else {
          bus_width_ = (arg & 3) == 2 ? 4 : 1;
        }
        return Short(R1(before));
      default:
        // Other ACMDs (and CMDs sent as ACMD) are treated as illegal here.
        return Illegal();
    }
  }

  void Reset() {
    state_ = kIdle;
    rca_ = 0;
    tries_ = 0;
    bus_width_ = 1;
    block_len_ = 512;
    ocr_ready_ = false;
    app_next_ = false;
  }

  static void Put(uint32_t (&w)[4], unsigned hi, unsigned lo, uint64_t v) {
    for (unsigned bit = lo; bit <= hi; ++bit, v >>= 1) {
      if (v & 1) w[bit / 32] |= 1u << (bit % 32);
    }
  }

  std::optional<Response> Cid() {
    Response r;
    r.r136 = true;
    Put(r.r136w, 127, 120, 0x5a);  // MID
    Put(r.r136w, 119, 104, 0x5341);  // OID "SA"
    for (int i = 0; i < 5; ++i) {
      const char c = i < static_cast<int>(o_.product.size()) ? o_.product[i] : ' ';
      Put(r.r136w, 103 - 8 * i, 96 - 8 * i, static_cast<uint8_t>(c));
    }
    Put(r.r136w, 63, 56, 0x10);         // PRV 1.0
    Put(r.r136w, 55, 24, 0x12345678);   // PSN
    Put(r.r136w, 19, 8, 0x17a);         // MDT
    Put(r.r136w, 0, 0, 1);
    return r;
  }

  std::optional<Response> Csd() {
    Response r;
    r.r136 = true;
    if (o_.high_capacity) {
      Put(r.r136w, 127, 126, 1);
      Put(r.r136w, 83, 80, 9);
      Put(r.r136w, 69, 48, o_.capacity_bytes / (512 * 1024) - 1);
    } else {
      // capacity = (C_SIZE + 1) * 2^(C_SIZE_MULT + 2) * 2^READ_BL_LEN, with C_SIZE_MULT 7.
      const uint64_t blocks = o_.capacity_bytes >> o_.read_bl_len;
      const uint64_t c_size = blocks / 512 - 1;
      EXPECT_LT(c_size, 4096u) << "SDSC capacity does not fit CSD 1.0";
      Put(r.r136w, 127, 126, 0);
      Put(r.r136w, 83, 80, o_.read_bl_len);
      Put(r.r136w, 73, 62, c_size);
      Put(r.r136w, 49, 47, 7);
    }
    Put(r.r136w, 0, 0, 1);
    return r;
  }

  FakeSdCardOptions o_;
  uint8_t state_ = kIdle;
  uint32_t rca_ = 0;
  bool rca_zero_done_ = false;
  uint32_t tries_ = 0;
  bool ocr_ready_ = false;
  bool v2_host_ = false;
  bool app_next_ = false;
  uint32_t bus_width_ = 1;
  uint32_t block_len_ = 512;
  uint32_t status_errors_ = 0;
  uint32_t programming_left_ = 0;
  bool single_ = false;
  uint64_t next_sector_ = 0;
  bool write_crc_done_ = false;
  bool read_crc_done_ = false;
  uint64_t blocks_written_ = 0;
  uint64_t blocks_read_ = 0;
  std::map<uint64_t, std::array<uint8_t, 512>> data_;
  std::set<uint64_t> written_;
  std::vector<FakeSdCommand> commands_;
};

}  // namespace salvage::testing
