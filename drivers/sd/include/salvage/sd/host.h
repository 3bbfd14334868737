// salvage::sd — the contract between the SD protocol layer (card.h) and an SD host
// controller driver (sdhci.h, bcm2835-sdhost.h).
//
// The host knows registers; the card layer knows the SD protocol (SD Physical Layer
// Simplified Specification 4.10: commands §4.7, responses §4.9). A host runs one
// command at a time, with or without a data phase moved by PIO, and reports what went
// wrong as a `Fault` plus its raw status bits, so the card layer can say which command
// failed and how ("sd: CMD8: no response (timeout); sdhci INT_STATUS 0x00018000").
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

#include <salvage/base/status.h>

namespace salvage::sd {

/// Response formats (§4.9). R1b is R1 with busy signalled on DAT0 afterwards; the host
/// waits for the busy to end before it reports the command done.
enum class ResponseType : uint8_t {
  kNone,  ///< CMD0.
  kR1,    ///< 48-bit, card status, CRC and index checked.
  kR1b,   ///< R1 with busy.
  kR2,    ///< 136-bit CID/CSD, CRC checked, no index.
  kR3,    ///< 48-bit OCR, neither CRC nor index (ACMD41).
  kR6,    ///< 48-bit published RCA (CMD3), CRC and index checked.
  kR7,    ///< 48-bit interface condition (CMD8), CRC and index checked.
};

/// One command on the CMD line.
struct Command {
  uint8_t index = 0;  ///< 0..63.
  uint32_t arg = 0;
  ResponseType response = ResponseType::kNone;
};

enum class DataDirection : uint8_t { kNone, kRead, kWrite };

/// The data phase of a command, moved by PIO through the host's data port.
struct DataPhase {
  DataDirection direction = DataDirection::kNone;
  uint32_t block_size = 512;   ///< Bytes per block (512; 8 for the SCR).
  uint32_t blocks = 0;         ///< 1 for CMD17/CMD24; more for CMD18/CMD25.
  uint8_t* read_to = nullptr;  ///< direction kRead: blocks * block_size bytes.
  const uint8_t* write_from = nullptr;  ///< direction kWrite: blocks * block_size bytes.
  /// Multi-block: the host ends the transfer with CMD12 (STOP_TRANSMISSION, R1b) after
  /// the last block, by Auto CMD12 where it has one or by itself otherwise.
  bool stop_after = false;
};

/// What went wrong with one command, as the host saw it.
enum class Fault : uint8_t {
  kNone,
  kNoResponse,      ///< Command timeout: no card, or the card ignored the command.
  kResponseCrc,     ///< Response CRC error.
  kResponseOther,   ///< Response end bit or index error.
  kDataTimeout,     ///< Data (or busy) timeout on DAT.
  kDataCrc,         ///< A data block's CRC (or the card's CRC status token) was wrong.
  kDataOther,       ///< Data end bit error, or a FIFO error.
  kStopFailed,      ///< The CMD12 after the data (Auto CMD12 or the host's own) failed.
  kHostTimeout,     ///< The controller did not signal completion in time.
  kHostBusy,        ///< The controller's CMD/DAT lines stayed busy (inhibit) before the command.
};

/// Short text of a Fault, for messages.
constexpr const char* FaultName(Fault f) {
  switch (f) {
    case Fault::kNone: return "ok";
    case Fault::kNoResponse: return "no response (timeout)";
    case Fault::kResponseCrc: return "response CRC error";
    case Fault::kResponseOther: return "response end bit or index error";
    case Fault::kDataTimeout: return "data timeout";
    case Fault::kDataCrc: return "data CRC error";
    case Fault::kDataOther: return "data end bit or FIFO error";
    case Fault::kStopFailed: return "CMD12 after the data failed";
    case Fault::kHostTimeout: return "controller did not complete in time";
    case Fault::kHostBusy: return "controller lines stayed busy";
  }
  return "?";
}

/// The result of one command. For R2 the 128-bit register (CID or CSD) is in
/// `response[0]` (bits 31:0) to `response[3]` (bits 127:96), with bits 7:0 (CRC7 and
/// the end bit) undefined; for the 48-bit responses `response[0]` is the 32-bit payload
/// (card status, OCR, RCA and status, or the CMD8 echo).
struct Outcome {
  Fault fault = Fault::kNone;
  uint32_t status_bits = 0;  ///< The host's raw status register when it failed (for the message).
  uint32_t response[4] = {};
  /// The data phase stopped early: blocks moved before the fault (reads and writes).
  uint32_t blocks_done = 0;
  constexpr bool ok() const { return fault == Fault::kNone; }
};

/// What the host can tell about the card slot.
enum class CardDetect : uint8_t { kPresent, kAbsent, kUnknown };

/// An SD host controller:
///   Reset()                 software reset of the whole controller (whatever a crashed
///                           kernel left running is abandoned), bus power on, 1-bit bus,
///                           card clock stopped (SetClock starts it). kTimeout when the
///                           reset does not complete.
///   SetClock(hz)            card clock at most `hz` (0 stops it). Errors like Reset.
///   ClockHz()               the card clock now (what SetClock achieved).
///   SetBusWidth(bits)       1 or 4; kUnsupported for a width the host cannot drive.
///   MaxBusWidth()           4 (or 1 where the board wires one data line).
///   Detect()                whether a card is in the slot, if the host can tell.
///   Run(cmd, data)          issues `cmd` and, when data.direction is not kNone, moves
///                           its data by PIO; waits (bounded) for completion. After a
///                           fault the host has reset its CMD and DAT state machines, so
///                           the next Run can go ahead.
///   kMaxBlocks              the most blocks one data phase can move (the block count
///                           register's range).
///   Name()                  "sdhci"; StatusName(): the register status_bits holds.
///   Config, kCompatibles    what its constructor takes besides the registers and the
///                           clock; the devicetree `compatible` strings it drives
///                           (sd/all.h builds the binding's table from them).
template <class H>
concept Host = requires(H& h, const H& ch, const Command& cmd, const DataPhase& data, uint32_t hz, uint32_t bits) {
  { H::kMaxBlocks } -> std::convertible_to<uint32_t>;
  { h.Reset() } -> std::same_as<Status>;
  { h.SetClock(hz) } -> std::same_as<Status>;
  { ch.ClockHz() } -> std::same_as<uint32_t>;
  { h.SetBusWidth(bits) } -> std::same_as<Status>;
  { ch.MaxBusWidth() } -> std::same_as<uint32_t>;
  { h.Detect() } -> std::same_as<CardDetect>;
  { h.Run(cmd, data) } -> std::same_as<Outcome>;
  { H::Name() } -> std::convertible_to<const char*>;
  { H::StatusName() } -> std::convertible_to<const char*>;
  typename H::Config;
  { H::kCompatibles.size() } -> std::convertible_to<size_t>;
};

}  // namespace salvage::sd
