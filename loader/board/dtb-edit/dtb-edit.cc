// See dtb-edit.h. Devicetree Specification v0.4 §5 (flattened format), libfdt (dtc 1.6.1).
#include "board/dtb-edit/dtb-edit.h"

#include <cerrno>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <libfdt.h>
#include <unistd.h>

#include <salvage/dtb/dtb.h>

namespace salvage::loader {
namespace {

constexpr int kRoot = 0;
constexpr const char* kElfCoreHdr = "linux,elfcorehdr";
constexpr const char* kUsableMemoryRange = "linux,usable-memory-range";
constexpr const char* kInitrdStart = "linux,initrd-start";
constexpr const char* kInitrdEnd = "linux,initrd-end";
constexpr const char* kSalvageOptions = "salvage,options";
constexpr const char* kBootargs = "bootargs";
// Cells salvage's reader decodes (runtime/dtb: Dtb::kMaxDecodedCells).
constexpr int kMaxCells = 2;
// Rounds of "the buffer was too small, grow it and start again" before giving up;
// the first estimate already covers every byte added, so one round is the norm.
constexpr int kMaxGrowRounds = 4;

// The Error kind for a libfdt error code (negative FDT_ERR_*).
Error FdtErrorKind(int err) {
  switch (-err) {
    case FDT_ERR_NOTFOUND: return Error::kNotFound;
    case FDT_ERR_NOSPACE: return Error::kResourceExhausted;
    case FDT_ERR_BADVERSION: return Error::kUnsupported;
    case FDT_ERR_EXISTS:
    case FDT_ERR_BADOFFSET:
    case FDT_ERR_BADPATH:
    case FDT_ERR_BADPHANDLE:
    case FDT_ERR_BADSTATE:
    case FDT_ERR_BADFLAGS:
      return Error::kInvalidArgument;
    default:  // BADMAGIC, TRUNCATED, BADSTRUCTURE, BADLAYOUT, BADNCELLS, BADVALUE, ...
      return Error::kMalformed;
  }
}

// Returns Status(kind, what) and, when asked for, the full message "what: detail".
Status Fail(Error kind, const char* what, std::string* message, const std::string& detail = {}) {
  if (message != nullptr) {
    *message = what;
    if (!detail.empty()) *message += ": " + detail;
  }
  return Status(kind, what);
}

Status FailFdt(int err, const char* what, std::string* message) {
  return Fail(FdtErrorKind(err), what, message, fdt_strerror(err));
}

// Appends `value` as `cells` big-endian 32-bit cells. Precondition: it fits.
void AppendCells(std::vector<uint8_t>* out, uint64_t value, int cells) {
  for (int c = cells - 1; c >= 0; --c) {
    const uint32_t cell = static_cast<uint32_t>(value >> (32 * c));
    for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(cell >> shift));
  }
}

bool FitsCells(uint64_t value, int cells) { return cells >= 2 || value <= 0xffffffffu; }

// Bytes a property adds to a tree at most: its tag, length and name offset (12), the
// value padded to 4, and its name in the strings block.
size_t PropertyCost(const char* name, size_t value_len) {
  return 12 + ((value_len + 3) & ~size_t{3}) + std::strlen(name) + 1;
}

// The values to write, computed and checked once before any edit.
struct Plan {
  std::vector<uint8_t> elfcorehdr;
  std::vector<uint8_t> usable;
  // bootargs: nullopt leaves the property alone, "" removes it, else the new value.
  std::optional<std::string> bootargs;
};

// Where an edit failed: the libfdt error and the step's literal.
struct FdtFailure {
  int err = 0;
  const char* what = nullptr;
};

// Deletes `name` from `node` if present, then adds it with `value` (or leaves it
// deleted when `value` is null). Delete-then-add rather than fdt_setprop: a stale
// value goes even if it was malformed, the new one is written whole, and the
// properties end up in the same order whatever the input had, so editing an edited
// tree again gives the same bytes. Deleting and adding properties of /chosen moves
// the nodes after it, never /chosen itself.
FdtFailure Replace(void* fdt, int node, const char* name, const void* value, size_t len, const char* what) {
  int err = fdt_delprop(fdt, node, name);
  if (err == -FDT_ERR_NOTFOUND) err = 0;
  if (err == 0 && value != nullptr) err = fdt_setprop(fdt, node, name, value, static_cast<int>(len));
  if (err != 0) return {err, what};
  return {};
}

// Applies the edits to the open tree `fdt`.
FdtFailure Apply(void* fdt, const CrashDtbEdits& edits, const Plan& plan) {
  int chosen = fdt_subnode_offset(fdt, kRoot, "chosen");
  if (chosen == -FDT_ERR_NOTFOUND) chosen = fdt_add_subnode(fdt, kRoot, "chosen");
  if (chosen < 0) return {chosen, "dtb-edit: cannot find or add /chosen"};

  const std::string& options = edits.salvage_options;
  const struct {
    const char* name;
    const void* value;  // nullptr: remove.
    size_t len;
    bool edit;
    const char* what;
  } steps[] = {
      {kElfCoreHdr, plan.elfcorehdr.data(), plan.elfcorehdr.size(), true,
       "dtb-edit: cannot replace /chosen linux,elfcorehdr"},
      {kUsableMemoryRange, plan.usable.data(), plan.usable.size(), true,
       "dtb-edit: cannot replace /chosen linux,usable-memory-range"},
      {kInitrdStart, nullptr, 0, edits.remove_initrd, "dtb-edit: cannot remove /chosen linux,initrd-start"},
      {kInitrdEnd, nullptr, 0, edits.remove_initrd, "dtb-edit: cannot remove /chosen linux,initrd-end"},
      {kSalvageOptions, options.empty() ? nullptr : options.c_str(), options.size() + 1, true,
       "dtb-edit: cannot replace /chosen salvage,options"},
      {kBootargs, plan.bootargs && !plan.bootargs->empty() ? plan.bootargs->c_str() : nullptr,
       plan.bootargs ? plan.bootargs->size() + 1 : 0, plan.bootargs.has_value(),
       "dtb-edit: cannot replace /chosen bootargs"},
  };
  for (const auto& step : steps) {
    if (!step.edit) continue;
    if (FdtFailure f = Replace(fdt, chosen, step.name, step.value, step.len, step.what); f.err != 0) return f;
  }
  return {};
}

// Checks a PhysRange from the caller: non-empty, not wrapping, and encodable.
Status CheckRange(const PhysRange& r, int address_cells, int size_cells, const char* empty_what,
                  const char* fit_what, std::string* message) {
  PhysRange checked;
  if (r.size == 0 || !PhysRange::Make(r.base, r.size, &checked)) {
    return Fail(Error::kInvalidArgument, empty_what, message);
  }
  if (!FitsCells(r.base, address_cells) || !FitsCells(r.size, size_cells)) {
    return Fail(Error::kOutOfRange, fit_what, message,
                "the root has #address-cells = " + std::to_string(address_cells) +
                    ", #size-cells = " + std::to_string(size_cells));
  }
  return Status::Ok();
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// The root's #address-cells / #size-cells as libfdt reads them (absent: 2 / 1), limited
// to what the image decodes.
Status RootCells(const void* fdt, int* address_cells, int* size_cells, std::string* message) {
  *address_cells = fdt_address_cells(fdt, kRoot);
  if (*address_cells < 0) {
    return FailFdt(*address_cells, "dtb-edit: the root's #address-cells is invalid", message);
  }
  if (*address_cells > kMaxCells) {
    return Fail(Error::kUnsupported, "dtb-edit: the root's #address-cells is more than 2", message);
  }
  *size_cells = fdt_size_cells(fdt, kRoot);
  if (*size_cells < 0) return FailFdt(*size_cells, "dtb-edit: the root's #size-cells is invalid", message);
  if (*size_cells == 0) return Fail(Error::kUnsupported, "dtb-edit: the root's #size-cells is 0", message);
  if (*size_cells > kMaxCells) {
    return Fail(Error::kUnsupported, "dtb-edit: the root's #size-cells is more than 2", message);
  }
  return Status::Ok();
}

// Checks the untrusted input header and returns the tree, copied to 8-byte aligned
// storage (libfdt rejects an unaligned tree), in *words.
Status LoadInput(std::span<const uint8_t> dtb, std::vector<uint64_t>* words, std::string* message) {
  if (dtb.size() < sizeof(fdt_header)) {
    return Fail(Error::kMalformed, "dtb-edit: input is smaller than a device tree header", message,
                std::to_string(dtb.size()) + " bytes");
  }
  // The header fields are read from an aligned copy of the header alone first, so a
  // huge totalsize is refused before anything is sized by it.
  fdt_header header;
  std::memcpy(&header, dtb.data(), sizeof(header));
  if (fdt_magic(&header) != FDT_MAGIC) {
    return Fail(Error::kMalformed, "dtb-edit: bad magic (not a device tree)", message);
  }
  const size_t total = fdt_totalsize(&header);
  if (total > kMaxDtbSize) {
    return Fail(Error::kOutOfRange, "dtb-edit: input totalsize is larger than 2 MiB", message,
                std::to_string(total) + " bytes");
  }
  if (total > dtb.size()) {
    return Fail(Error::kMalformed, "dtb-edit: input is truncated (totalsize exceeds its size)", message,
                "totalsize " + std::to_string(total) + ", " + std::to_string(dtb.size()) + " bytes given");
  }
  words->assign((total + 7) / 8, 0);
  std::memcpy(words->data(), dtb.data(), total);
  // What libfdt cannot handle (header versions other than 17: fdt_check_full of libfdt
  // 1.6.1 dereferences NULL on version 4) is refused before it is called.
  if (Status s = dtb::CheckHeader(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(words->data()), total));
      !s.ok()) {
    return Fail(s.error(), s.what(), message);
  }
  if (int err = fdt_check_full(words->data(), total); err != 0) {
    return FailFdt(err, "dtb-edit: input fails fdt_check_full", message);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<uint8_t>> EditCrashDtb(std::span<const uint8_t> dtb, const CrashDtbEdits& edits,
                                          std::string* message) {
  if (message != nullptr) message->clear();
  std::vector<uint64_t> source;
  SALVAGE_TRY(LoadInput(dtb, &source, message));
  const void* src = source.data();

  int address_cells = 0, size_cells = 0;
  SALVAGE_TRY(RootCells(src, &address_cells, &size_cells, message));

  // The edits, checked and encoded.
  Plan plan;
  SALVAGE_TRY(CheckRange(edits.elfcorehdr, address_cells, size_cells,
                         "dtb-edit: linux,elfcorehdr is empty or wraps past 2^64",
                         "dtb-edit: linux,elfcorehdr does not fit the root's cells", message));
  AppendCells(&plan.elfcorehdr, edits.elfcorehdr.base, address_cells);
  AppendCells(&plan.elfcorehdr, edits.elfcorehdr.size, size_cells);

  if (edits.usable_memory.empty() || edits.usable_memory.size() > kMaxUsableRanges) {
    return Fail(Error::kInvalidArgument, "dtb-edit: linux,usable-memory-range needs 1 or 2 ranges", message,
                std::to_string(edits.usable_memory.size()) + " given");
  }
  for (const PhysRange& r : edits.usable_memory) {
    SALVAGE_TRY(CheckRange(r, address_cells, size_cells,
                           "dtb-edit: a linux,usable-memory-range entry is empty or wraps past 2^64",
                           "dtb-edit: a linux,usable-memory-range entry does not fit the root's cells", message));
    AppendCells(&plan.usable, r.base, address_cells);
    AppendCells(&plan.usable, r.size, size_cells);
  }
  if (edits.usable_memory.size() == 2 && edits.usable_memory[0].Overlaps(edits.usable_memory[1])) {
    return Fail(Error::kInvalidArgument, "dtb-edit: the linux,usable-memory-range entries overlap", message);
  }
  if (HasNul(edits.salvage_options)) {
    return Fail(Error::kInvalidArgument, "dtb-edit: salvage,options contains a NUL", message);
  }
  if (HasNul(edits.bootargs_append)) {
    return Fail(Error::kInvalidArgument, "dtb-edit: the bootargs words contain a NUL", message);
  }

  // bootargs: the tree's value (a string up to its first NUL) plus the words.
  size_t old_bootargs_len = 0;
  if (edits.replace_bootargs) {
    plan.bootargs = edits.bootargs_append;
  } else if (!edits.bootargs_append.empty()) {
    std::string value;
    if (int chosen = fdt_subnode_offset(src, kRoot, "chosen"); chosen >= 0) {
      int len = 0;
      if (const void* p = fdt_getprop(src, chosen, kBootargs, &len); p != nullptr && len > 0) {
        const char* s = static_cast<const char*>(p);
        const void* nul = std::memchr(s, '\0', static_cast<size_t>(len));
        if (nul == nullptr) {
          return Fail(Error::kMalformed, "dtb-edit: /chosen bootargs is not a NUL-terminated string", message);
        }
        value.assign(s, static_cast<size_t>(static_cast<const char*>(nul) - s));
        old_bootargs_len = static_cast<size_t>(len);
      }
    }
    if (!value.empty() && value.back() != ' ') value += ' ';
    value += edits.bootargs_append;
    plan.bootargs = std::move(value);
  }

  // Room for everything added: /chosen itself, each property whole (a replaced one's
  // old bytes are freed, but are not counted on), and what bootargs grows by.
  size_t extra = 64;  // /chosen's begin and end tags and name, and alignment.
  extra += PropertyCost(kElfCoreHdr, plan.elfcorehdr.size());
  extra += PropertyCost(kUsableMemoryRange, plan.usable.size());
  extra += PropertyCost(kSalvageOptions, edits.salvage_options.size() + 1);
  if (plan.bootargs.has_value()) extra += PropertyCost(kBootargs, plan.bootargs->size() + 1) + old_bootargs_len;
  size_t size = fdt_totalsize(src) + extra;

  std::vector<uint64_t> work;
  for (int round = 0;; ++round) {
    // The unpacked tree may hold free space; twice the limit is room enough for any
    // result that packs within it.
    if (size > 2 * kMaxDtbSize) {
      return Fail(Error::kOutOfRange, "dtb-edit: the edited DTB would be larger than 2 MiB", message,
                  std::to_string(size) + " bytes needed");
    }
    work.assign((size + 7) / 8, 0);
    if (int err = fdt_open_into(src, work.data(), static_cast<int>(work.size() * 8)); err != 0) {
      return FailFdt(err, "dtb-edit: fdt_open_into failed", message);
    }
    const FdtFailure f = Apply(work.data(), edits, plan);
    if (f.err == 0) break;
    if (f.err != -FDT_ERR_NOSPACE || round + 1 == kMaxGrowRounds) return FailFdt(f.err, f.what, message);
    size *= 2;
  }

  if (int err = fdt_pack(work.data()); err != 0) return FailFdt(err, "dtb-edit: fdt_pack failed", message);
  const size_t total = fdt_totalsize(work.data());
  if (total > kMaxDtbSize) {
    return Fail(Error::kOutOfRange, "dtb-edit: the edited DTB is larger than 2 MiB", message,
                std::to_string(total) + " bytes");
  }
  // Our own invariant, checked as the image will check it.
  if (int err = fdt_check_full(work.data(), total); err != 0) {
    return FailFdt(err, "dtb-edit: the edited DTB fails fdt_check_full", message);
  }
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(work.data());
  return std::vector<uint8_t>(bytes, bytes + total);
}

Result<std::vector<uint8_t>> ReadDtbFile(const std::string& path, std::string* message) {
  if (message != nullptr) message->clear();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return Fail(e == ENOENT ? Error::kNotFound : Error::kIo, "dtb-edit: cannot open the DTB file", message,
                path + ": " + std::strerror(e));
  }
  // Read to the end rather than trusting st_size: sysfs files need not report theirs.
  std::vector<uint8_t> data;
  uint8_t chunk[65536];
  while (true) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      return Fail(Error::kIo, "dtb-edit: cannot read the DTB file", message, path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    data.insert(data.end(), chunk, chunk + n);
    if (data.size() > kMaxDtbSize) {
      close(fd);
      return Fail(Error::kOutOfRange, "dtb-edit: the DTB file is larger than 2 MiB", message, path);
    }
  }
  close(fd);

  if (data.size() < sizeof(fdt_header)) {
    return Fail(Error::kMalformed, "dtb-edit: the DTB file is smaller than a device tree header", message,
                path + ": " + std::to_string(data.size()) + " bytes");
  }
  fdt_header header;
  std::memcpy(&header, data.data(), sizeof(header));
  if (fdt_magic(&header) != FDT_MAGIC) {
    return Fail(Error::kMalformed, "dtb-edit: the DTB file has a bad magic (not a device tree)", message, path);
  }
  const size_t total = fdt_totalsize(&header);
  if (total > data.size()) {
    return Fail(Error::kMalformed, "dtb-edit: the DTB file is truncated (totalsize exceeds the file)", message,
                path + ": totalsize " + std::to_string(total) + ", file " + std::to_string(data.size()) + " bytes");
  }
  if (total < sizeof(fdt_header)) {
    return Fail(Error::kMalformed, "dtb-edit: the DTB file's totalsize is smaller than its header", message,
                path + ": totalsize " + std::to_string(total));
  }
  data.resize(total);
  // fdt_check_header wants the header 8-byte aligned; the copy is. Our own check first:
  // libfdt accepts header versions it cannot walk safely.
  std::vector<uint64_t> aligned((total + 7) / 8, 0);
  std::memcpy(aligned.data(), data.data(), total);
  if (Status s = dtb::CheckHeader(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(aligned.data()), total));
      !s.ok()) {
    return Fail(s.error(), "dtb-edit: the DTB file's header is refused", message, path + ": " + s.what());
  }
  if (int err = fdt_check_header(aligned.data()); err != 0) {
    return Fail(FdtErrorKind(err), "dtb-edit: the DTB file's header is invalid", message,
                path + ": " + fdt_strerror(err));
  }
  return data;
}

}  // namespace salvage::loader
