// salvage::sd::SdCard — an SD memory card behind any sd::Host, as a drivers::BlockDevice.
//
// Follows the SD Specifications Part 1, Physical Layer Simplified Specification 4.10
// (the sections named below have the same titles in later versions):
//   §4.2.3 card initialization and identification: CMD0, CMD8, ACMD41, CMD2, CMD3;
//   §4.3.13 CMD8 (SEND_IF_COND): VHS 2.7-3.6 V, check pattern 0xAA;
//   §4.3.14 command functional difference in high capacity cards: SDSC cards take byte
//           addresses, SDHC/SDXC block addresses (OCR.CCS);
//   §4.6.2 timeouts: 1 s for ACMD41 power-up; busy after a write up to 250 ms (SDHC)
//           or 500 ms (SDXC) per block, so salvage waits a generous, configurable time;
//   §4.7.4 the commands; §4.8 card state transitions; §4.9 responses;
//   §4.10.1 card status (R1); §5.1 OCR; §5.3.2 CSD version 1.0; §5.3.3 CSD version 2.0.
//
// Written for a crash dump: Init() starts from whatever state the crashed kernel left
// (a card mid-transfer, a controller with a command half done): the host's software
// reset, then CMD0 (GO_IDLE_STATE is accepted in every state but inactive, §4.8).
// Nothing waits without bound: every wait is a deadline on the caller's Clock.
//
// Transfers. Reads use CMD17 (one block) or CMD18 + CMD12; writes CMD24 or CMD25 + CMD12
// (the host sends the CMD12, by Auto CMD12 where it can). After every write the card is
// polled with CMD13 until it is back in the transfer state, ready for data, and its
// status carries no error. A transfer that fails is tried again (Options::attempts in
// all): after the first failure the card is brought back to the transfer state (CMD12
// when it is still receiving or sending); after the second the whole card is
// initialised again. The error that is finally returned names the command, the sector,
// what the host saw and its status register, and the number of attempts.
//
// Writes are synchronous: StartWrite moves the data before it returns, so its ticket
// is already complete (Wait returns Ok) and a write's error is StartWrite's own.
//
// Messages. A Status carries a static text; the SD layer formats details (command,
// sector, status bits) into one of a few static buffers (internal::Message), so a
// message stays valid until several more SD errors have been formatted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <salvage/base/status.h>
#include <salvage/drivers/block.h>
#include <salvage/drivers/clock.h>
#include <salvage/sd/host.h>

