// salvage::dtb — read-only queries on the flattened device tree the kernel was given.
//
// Follows the Devicetree Specification v0.4 (§2.3.5 #address-cells/#size-cells,
// §2.3.8 ranges, §3.4 /memory, §3.6 /chosen) and the Linux bindings for the /chosen
// properties kexec adds (Documentation/devicetree/bindings/chosen.txt:
// linux,elfcorehdr, linux,usable-memory-range).
//
// The DTB is untrusted: it comes from the crashed kernel's kexec. Open() checks the
// header itself first (CheckHeader: what libfdt cannot handle never reaches it), then
// runs fdt_check_full() so every later walk stays inside the blob, and no query asserts
// on the content: each failure is a Status. A Status message is a literal, so it
// cannot carry the node's path; the Dtb also records the node and property of its
// last failure, and DescribeError() renders both ("dtb: ... (at /memory@0, reg)").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::dtb {

/// A property holding a list of (address, size) entries whose length has been
/// checked: `count` whole entries of `address_cells` + `size_cells` big-endian cells,
/// each count at most 2. Points into the blob.
struct CellPairs {
  const uint8_t* data = nullptr;
  size_t count = 0;
  uint32_t address_cells = 0;
  uint32_t size_cells = 0;

  /// The address / size of entry `i`. Precondition: i < count.
  uint64_t Address(size_t i) const;
  uint64_t Size(size_t i) const;
};

/// The header version salvage reads: dtc, Linux, kexec-tools and firmware write 17.
inline constexpr uint32_t kFdtVersion = 17;
/// Bytes of a version-17 header.
inline constexpr size_t kFdtHeaderSize = 40;

/// Checks the header of an untrusted flattened device tree from its bytes alone
/// (big-endian byte loads: usable with the MMU off), before libfdt sees the blob.
/// libfdt 1.6.1 accepts header versions 2 to 17 and its fdt_check_full() dereferences
/// NULL on some of them (version 4), so only what it handles safely passes: magic,
/// version >= 17 with last_comp_version <= 17, totalsize from the header size to
/// bytes.size(), the memory reservation map (8-byte aligned), the structure block
/// (4-byte aligned) and the strings block inside totalsize, each sum computed without
/// overflow. `bytes` is all the caller may read (a larger totalsize is refused).
/// Errors: kMalformed (too short, bad magic, a block outside totalsize or misaligned),
/// kUnsupported (version), kOutOfRange (totalsize larger than `bytes`).
Status CheckHeader(std::span<const uint8_t> bytes);

namespace internal {

/// Calls a walker's callback. A callback may return void (the walk goes on) or a
/// Status (a non-ok Status stops the walk and is returned).
template <class Fn, class Arg>
Status Invoke(Fn& fn, Arg arg) {
  static_assert(std::is_invocable_v<Fn&, Arg>,
                "the callback must be callable with this walker's argument type");
  using R = std::invoke_result_t<Fn&, Arg>;
  static_assert(std::is_void_v<R> || std::is_same_v<R, Status>,
                "the callback must return void or salvage::Status");
  if constexpr (std::is_same_v<R, Status>) {
    return fn(arg);
  } else {
    fn(arg);
    return Status::Ok();
  }
}

}  // namespace internal

/// A validated device tree blob. Copyable (it is a pointer plus the last error's
/// context). Every query is read-only; the blob must stay where it is.
class Dtb {
 public:
  /// Spec defaults (§2.3.5) for a bus without #address-cells / #size-cells.
  static constexpr uint32_t kDefaultAddressCells = 2;
  static constexpr uint32_t kDefaultSizeCells = 1;
  /// Largest cell count salvage decodes into a 64-bit value.
  static constexpr uint32_t kMaxDecodedCells = 2;

  /// An empty Dtb (no blob), only so Result<Dtb> can hold a Status; use Open().
  /// Queries on it fail with kInvalidArgument or return the empty answer.
  Dtb() = default;

  /// Checks and wraps the blob at `blob`, of which at most `max_size` bytes are ours.
  /// Errors: kInvalidArgument (null, not 8-byte aligned), kMalformed (buffer smaller
  /// than a header, bad magic, header offsets or structure block corrupt),
  /// kOutOfRange (totalsize larger than max_size), kUnsupported (version).
  static Result<Dtb> Open(const void* blob, size_t max_size);

  const void* blob() const { return fdt_; }
  /// The header's totalsize (0 for an empty Dtb).
  uint32_t TotalSize() const;

  /// The root's #address-cells / #size-cells: the spec defaults (2 / 1) when absent
  /// or not exactly one cell long (the decoding queries report that as an error).
  uint32_t RootAddressCells() const;
  uint32_t RootSizeCells() const;

