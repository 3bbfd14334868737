// A behavioural fake of a block device (drivers/include/salvage/drivers/block.h) in RAM,
// for runtime/blockdump and loader/workstation/extract tests. Test-only.
//
// Like a real queue it holds a limited number of writes in flight (StartWrite says
// kResourceExhausted when every slot is busy) and performs a write only when it is
// waited for, reading the caller's buffer then: a sink that reuses a buffer before
// waiting writes the wrong bytes, and the fake also checks (by hash) that no buffer
// changed while its write was in flight. Every request is logged with its LBA range and
// the order in which things happened, for guard and ordering checks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "salvage/base/status.h"
#include "salvage/drivers/block.h"
#include "salvage/stream/format.h"

namespace salvage::blockdump::test {

class RamDisk {
 public:
  struct Write {
    uint64_t lba = 0;
    uint64_t sectors = 0;
    uint32_t ticket = 0;
    uint64_t started = 0;    ///< Event number of its StartWrite.
    uint64_t completed = 0;  ///< Event number of its completion (0: not yet).
  };
  struct FlushEvent {
    uint64_t event = 0;  ///< Event number of the flush (after the writes it waited for).
  };

  explicit RamDisk(uint64_t sectors, uint32_t sector_size = 512, uint32_t max_transfer = 128 * 1024,
                   size_t slots = 8)
      : data(sectors * sector_size, 0), sector_size_(sector_size), sectors_(sectors),
        max_transfer_(max_transfer), slots_(slots) {}

  ~RamDisk() { EXPECT_TRUE(in_flight_.empty()) << in_flight_.size() << " writes never waited for"; }

  // ---- drivers::BlockDevice ----
  uint32_t SectorSize() const { return sector_size_; }
  uint64_t SectorCount() const { return sectors_; }
  uint32_t MaxTransfer() const { return max_transfer_; }
  static const char* Name() { return "ram-disk"; }

  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    ++reads;
    if (dst.size() % sector_size_ != 0 || lba > sectors_ || dst.size() / sector_size_ > sectors_ - lba) {
      ADD_FAILURE() << "read of " << dst.size() << " bytes at LBA " << lba << " is not inside the disk";
      return {Error::kOutOfRange, "ram-disk: read outside the disk"};
    }
    if (fail_reads) return {Error::kIo, "ram-disk: read error"};
    std::memcpy(dst.data(), data.data() + lba * sector_size_, dst.size());
    return Status::Ok();
  }

  Result<uint32_t> StartWrite(uint64_t lba, std::span<const uint8_t> src) {
    if (src.empty() || src.size() % sector_size_ != 0 || src.size() > max_transfer_ || lba > sectors_ ||
        src.size() / sector_size_ > sectors_ - lba) {
      ADD_FAILURE() << "bad write of " << src.size() << " bytes at LBA " << lba;
      return Status{Error::kOutOfRange, "ram-disk: bad write"};
    }
    if (in_flight_.size() >= slots_) {
      ++busy_refusals;
      return Status{Error::kResourceExhausted, "ram-disk: every slot is busy"};
    }
    const uint32_t ticket = next_ticket_++;
    Write w;
    w.lba = lba;
    w.sectors = src.size() / sector_size_;
    w.ticket = ticket;
    w.started = ++event_;
    writes.push_back(w);
    in_flight_[ticket] = Request{src, Hash(src), writes.size() - 1};
    if (in_flight_.size() > max_in_flight) max_in_flight = in_flight_.size();
    return ticket;
  }

  Status Wait(uint32_t ticket) {
    auto it = in_flight_.find(ticket);
    if (it == in_flight_.end()) {
      ADD_FAILURE() << "Wait on ticket " << ticket << ", which is not in flight";
      return {Error::kInvalidArgument, "ram-disk: unknown ticket"};
    }
    const Status s = Complete(it->second);
    in_flight_.erase(it);
    return s;
  }

  Status WaitAll() {
    Status first;
    // Complete in reverse order: a device may finish requests in any order.
    while (!in_flight_.empty()) {
      auto it = std::prev(in_flight_.end());
      const Status s = Complete(it->second);
      if (!s.ok() && first.ok()) first = s;
      in_flight_.erase(it);
    }
    return first;
  }

  Status Flush() {
    const Status s = WaitAll();
    flushes.push_back(FlushEvent{++event_});
    return s;
  }

  // ---- test access ----
  std::vector<uint8_t> data;
  std::vector<Write> writes;  ///< In StartWrite order.
  std::vector<FlushEvent> flushes;
  size_t max_in_flight = 0;
  size_t busy_refusals = 0;
  size_t reads = 0;
  bool fail_reads = false;
  /// The write with this index (0-based, in StartWrite order) fails when it completes.
  size_t fail_write = SIZE_MAX;

  std::span<uint8_t> Sector(uint64_t lba, uint64_t count = 1) {
    return {data.data() + lba * sector_size_, count * sector_size_};
  }
  /// Bytes [lba * sector_size, ...) of `n` bytes.
  std::vector<uint8_t> Bytes(uint64_t lba, size_t n) const {
    return std::vector<uint8_t>(data.begin() + lba * sector_size_, data.begin() + lba * sector_size_ + n);
  }
  size_t InFlight() const { return in_flight_.size(); }

 private:
  struct Request {
    std::span<const uint8_t> src;
    uint64_t hash = 0;
    size_t index = 0;
  };

  static uint64_t Hash(std::span<const uint8_t> b) { return stream::Xxh64::Hash(b); }

  Status Complete(const Request& f) {
    Write& w = writes[f.index];
    w.completed = ++event_;
    if (Hash(f.src) != f.hash) {
      ADD_FAILURE() << "the buffer of the write at LBA " << w.lba << " changed while it was in flight";
    }
    if (f.index == fail_write) return {Error::kIo, "ram-disk: write error"};
    std::memcpy(data.data() + w.lba * sector_size_, f.src.data(), f.src.size());
    return Status::Ok();
  }

  uint32_t sector_size_;
  uint64_t sectors_;
  uint32_t max_transfer_;
  size_t slots_;
  uint32_t next_ticket_ = 1;
  uint64_t event_ = 0;
  std::map<uint32_t, Request> in_flight_;
};

static_assert(drivers::BlockDevice<RamDisk>);

}  // namespace salvage::blockdump::test