namespace salvage::sd {

/// Command indices (§4.7.4). Application commands (ACMDn) follow CMD55.
struct Cmd {
  static constexpr uint8_t kGoIdleState = 0;         ///< CMD0, no response.
  static constexpr uint8_t kAllSendCid = 2;          ///< CMD2, R2.
  static constexpr uint8_t kSendRelativeAddr = 3;    ///< CMD3, R6.
  static constexpr uint8_t kSelectCard = 7;          ///< CMD7, R1b.
  static constexpr uint8_t kSendIfCond = 8;          ///< CMD8, R7.
  static constexpr uint8_t kSendCsd = 9;             ///< CMD9, R2.
  static constexpr uint8_t kStopTransmission = 12;   ///< CMD12, R1b.
  static constexpr uint8_t kSendStatus = 13;         ///< CMD13, R1.
  static constexpr uint8_t kSetBlocklen = 16;        ///< CMD16, R1.
  static constexpr uint8_t kReadSingleBlock = 17;    ///< CMD17, R1.
  static constexpr uint8_t kReadMultipleBlock = 18;  ///< CMD18, R1.
  static constexpr uint8_t kWriteBlock = 24;         ///< CMD24, R1.
  static constexpr uint8_t kWriteMultipleBlock = 25; ///< CMD25, R1.
  static constexpr uint8_t kAppCmd = 55;             ///< CMD55, R1.
  static constexpr uint8_t kAppSetBusWidth = 6;      ///< ACMD6, R1.
  static constexpr uint8_t kAppSendOpCond = 41;      ///< ACMD41, R3.
};

/// CMD8 argument (§4.3.13): VHS = 0001b (2.7-3.6 V) in bits 11:8, check pattern 0xAA in
/// bits 7:0. A v2 card echoes both in R7.
inline constexpr uint32_t kIfCondArg = 0x1AA;

/// OCR bits (§5.1), in ACMD41's argument and R3.
struct Ocr {
  static constexpr uint32_t kBusy = 1u << 31;        ///< 1: power-up done ("not busy").
  static constexpr uint32_t kCcs = 1u << 30;         ///< Card capacity status (valid when kBusy): SDHC/SDXC.
  static constexpr uint32_t kHcs = 1u << 30;         ///< In ACMD41: host supports high capacity.
  static constexpr uint32_t kVoltageWindow = 0x00FF8000;  ///< 2.7-3.6 V (bits 23:15).
  // 14:0 reserved (bit 7: low voltage range), 29 UHS-II, 24 S18A: not used.
};

/// Card status bits (R1, CMD13; §4.10.1).
struct CardStatus {
  static constexpr uint32_t kOutOfRange = 1u << 31;
  static constexpr uint32_t kAddressError = 1u << 30;
  static constexpr uint32_t kBlockLenError = 1u << 29;
  static constexpr uint32_t kEraseSeqError = 1u << 28;
  static constexpr uint32_t kEraseParam = 1u << 27;
  static constexpr uint32_t kWpViolation = 1u << 26;
  static constexpr uint32_t kCardIsLocked = 1u << 25;
  static constexpr uint32_t kLockUnlockFailed = 1u << 24;
  static constexpr uint32_t kComCrcError = 1u << 23;
  static constexpr uint32_t kIllegalCommand = 1u << 22;
  static constexpr uint32_t kCardEccFailed = 1u << 21;
  static constexpr uint32_t kCcError = 1u << 20;
  static constexpr uint32_t kError = 1u << 19;
  // 18:17 reserved; 16 CSD_OVERWRITE; 15 WP_ERASE_SKIP; 14 CARD_ECC_DISABLED; 13 ERASE_RESET.
  static constexpr uint32_t kCsdOverwrite = 1u << 16;
  static constexpr uint32_t kStateShift = 9;          ///< CURRENT_STATE, bits 12:9.
  static constexpr uint32_t kStateMask = 0xFu << 9;
  static constexpr uint32_t kReadyForData = 1u << 8;
  static constexpr uint32_t kAppCmd = 1u << 5;
  /// Bits that mean the last command (or the write before a CMD13) failed.
  static constexpr uint32_t kErrors = kOutOfRange | kAddressError | kBlockLenError | kEraseSeqError | kEraseParam |
                                      kWpViolation | kLockUnlockFailed | kComCrcError | kIllegalCommand |
                                      kCardEccFailed | kCcError | kError | kCsdOverwrite;
};

/// CURRENT_STATE values (§4.10.1, table 4-42).
enum class CardState : uint8_t {
  kIdle = 0, kReady = 1, kIdent = 2, kStby = 3, kTran = 4, kData = 5, kRcv = 6, kPrg = 7, kDis = 8,
};

constexpr CardState StateOf(uint32_t card_status) {
  return static_cast<CardState>((card_status & CardStatus::kStateMask) >> CardStatus::kStateShift);
}

constexpr const char* StateName(CardState s) {
  switch (s) {
    case CardState::kIdle: return "idle";
    case CardState::kReady: return "ready";
    case CardState::kIdent: return "ident";
    case CardState::kStby: return "stby";
    case CardState::kTran: return "tran";
    case CardState::kData: return "data";
    case CardState::kRcv: return "rcv";
    case CardState::kPrg: return "prg";
    case CardState::kDis: return "dis";
  }
  return "reserved";
}

/// The name of the most significant error bit in a card status, for messages.
constexpr const char* CardStatusErrorName(uint32_t status) {
  struct Named {
    uint32_t bit;
    const char* name;
  };
  constexpr Named kNames[] = {
      {CardStatus::kOutOfRange, "OUT_OF_RANGE"},         {CardStatus::kAddressError, "ADDRESS_ERROR"},
      {CardStatus::kBlockLenError, "BLOCK_LEN_ERROR"},   {CardStatus::kEraseSeqError, "ERASE_SEQ_ERROR"},
      {CardStatus::kEraseParam, "ERASE_PARAM"},          {CardStatus::kWpViolation, "WP_VIOLATION"},
      {CardStatus::kLockUnlockFailed, "LOCK_UNLOCK_FAILED"}, {CardStatus::kComCrcError, "COM_CRC_ERROR"},
      {CardStatus::kIllegalCommand, "ILLEGAL_COMMAND"},  {CardStatus::kCardEccFailed, "CARD_ECC_FAILED"},
      {CardStatus::kCcError, "CC_ERROR"},                {CardStatus::kError, "ERROR"},
      {CardStatus::kCsdOverwrite, "CSD_OVERWRITE"},
  };
  for (const Named& n : kNames) {
    if ((status & n.bit) != 0) return n.name;
  }
  return "no error bit";
}

/// Bits hi..lo (hi - lo < 32) of a 128-bit register held as four words, word 0 = bits 31:0.
constexpr uint32_t Bits128(const uint32_t (&r)[4], unsigned hi, unsigned lo) {
  uint32_t v = 0;
  for (unsigned bit = hi + 1; bit-- > lo;) v = (v << 1) | ((r[bit / 32] >> (bit % 32)) & 1u);
  return v;
}

/// What the CSD (§5.3) says about capacity.
struct CsdCapacity {
  uint8_t structure = 0;  ///< CSD_STRUCTURE: 0 v1.0 (SDSC), 1 v2.0 (SDHC/SDXC), 2 v3.0 (SDUC).
  uint64_t sectors = 0;   ///< User area in 512-byte sectors.
};

/// Reads CSD_STRUCTURE [127:126] and the capacity:
///   v1.0: (C_SIZE [73:62] + 1) * 2^(C_SIZE_MULT [49:47] + 2) blocks of 2^READ_BL_LEN [83:80] bytes;
///   v2.0: (C_SIZE [69:48] + 1) * 512 KiB.
/// kUnsupported for v3.0 (SDUC: over 2 TiB, needs the SDUC protocol) and reserved values;
/// kMalformed for a v1.0 READ_BL_LEN outside 9..11 (§5.3.2 allows 512, 1024 and 2048).
constexpr Result<CsdCapacity> ParseCsd(const uint32_t (&csd)[4]) {
  CsdCapacity c;
  c.structure = static_cast<uint8_t>(Bits128(csd, 127, 126));
  if (c.structure == 0) {
    const uint32_t read_bl_len = Bits128(csd, 83, 80);
    if (read_bl_len < 9 || read_bl_len > 11) {
      return Status(Error::kMalformed, "sd: CSD v1.0 READ_BL_LEN is not 512, 1024 or 2048 bytes");
    }
    const uint64_t c_size = Bits128(csd, 73, 62);
    const uint32_t c_size_mult = Bits128(csd, 49, 47);
    const uint64_t bytes = (c_size + 1) << (c_size_mult + 2 + read_bl_len);
    c.sectors = bytes / 512;
    return c;
  }
  if (c.structure == 1) {
    const uint64_t c_size = Bits128(csd, 69, 48);
    c.sectors = (c_size + 1) * 1024;  // 512 KiB = 1024 sectors
    return c;
  }
  if (c.structure == 2) return Status(Error::kUnsupported, "sd: CSD v3.0 (SDUC card, over 2 TiB) is not supported");
  return Status(Error::kMalformed, "sd: CSD_STRUCTURE has the reserved value 3");
}

namespace internal {

inline constexpr size_t kMessageBytes = 192;
inline constexpr size_t kMessageSlots = 4;
/// Static storage for formatted SD messages (a Status keeps a pointer into it).
constinit inline char g_messages[kMessageSlots][kMessageBytes] = {};
constinit inline size_t g_next_message = 0;

/// Builds one message in the next static buffer; truncates what does not fit. Only on
/// error paths: kept out of line (one copy however many drivers use it).
class Message {
 public:
  Message() : buf_(g_messages[g_next_message++ % kMessageSlots]) { buf_[0] = '\0'; }
  [[gnu::noinline, gnu::cold]] Message& Text(const char* s) {
    while (*s != '\0' && len_ + 1 < kMessageBytes) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  [[gnu::noinline, gnu::cold]] Message& Hex(uint64_t v, int digits = 8) {
    char tmp[17];
    int n = 0;
    while ((v != 0 || n < digits) && n < 16) {
      tmp[n++] = "0123456789abcdef"[v & 0xf];
      v >>= 4;
    }
    Text("0x");
    char out[17];
    for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return Text(out);
  }
  [[gnu::noinline, gnu::cold]] Message& Dec(uint64_t v) {
    char tmp[21];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    char out[21];
    for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return Text(out);
  }
  [[gnu::noinline, gnu::cold]] Message& Command(uint8_t index, bool app) { return Text(app ? "ACMD" : "CMD").Dec(index); }
  const char* c_str() const { return buf_; }
  Status As(Error e) const { return Status(e, buf_); }

 private:
  char* buf_;
  size_t len_ = 0;
};

}  // namespace internal

/// How the card layer behaves. The defaults suit a crash dump on a Raspberry Pi.
struct Options {
  uint32_t ident_clock_hz = 400'000;       ///< Identification clock (§4.2: at most 400 kHz).
  uint32_t data_clock_hz = 25'000'000;     ///< Default Speed (§4.2: up to 25 MHz).
  uint32_t bus_width = 4;                  ///< Widest bus to use: 4 (ACMD6) or 1.
  uint32_t power_up_timeout_us = 1'000'000;  ///< ACMD41 until the card is ready (§4.2.3: 1 s).
  uint32_t power_up_poll_us = 2'000;       ///< Pause between ACMD41 tries.
  uint32_t busy_timeout_us = 2'000'000;    ///< CMD13 until back in tran after a write (per transfer).
  uint32_t attempts = 3;                   ///< Tries per transfer (see the file comment).
  uint32_t max_transfer = 1u << 20;        ///< Bytes per StartWrite/host transfer (multiple of 512;
                                           ///< at most the host's kMaxBlocks sectors).
};

/// What Init found; valid after a successful Init.
struct CardInfo {
  bool v2 = false;             ///< Answered CMD8 (Physical Layer 2.00 or later).
  bool high_capacity = false;  ///< OCR.CCS: SDHC/SDXC, block addressing.
  uint32_t ocr = 0;
  uint16_t rca = 0;
  uint32_t cid[4] = {};
  uint8_t csd_structure = 0;
  uint32_t bus_width = 1;
  uint32_t clock_hz = 0;
  uint32_t inits = 0;          ///< Successful initialisations (1 + re-inits after failed retries).
  uint32_t retries = 0;        ///< Transfer attempts beyond the first, in all.
  /// Product name from the CID (PNM, bits 103:64), NUL-terminated.
  char product[6] = {};
};

/// An SD memory card behind host `H`, timed by clock `C`.
template <Host H, drivers::Clock C>
class SdCard {
 public:
  static constexpr uint32_t kSectorSize = 512;
  static constexpr size_t kMaxTickets = 64;

