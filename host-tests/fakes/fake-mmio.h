// salvage::testing — register-access fakes for driver tests (test-only; uses
// GoogleTest and the host standard library).
//
// Two fakes, both satisfying drivers::Io, both small handles that a driver copies
// while the state stays with the test:
//
//   FakeMmioScript + FakeMmio: an ordered script of expected accesses. Every access
//   the driver makes must match the next expectation (read/write, width, offset,
//   and for writes the value); a mismatch is an ADD_FAILURE naming both sides, and
//   the script's destructor fails the test if expectations were left unused.
//
//     FakeMmioScript script;
//     script.ExpectRead32(0x00, 0x18);   // PutChar: UARTFR, TXFF clear.
//     script.ExpectWrite32(0x41, 0x00);  // PutChar: UARTDR = 'A'.
//     Pl011 uart(FakeMmio(script), config);
//     uart.PutChar('A');
//
//   FakeRegisterFile + FakeRegisterFileIo: a behavioural device for polling loops.
//   Each register holds a value; reads may first drain a queue of scripted values
//   ("busy, busy, ready"); writes are logged and stored; reads are counted.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <source_location>
#include <sstream>
#include <string>
#include <vector>

#include <salvage/drivers/io.h>

namespace salvage::testing {

/// One register access, as expected or as made.
struct MmioAccess {
  enum class Kind : uint8_t { kRead, kWrite };
  Kind kind = Kind::kRead;
  uint8_t width = 1;    ///< Bytes: 1 or 4.
  uint32_t offset = 0;
  uint32_t value = 0;   ///< Written value, or the value an expected read returns.

  bool operator==(const MmioAccess&) const = default;
};

/// "Read32(offset 0x18) -> 0x20", "Write8(offset 0x3, value 0x3)"; `with_value`
/// false omits a read's value.
inline std::string Describe(const MmioAccess& a, bool with_value = true) {
  std::ostringstream out;
  out << (a.kind == MmioAccess::Kind::kRead ? "Read" : "Write") << (a.width * 8)
      << "(offset 0x" << std::hex << a.offset;
  if (a.kind == MmioAccess::Kind::kWrite) {
    out << ", value 0x" << a.value << ")";
  } else {
    out << ")";
    if (with_value) out << " -> 0x" << a.value;
  }
  return out.str();
}

/// The ordered list of accesses a test expects; owned by the test, shared by every
/// FakeMmio copy. Fails the test on destruction if expectations were left unused.
class FakeMmioScript {
 public:
  FakeMmioScript() = default;
  FakeMmioScript(const FakeMmioScript&) = delete;
  FakeMmioScript& operator=(const FakeMmioScript&) = delete;

  ~FakeMmioScript() {
    for (size_t i = next_; i < expected_.size(); ++i) {
      const Expectation& e = expected_[i];
      ADD_FAILURE_AT(e.where.file_name(), static_cast<int>(e.where.line()))
          << "expected " << Describe(e.access) << " was never made";
    }
    if (extra_ > 1) {
      ADD_FAILURE() << (extra_ - 1) << " more accesses after the end of the script"
                    << " (only the first was reported)";
    }
  }

  /// The next access is a Read8 at `offset`; it returns `value`.
  void ExpectRead8(uint8_t value, uint32_t offset,
                   std::source_location where = std::source_location::current()) {
    Add({MmioAccess::Kind::kRead, 1, offset, value}, where);
  }
  /// The next access is a Read32 at `offset`; it returns `value`.
  void ExpectRead32(uint32_t value, uint32_t offset,
                    std::source_location where = std::source_location::current()) {
    Add({MmioAccess::Kind::kRead, 4, offset, value}, where);
  }
  /// The next access is Write8(offset, value).
  void ExpectWrite8(uint8_t value, uint32_t offset,
                    std::source_location where = std::source_location::current()) {
    Add({MmioAccess::Kind::kWrite, 1, offset, value}, where);
  }
  /// The next access is Write32(offset, value).
  void ExpectWrite32(uint32_t value, uint32_t offset,
                     std::source_location where = std::source_location::current()) {
    Add({MmioAccess::Kind::kWrite, 4, offset, value}, where);
  }

  /// Expectations not yet consumed.
  size_t remaining() const { return expected_.size() - next_; }

  /// Called by FakeMmio: checks a read and returns the expected read's value (0 when
  /// the access did not match a read).
  uint32_t OnRead(uint8_t width, uint32_t offset) {
    const Expectation* e = Match({MmioAccess::Kind::kRead, width, offset, 0});
    return e != nullptr && e->access.kind == MmioAccess::Kind::kRead ? e->access.value : 0;
  }

  /// Called by FakeMmio: checks a write.
  void OnWrite(uint8_t width, uint32_t offset, uint32_t value) {
    (void)Match({MmioAccess::Kind::kWrite, width, offset, value});
  }

 private:
  struct Expectation {
    MmioAccess access;
    std::source_location where;
  };

  void Add(const MmioAccess& access, std::source_location where) {
    expected_.push_back({access, where});
  }