  /// Calls fn(PhysRange) for each (address, size) entry of `reg` in every enabled
  /// (see IsEnabled) child of the root with device_type = "memory", in DT order.
  /// Nodes are the root's children only, as Linux scans them.
  /// Errors (the walk stops; earlier ranges were already passed to fn):
  /// kNotFound (a memory node has no reg), kMalformed (reg length not whole entries,
  /// bad #address-cells/#size-cells), kUnsupported (more than 2 cells),
  /// kOutOfRange (an entry wraps past 2^64), or fn's own Status.
  template <class Fn>
  Status ForEachMemoryRange(Fn fn) const {
    int node = -1;
    while (true) {
      SALVAGE_ASSIGN_OR_RETURN(node, NextMemoryNode(node));
      if (node < 0) return Status::Ok();
      SALVAGE_ASSIGN_OR_RETURN(CellPairs reg, ReadPairs(node, "reg", /*bus=*/0));
      for (size_t i = 0; i < reg.count; ++i) {
        PhysRange range;
        SALVAGE_TRY(MakeRange(reg, i, node, "reg", &range));
        SALVAGE_TRY(internal::Invoke(fn, range));
      }
    }
  }

  /// /chosen linux,elfcorehdr: one (address, size) pair in the root's cells, or
  /// nullopt when /chosen or the property is absent.
  /// Errors: kMalformed (not exactly one pair), kUnsupported, kOutOfRange (wraps).
  Result<std::optional<PhysRange>> ChosenElfCoreHdr() const;

  /// Calls fn(PhysRange) for each pair of /chosen linux,usable-memory-range (root's
  /// cells); no calls when it is absent. Errors as ForEachMemoryRange.
  template <class Fn>
  Status ForEachUsableMemoryRange(Fn fn) const {
    SALVAGE_ASSIGN_OR_RETURN(int chosen, ChosenNode());
    if (chosen < 0) return Status::Ok();
    static constexpr const char* kProp = "linux,usable-memory-range";
    if (!HasProperty(chosen, kProp)) return Status::Ok();
    SALVAGE_ASSIGN_OR_RETURN(CellPairs pairs, ReadPairs(chosen, kProp, /*bus=*/0));
    for (size_t i = 0; i < pairs.count; ++i) {
      PhysRange range;
      SALVAGE_TRY(MakeRange(pairs, i, chosen, kProp, &range));
      SALVAGE_TRY(internal::Invoke(fn, range));
    }
    return Status::Ok();
  }

  /// Calls fn(PhysRange) for each reg entry (in /reserved-memory's cells) of every child
  /// of /reserved-memory that is not `reusable`: memory the firmware or devices keep for
  /// themselves (OpenSBI's PMP-guarded region faults when read). `reusable` pools (CMA)
  /// hold ordinary kernel pages and are not passed; children without reg (allocated by
  /// size) neither. No calls when /reserved-memory is absent.
  /// Errors as ForEachMemoryRange (the walk stops).
  template <class Fn>
  Status ForEachFirmwareReservedRegion(Fn fn) const {
    SALVAGE_ASSIGN_OR_RETURN(int parent, ReservedMemoryNode());
    if (parent < 0) return Status::Ok();
    int node = -1;
    while (true) {
      SALVAGE_ASSIGN_OR_RETURN(node, NextFirmwareReservedNode(parent, node));
      if (node < 0) return Status::Ok();
      SALVAGE_ASSIGN_OR_RETURN(CellPairs reg, ReadPairs(node, "reg", parent));
      for (size_t i = 0; i < reg.count; ++i) {
        PhysRange range;
        SALVAGE_TRY(MakeRange(reg, i, node, "reg", &range));
        SALVAGE_TRY(internal::Invoke(fn, range));
      }
    }
  }

  /// /chosen bootargs, "" when absent or not a NUL-terminated string.
  std::string_view ChosenBootargs() const;
  /// /chosen stdout-path (or the legacy linux,stdout-path) as written, options and
  /// all ("serial0:115200n8"); "" when absent or not a NUL-terminated string.
  std::string_view ChosenStdoutPath() const;

  /// The node ChosenStdoutPath() names, with any ":options" suffix removed. A value
  /// starting with '/' is a full path; otherwise its first component is an alias in
  /// /aliases ("serial1" or "serial1/sub").
  /// Errors: kNotFound (no stdout-path, unknown alias, no such node), kMalformed.
  Result<int> ResolveStdoutPath() const;

  /// Entry `index` of `node`'s reg, translated to a CPU physical address through the
  /// `ranges` of every bus above it (§2.3.8): an empty `ranges` maps 1:1, a bus
  /// without `ranges` (other than the root) cannot be translated through.
  /// Errors: kInvalidArgument (root or bad node, negative index), kNotFound (no reg,
  /// no entry `index`), kMalformed (reg/ranges length, cells), kUnsupported (a bus
  /// without ranges, more than 2 cells), kOutOfRange (address in no ranges entry, or
  /// the translation wraps).
  Result<uint64_t> TranslateRegAddress(int node, int index) const;

  /// The size of entry `index` of `node`'s reg (0 when the bus has #size-cells = 0).
  /// Errors as TranslateRegAddress, without the ranges ones.
  Result<uint64_t> RegSize(int node, int index) const;