  /// Nothing is touched until Init.
  SdCard(H host, C& clock, Options options = {}) : host_(host), clock_(&clock), options_(options) {
    if (options_.max_transfer > uint64_t{H::kMaxBlocks} * kSectorSize) options_.max_transfer = H::kMaxBlocks * kSectorSize;
    if (options_.max_transfer < kSectorSize) options_.max_transfer = kSectorSize;
    options_.max_transfer -= options_.max_transfer % kSectorSize;
    if (options_.attempts == 0) options_.attempts = 1;
  }

  /// Resets the host and brings the card from any state to the transfer state (see the
  /// file comment). Errors (the message names the command and the host's status):
  ///   kNotFound     no card answers (CMD8 and CMD55 get no response);
  ///   kTimeout      the card stays busy in ACMD41 past power_up_timeout_us, or the host
  ///                 does not settle;
  ///   kUnsupported  the card refuses 2.7-3.6 V, is an SDUC card, or CMD8's echo is wrong;
  ///   kIo           any other command failure (response CRC, card status error bits).
  Status Init() {
    ready_ = false;
    SALVAGE_TRY(host_.Reset());
    if (Status s = host_.SetClock(options_.ident_clock_hz); !s.ok()) return s;
    // CMD0: from any state (but inactive) to idle. No response; a host error here is the
    // controller's, not the card's.
    if (Outcome o = Run(Cmd::kGoIdleState, 0, ResponseType::kNone); !o.ok() && o.fault != Fault::kNoResponse) {
      return Fail(Cmd::kGoIdleState, false, o);
    }
    clock_->DelayMicros(1000);

    // CMD8: a v2 card echoes the argument; a v1 card (or no card) does not answer.
    Outcome if_cond = Run(Cmd::kSendIfCond, kIfCondArg, ResponseType::kR7);
    const uint32_t inits = info_.inits, retries = info_.retries;
    info_ = CardInfo{};
    info_.inits = inits;
    info_.retries = retries;
    if (if_cond.ok()) {
      if ((if_cond.response[0] & 0xFFF) != kIfCondArg) {
        return internal::Message()
            .Text("sd: CMD8: the card echoed ")
            .Hex(if_cond.response[0] & 0xFFF, 3)
            .Text(", expected 0x1aa (2.7-3.6 V refused or a broken card)")
            .As(Error::kUnsupported);
      }
      info_.v2 = true;
    } else if (if_cond.fault != Fault::kNoResponse) {
      return Fail(Cmd::kSendIfCond, false, if_cond);
    }

    SALVAGE_TRY(PowerUp(if_cond));

    // CMD2 (CID), CMD3 (RCA, repeated while the card publishes 0), CMD9 (CSD).
    Outcome cid = Run(Cmd::kAllSendCid, 0, ResponseType::kR2);
    if (!cid.ok()) return Fail(Cmd::kAllSendCid, false, cid);
    for (int i = 0; i < 4; ++i) info_.cid[i] = cid.response[i];
    for (int i = 0; i < 5; ++i) info_.product[i] = static_cast<char>(Bits128(info_.cid, 103 - 8 * i, 96 - 8 * i));
    info_.product[5] = '\0';
    for (int tries = 0; info_.rca == 0 && tries < 3; ++tries) {
      Outcome rca = Run(Cmd::kSendRelativeAddr, 0, ResponseType::kR6);
      if (!rca.ok()) return Fail(Cmd::kSendRelativeAddr, false, rca);
      info_.rca = static_cast<uint16_t>(rca.response[0] >> 16);
    }
    if (info_.rca == 0) return Status(Error::kIo, "sd: CMD3: the card keeps publishing RCA 0");
    Outcome csd = Run(Cmd::kSendCsd, Rca(), ResponseType::kR2);
    if (!csd.ok()) return Fail(Cmd::kSendCsd, false, csd);
    Result<CsdCapacity> capacity = ParseCsd(csd.response);
    if (!capacity.ok()) return capacity.status();
    if (capacity->sectors == 0) return Status(Error::kMalformed, "sd: the CSD gives a capacity of 0");
    if (!info_.high_capacity && capacity->sectors > (uint64_t{1} << 32) / kSectorSize) {
      return Status(Error::kUnsupported, "sd: a byte-addressed (SDSC) card larger than 4 GiB");
    }
    if (sectors_ != 0 && capacity->sectors != sectors_) {
      return Status(Error::kIo, "sd: after a re-initialisation the card reports another capacity");
    }
    info_.csd_structure = capacity->structure;
    sectors_ = capacity->sectors;

    // Data clock, select (stby -> tran), bus width, block length.
    SALVAGE_TRY(host_.SetClock(options_.data_clock_hz));
    if (Outcome o = Run(Cmd::kSelectCard, Rca(), ResponseType::kR1b); !o.ok()) {
      return Fail(Cmd::kSelectCard, false, o);
    }
    info_.bus_width = 1;
    if (options_.bus_width >= 4 && host_.MaxBusWidth() >= 4) {
      Outcome app = Run(Cmd::kAppCmd, Rca(), ResponseType::kR1);
      Outcome width = app.ok() ? Run(Cmd::kAppSetBusWidth, 2, ResponseType::kR1) : app;
      if (width.ok() && (width.response[0] & CardStatus::kErrors) == 0 && host_.SetBusWidth(4).ok()) {
        info_.bus_width = 4;
      }
    }
    if (!info_.high_capacity) {
      // SDSC cards may have 1024- or 2048-byte READ_BL_LEN; transfers are 512 bytes.
      Outcome o = Run(Cmd::kSetBlocklen, kSectorSize, ResponseType::kR1);
      if (!o.ok()) return Fail(Cmd::kSetBlocklen, false, o);
      if ((o.response[0] & CardStatus::kErrors) != 0) return CardError(Cmd::kSetBlocklen, false, o.response[0], -1);
    }
    SALVAGE_TRY(WaitTransferState(Cmd::kSelectCard, nullptr));
    info_.clock_hz = host_.ClockHz();
    ++info_.inits;
    ready_ = true;
    return Status::Ok();
  }