  /// Consumes the next expectation and reports if `actual` differs from it. Returns
  /// it, or nullptr past the end of the script.
  const Expectation* Match(const MmioAccess& actual) {
    if (next_ == expected_.size()) {
      // A polling loop can run far past the script; report once, count the rest.
      if (extra_++ == 0) {
        ADD_FAILURE() << "unexpected " << Describe(actual, false) << " after the end of the script";
      }
      return nullptr;
    }
    const Expectation& e = expected_[next_++];
    MmioAccess expected = e.access;
    if (expected.kind == MmioAccess::Kind::kRead) expected.value = 0;  // Reads match on kind/width/offset.
    if (!(expected == actual)) {
      ADD_FAILURE_AT(e.where.file_name(), static_cast<int>(e.where.line()))
          << "access #" << next_ << ": expected " << Describe(e.access) << ", got "
          << Describe(actual, false);
    }
    return &e;
  }

  std::vector<Expectation> expected_;
  size_t next_ = 0;
  size_t extra_ = 0;  ///< Accesses made after the script ran out.
};

/// The Io handle a driver holds: a pointer to the test's FakeMmioScript. Copies share
/// the script. The Expect* calls forward to it, for tests that prefer to script
/// through the handle.
class FakeMmio {
 public:
  explicit FakeMmio(FakeMmioScript& script) : script_(&script) {}

  uint8_t Read8(uint32_t offset) { return static_cast<uint8_t>(script_->OnRead(1, offset)); }
  uint32_t Read32(uint32_t offset) { return script_->OnRead(4, offset); }
  void Write8(uint32_t offset, uint8_t value) { script_->OnWrite(1, offset, value); }
  void Write32(uint32_t offset, uint32_t value) { script_->OnWrite(4, offset, value); }

  void ExpectRead8(uint8_t value, uint32_t offset,
                   std::source_location where = std::source_location::current()) {
    script_->ExpectRead8(value, offset, where);
  }
  void ExpectRead32(uint32_t value, uint32_t offset,
                    std::source_location where = std::source_location::current()) {
    script_->ExpectRead32(value, offset, where);
  }
  void ExpectWrite8(uint8_t value, uint32_t offset,
                    std::source_location where = std::source_location::current()) {
    script_->ExpectWrite8(value, offset, where);
  }
  void ExpectWrite32(uint32_t value, uint32_t offset,
                     std::source_location where = std::source_location::current()) {
    script_->ExpectWrite32(value, offset, where);
  }

 private:
  FakeMmioScript* script_;
};
static_assert(drivers::Io<FakeMmio>);

/// A behavioural register file. Unset registers read 0. Accesses of either width
/// share one value per offset.
class FakeRegisterFile {
 public:
  FakeRegisterFile() = default;
  FakeRegisterFile(const FakeRegisterFile&) = delete;
  FakeRegisterFile& operator=(const FakeRegisterFile&) = delete;

  /// The value `offset` reads once any queued reads are used up.
  void Set(uint32_t offset, uint32_t value) { values_[offset] = value; }
  /// The next reads of `offset` return `values` in order, then the Set value.
  void QueueReads(uint32_t offset, std::vector<uint32_t> values) {
    for (uint32_t v : values) queued_[offset].push_back(v);
  }

  /// How many times `offset` was read.
  size_t reads(uint32_t offset) const {
    auto it = read_counts_.find(offset);
    return it == read_counts_.end() ? 0 : it->second;
  }
  /// Every write, in order.
  const std::vector<MmioAccess>& writes() const { return writes_; }

  uint32_t OnRead(uint32_t offset) {
    ++read_counts_[offset];
    auto q = queued_.find(offset);
    if (q != queued_.end() && !q->second.empty()) {
      uint32_t v = q->second.front();
      q->second.pop_front();
      return v;
    }
    auto it = values_.find(offset);
    return it == values_.end() ? 0 : it->second;
  }
  void OnWrite(uint8_t width, uint32_t offset, uint32_t value) {
    writes_.push_back({MmioAccess::Kind::kWrite, width, offset, value});
    values_[offset] = value;
  }

 private:
  std::map<uint32_t, uint32_t> values_;
  std::map<uint32_t, std::deque<uint32_t>> queued_;
  std::map<uint32_t, size_t> read_counts_;
  std::vector<MmioAccess> writes_;
};

/// The Io handle for a FakeRegisterFile owned by the test.
class FakeRegisterFileIo {
 public:
  explicit FakeRegisterFileIo(FakeRegisterFile& regs) : regs_(&regs) {}

  uint8_t Read8(uint32_t offset) { return static_cast<uint8_t>(regs_->OnRead(offset)); }
  uint32_t Read32(uint32_t offset) { return regs_->OnRead(offset); }
  void Write8(uint32_t offset, uint8_t value) { regs_->OnWrite(1, offset, value); }
  void Write32(uint32_t offset, uint32_t value) { regs_->OnWrite(4, offset, value); }

 private:
  FakeRegisterFile* regs_;
};
static_assert(drivers::Io<FakeRegisterFileIo>);

}  // namespace salvage::testing