  /// True when one of the strings of `node`'s compatible equals `compat`.
  bool IsCompatible(int node, std::string_view compat) const;
  /// True when `node` has no status, or status is "okay" or "ok" (spec §2.3.4; Linux's
  /// of_device_is_available). False for a bad node.
  bool IsEnabled(int node) const;

  /// Calls fn(int node) for every node compatible with `compat` (enabled or not), in
  /// DT order. fn may return void, or bool where false stops the walk.
  template <class Fn>
  void ForEachCompatible(std::string_view compat, Fn fn) const {
    static_assert(std::is_invocable_v<Fn&, int>, "the callback must take an int node offset");
    using R = std::invoke_result_t<Fn&, int>;
    static_assert(std::is_void_v<R> || std::is_same_v<R, bool>,
                  "the callback must return void, or bool (false stops the walk)");
    for (int node = NextNode(-1); node >= 0; node = NextNode(node)) {
      if (!IsCompatible(node, compat)) continue;
      if constexpr (std::is_same_v<R, bool>) {
        if (!fn(node)) return;
      } else {
        fn(node);
      }
    }
  }

  /// A property holding exactly one u32 cell.
  /// Errors: kNotFound (absent or bad node), kMalformed (not 4 bytes).
  Result<uint32_t> GetU32(int node, const char* prop) const;
  /// A property holding a NUL-terminated string; the view stops at the first NUL
  /// (so for a string list it is the first string).
  /// Errors: kNotFound (absent or bad node), kMalformed (no NUL inside the property).
  Result<std::string_view> GetString(int node, const char* prop) const;

  /// True when `node` has a property named `prop` (of any length).
  bool HasProperty(int node, const char* prop) const;

  /// The node the first cell of `prop` (a phandle, as in `clocks = <&osc 0>`) refers to.
  /// Errors: kNotFound (absent, or no node has that phandle), kMalformed (shorter than
  /// one cell).
  Result<int> PhandleTarget(int node, const char* prop) const;

  /// The rate of `node`'s first clock when it is a number in the DTB: `node`'s own
  /// clock-frequency, else the clock-frequency of the provider its first `clocks` entry
  /// names when that provider is an enabled `fixed-clock` (Linux
  /// bindings/clock/fixed-clock.yaml). Rates set up at run time (a clock controller
  /// such as the Raspberry Pi's cprman) are unknown here.
  /// Errors: kNotFound (no such rate), kMalformed (a property of the wrong size).
  Result<uint32_t> FixedClockRate(int node) const;

  /// Writes `node`'s full path, NUL-terminated, into buf (or "?" when the node is bad
  /// or buf too small). Returns the length written, without the NUL; 0 when len is 0.
  size_t NodePath(int node, char* buf, size_t len) const;

  /// The PSCI conduit: `method` of /psci, or of the first node compatible with
  /// "arm,psci-1.0", "arm,psci-0.2" or "arm,psci". Returns "hvc" or "smc".
  /// Errors: kNotFound (no enabled PSCI node, no method), kUnsupported (another method).
  Result<std::string_view> PsciMethod() const;

  /// Context of the most recent failure of a query on this Dtb: the node offset
  /// (-1 when none) and the property name (nullptr when none).
  int error_node() const { return error_node_; }
  const char* error_property() const { return error_property_; }
  /// Writes "<status.what()> (at <path of error_node>, <error_property>)" into buf,
  /// NUL-terminated and truncated to len. Returns the length written without the NUL.
  size_t DescribeError(const Status& status, char* buf, size_t len) const;

 private:
  explicit Dtb(const void* fdt) : fdt_(fdt) {}

  // Records the context of a failure and returns `status`.
  Status Fail(int node, const char* prop, Status status) const;
  // The next node in DT order after `node` (-1: the first, i.e. the root); -1 at the end.
  int NextNode(int node) const;
  // /chosen's offset, -1 when absent.
  Result<int> ChosenNode() const;
  // The next enabled device_type = "memory" child of the root after `prev` (-1 to
  // start), -1 when there are no more.
  Result<int> NextMemoryNode(int prev) const;
  // /reserved-memory's offset, -1 when absent.
  Result<int> ReservedMemoryNode() const;
  // The next child of /reserved-memory after `prev` (-1 to start) that has a reg and is
  // not `reusable`; -1 when there are no more.
  Result<int> NextFirmwareReservedNode(int parent, int prev) const;
  // #address-cells / #size-cells of `bus` (defaults when absent).
  Result<uint32_t> AddressCells(int bus) const;
  Result<uint32_t> SizeCells(int bus) const;
  // `prop` of `node` as (address, size) entries in the cells of `bus`.
  Result<CellPairs> ReadPairs(int node, const char* prop, int bus) const;
  // `node`'s reg, in the cells of its parent.
  Result<CellPairs> ReadReg(int node) const;
  // Entry i as an overflow-checked PhysRange.
  Status MakeRange(const CellPairs& pairs, size_t i, int node, const char* prop,
                   PhysRange* out) const;

  const void* fdt_ = nullptr;
  mutable int error_node_ = -1;
  mutable const char* error_property_ = nullptr;
};

}  // namespace salvage::dtb