  static constexpr uint32_t SectorSize() { return kSectorSize; }
  /// Capacity from the CSD, in 512-byte sectors (0 before Init).
  uint64_t SectorCount() const { return sectors_; }
  uint32_t MaxTransfer() const { return options_.max_transfer; }
  static constexpr const char* Name() { return "sd"; }
  const CardInfo& info() const { return info_; }
  H& host() { return host_; }

  /// Reads dst.size() bytes (whole sectors) from `lba`, in pieces of MaxTransfer().
  /// kInvalidArgument (not whole sectors, before Init), kOutOfRange (beyond the card),
  /// or the transfer's error (see the file comment).
  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    SALVAGE_TRY(CheckRequest(lba, dst.size()));
    while (!dst.empty()) {
      const size_t n = dst.size() < options_.max_transfer ? dst.size() : options_.max_transfer;
      SALVAGE_TRY(Transfer(DataDirection::kRead, lba, dst.data(), static_cast<uint32_t>(n / kSectorSize)));
      dst = dst.subspan(n);
      lba += n / kSectorSize;
    }
    return Status::Ok();
  }

  /// Writes `src` (whole sectors, at most MaxTransfer()) at `lba` before returning, and
  /// returns a ticket that is already complete. kResourceExhausted when kMaxTickets
  /// tickets are uncollected; kInvalidArgument, kOutOfRange as Read; the write's error.
  Result<uint32_t> StartWrite(uint64_t lba, std::span<const uint8_t> src) {
    SALVAGE_TRY(CheckRequest(lba, src.size()));
    if (src.size() > options_.max_transfer) return Status(Error::kInvalidArgument, "sd: write larger than MaxTransfer()");
    size_t slot = 0;
    while (slot < kMaxTickets && tickets_[slot] != 0) ++slot;
    if (slot == kMaxTickets) return Status(Error::kResourceExhausted, "sd: every ticket is uncollected (Wait for one)");
    SALVAGE_TRY(Transfer(DataDirection::kWrite, lba, const_cast<uint8_t*>(src.data()),
                         static_cast<uint32_t>(src.size() / kSectorSize)));
    generation_ = (generation_ + 1) & 0xffffffu;
    if (generation_ == 0) generation_ = 1;
    tickets_[slot] = generation_;
    return generation_ << 8 | static_cast<uint32_t>(slot);
  }

  /// Collects a ticket (its write is done). kInvalidArgument for an unknown ticket.
  Status Wait(uint32_t ticket) {
    const size_t slot = ticket & 0xffu;
    if (slot >= kMaxTickets || tickets_[slot] == 0 || tickets_[slot] != ticket >> 8) {
      return Status(Error::kInvalidArgument, "sd: Wait on a ticket that is unknown or already collected");
    }
    tickets_[slot] = 0;
    return Status::Ok();
  }

  /// Collects every ticket.
  Status WaitAll() {
    tickets_.fill(0);
    return Status::Ok();
  }

  /// WaitAll. Every write already waited (CMD13) until the card left the programming
  /// state, and salvage never enables the card's cache (SD 6.00 §4.17), so there is
  /// nothing more to flush.
  Status Flush() { return WaitAll(); }

 private:
  uint32_t Rca() const { return uint32_t{info_.rca} << 16; }

  Outcome Run(uint8_t index, uint32_t arg, ResponseType type, const DataPhase& data = {}) {
    return host_.Run(Command{index, arg, type}, data);
  }

  /// "sd: CMD9: response CRC error; sdhci INT_STATUS 0x00028001"
  [[gnu::noinline, gnu::cold]] Status Fail(uint8_t index, bool app, const Outcome& o, uint64_t lba = ~uint64_t{0},
              uint32_t attempts = 0) {
    internal::Message m;
    m.Text("sd: ").Command(index, app);
    if (lba != ~uint64_t{0}) m.Text(" at sector ").Dec(lba);
    m.Text(": ").Text(FaultName(o.fault)).Text("; ").Text(H::Name()).Text(" ").Text(H::StatusName()).Text(" ");
    m.Hex(o.status_bits);
    if (attempts > 1) m.Text("; after ").Dec(attempts).Text(" attempts");
    Error e = Error::kIo;
    if (o.fault == Fault::kHostTimeout || o.fault == Fault::kHostBusy || o.fault == Fault::kDataTimeout) {
      e = Error::kTimeout;
    }
    return m.As(e);
  }

  /// "sd: CMD24 at sector 12: card status 0x04000900 (WP_VIOLATION, state rcv)"; with
  /// `after` >= 0: "sd: CMD13 after CMD25 at sector 12: ...".
  [[gnu::noinline, gnu::cold]] Status CardError(uint8_t index, bool app, uint32_t status, int after, uint64_t lba = ~uint64_t{0},
                   uint32_t attempts = 0) {
    internal::Message m;
    m.Text("sd: ").Command(index, app);
    if (after >= 0) m.Text(" after ").Command(static_cast<uint8_t>(after), false);
    if (lba != ~uint64_t{0}) m.Text(" at sector ").Dec(lba);
    m.Text(": card status ").Hex(status).Text(" (").Text(CardStatusErrorName(status)).Text(", state ");
    m.Text(StateName(StateOf(status))).Text(")");
    if (attempts > 1) m.Text("; after ").Dec(attempts).Text(" attempts");
    return m.As((status & (CardStatus::kOutOfRange | CardStatus::kAddressError)) != 0 ? Error::kOutOfRange
                                                                                        : Error::kIo);
  }

  /// ACMD41 until the card is powered up (§4.2.3), with HCS when it answered CMD8.
  Status PowerUp(const Outcome& if_cond) {
    const uint32_t arg = Ocr::kVoltageWindow | (info_.v2 ? Ocr::kHcs : 0);
    drivers::Deadline<C> deadline(*clock_, options_.power_up_timeout_us);
    uint32_t ocr = 0;
    for (;;) {
      Outcome app = Run(Cmd::kAppCmd, 0, ResponseType::kR1);
      if (!app.ok()) {
        if (app.fault == Fault::kNoResponse && !info_.v2) return NoCard(if_cond, app);
        return Fail(Cmd::kAppCmd, false, app);
      }
      Outcome op = Run(Cmd::kAppSendOpCond, arg, ResponseType::kR3);
      if (!op.ok()) return Fail(Cmd::kAppSendOpCond, true, op);
      ocr = op.response[0];
      if ((ocr & Ocr::kBusy) != 0) break;
      if (deadline.Expired()) {
        return internal::Message()
            .Text("sd: ACMD41: the card stayed busy (powering up) for ")
            .Dec(options_.power_up_timeout_us / 1000)
            .Text(" ms; OCR ")
            .Hex(ocr)
            .As(Error::kTimeout);
      }
      clock_->DelayMicros(options_.power_up_poll_us);
    }
    if ((ocr & Ocr::kVoltageWindow) == 0) {
      return internal::Message()
          .Text("sd: ACMD41: the card supports no voltage in 2.7-3.6 V; OCR ")
          .Hex(ocr)
          .As(Error::kUnsupported);
    }
    info_.ocr = ocr;
    info_.high_capacity = info_.v2 && (ocr & Ocr::kCcs) != 0;
    return Status::Ok();
  }

  /// "sd: no card: CMD8 and CMD55 got no response (timeout); sdhci INT_STATUS 0x...; the slot is empty"
  [[gnu::noinline, gnu::cold]] Status NoCard(const Outcome& if_cond, const Outcome& app) {
    internal::Message m;
    m.Text("sd: no card answers: CMD8 and CMD55 got no response (timeout); ").Text(H::Name()).Text(" ");
    m.Text(H::StatusName()).Text(" ").Hex(app.status_bits);
    (void)if_cond;
    switch (host_.Detect()) {
      case CardDetect::kAbsent: m.Text("; the controller sees no card in the slot"); break;
      case CardDetect::kPresent: m.Text("; the controller sees a card in the slot"); break;
      case CardDetect::kUnknown: break;
    }
    return m.As(Error::kNotFound);
  }

  /// CMD13 until the card is in tran and ready for data, with no error bits
  /// (busy_timeout_us). `after_cmd`/`lba` name the command being finished, for messages.
  Status WaitTransferState(uint8_t after_cmd, const uint64_t* lba, uint32_t attempts = 0) {
    drivers::Deadline<C> deadline(*clock_, options_.busy_timeout_us);
    for (;;) {
      Outcome o = Run(Cmd::kSendStatus, Rca(), ResponseType::kR1);
      if (!o.ok()) return Fail(Cmd::kSendStatus, false, o, lba != nullptr ? *lba : ~uint64_t{0}, attempts);
      const uint32_t status = o.response[0];
      if ((status & CardStatus::kErrors) != 0) {
        return CardError(Cmd::kSendStatus, false, status, after_cmd, lba != nullptr ? *lba : ~uint64_t{0}, attempts);
      }
      if (StateOf(status) == CardState::kTran && (status & CardStatus::kReadyForData) != 0) return Status::Ok();
      if (deadline.Expired()) {
        internal::Message m;
        m.Text("sd: CMD13 after ").Command(after_cmd, false);
        if (lba != nullptr) m.Text(" at sector ").Dec(*lba);
        m.Text(": the card stayed in state ").Text(StateName(StateOf(status))).Text(" for ");
        m.Dec(options_.busy_timeout_us / 1000).Text(" ms; card status ").Hex(status);
        return m.As(Error::kTimeout);
      }
      clock_->DelayMicros(10);
    }
  }

  Status CheckRequest(uint64_t lba, size_t bytes) const {
    if (!ready_) return Status(Error::kInvalidArgument, "sd: used before a successful Init");
    if (bytes == 0 || bytes % kSectorSize != 0) {
      return Status(Error::kInvalidArgument, "sd: transfer is not a whole number of sectors");
    }
    const uint64_t sectors = bytes / kSectorSize;
    if (lba > sectors_ || sectors > sectors_ - lba) return Status(Error::kOutOfRange, "sd: request beyond the end of the card");
    return Status::Ok();
  }

  /// One transfer with retries (see the file comment).
  Status Transfer(DataDirection dir, uint64_t lba, uint8_t* data, uint32_t blocks) {
    Status last;
    for (uint32_t attempt = 1;; ++attempt) {
      last = TransferOnce(dir, lba, data, blocks, attempt);
      if (last.ok()) return last;
      // An address the card refuses will not get better.
      if (last.error() == Error::kOutOfRange || attempt >= options_.attempts) return last;
      ++info_.retries;
      if (attempt == 1 && Recover().ok()) continue;
      if (Status s = Init(); !s.ok()) {
        return internal::Message()
            .Text(last.what())
            .Text("; re-initialising the card failed too")
            .As(last.error());
      }
    }
  }

  Status TransferOnce(DataDirection dir, uint64_t lba, uint8_t* data, uint32_t blocks, uint32_t attempt) {
    if (!ready_) return Status(Error::kIo, "sd: the card is not initialised (an earlier re-initialisation failed)");
    const bool multi = blocks > 1;
    const bool read = dir == DataDirection::kRead;
    const uint8_t index = read ? (multi ? Cmd::kReadMultipleBlock : Cmd::kReadSingleBlock)
                               : (multi ? Cmd::kWriteMultipleBlock : Cmd::kWriteBlock);
    // §4.3.14: SDSC cards take a byte address (checked to fit at Init), SDHC/SDXC a block number.
    const uint32_t arg = static_cast<uint32_t>(info_.high_capacity ? lba : lba * kSectorSize);
    DataPhase phase;
    phase.direction = dir;
    phase.block_size = kSectorSize;
    phase.blocks = blocks;
    if (read) {
      phase.read_to = data;
    } else {
      phase.write_from = data;
    }
    phase.stop_after = multi;
    Outcome o = Run(index, arg, ResponseType::kR1, phase);
    if (!o.ok()) return Fail(index, false, o, lba, attempt);
    if ((o.response[0] & CardStatus::kErrors) != 0) return CardError(index, false, o.response[0], -1, lba, attempt);
    // After a write the card programs the data (prg) before it is back in tran.
    return WaitTransferState(index, &lba, attempt);
  }

  /// Brings the card back to tran after a failed transfer: CMD12 if it is still in a
  /// data state, then CMD13 until tran.
  Status Recover() {
    Outcome st = Run(Cmd::kSendStatus, Rca(), ResponseType::kR1);
    if (!st.ok()) return Status(Error::kIo, "sd: recovery: CMD13 failed");
    const CardState state = StateOf(st.response[0]);
    if (state == CardState::kData || state == CardState::kRcv) {
      Outcome stop = Run(Cmd::kStopTransmission, 0, ResponseType::kR1b);
      if (!stop.ok()) return Status(Error::kIo, "sd: recovery: CMD12 failed");
    } else if (state != CardState::kTran && state != CardState::kPrg) {
      return Status(Error::kIo, "sd: recovery: the card left the transfer state");
    }
    return WaitTransferState(Cmd::kStopTransmission, nullptr);
  }

  H host_;
  C* clock_;
  Options options_;
  CardInfo info_;
  uint64_t sectors_ = 0;
  bool ready_ = false;
  std::array<uint32_t, kMaxTickets> tickets_{};  ///< Generation per uncollected ticket, 0 = free.
  uint32_t generation_ = 0;
};

}  // namespace salvage::sd
