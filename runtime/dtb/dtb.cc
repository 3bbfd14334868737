// salvage::dtb — see dtb.h. Devicetree Specification v0.4; libfdt (dtc 1.6.1).
//
// Every libfdt call here either takes an offset libfdt checks itself or a property
// pointer with the length libfdt returned; strings are only read within that length.
#include <salvage/dtb/dtb.h>

#include <salvage/base/byte-order.h>

#include <cstring>

#include <libfdt.h>

namespace salvage::dtb {
namespace {

constexpr int kRoot = 0;
// FDT_MAX_NCELLS in libfdt: larger #address-cells / #size-cells are not valid.
constexpr uint32_t kMaxValidCells = 4;

// `n` (<= 2) big-endian cells at p.
uint64_t LoadCells(const uint8_t* p, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < n; ++i) v = (v << 32) | LoadBe32(p + 4 * i);
  return v;
}

// The NUL-terminated string at the start of a property of `len` bytes, or nullopt
// when there is no NUL inside it.
std::optional<std::string_view> PropString(const void* value, int len) {
  if (value == nullptr || len <= 0) return std::nullopt;
  const char* s = static_cast<const char*>(value);
  const void* nul = std::memchr(s, '\0', static_cast<size_t>(len));
  if (nul == nullptr) return std::nullopt;
  return std::string_view(s, static_cast<size_t>(static_cast<const char*>(nul) - s));
}

// Copies `s` into buf at *pos, leaving room for the NUL.
void Append(char* buf, size_t len, size_t* pos, std::string_view s) {
  if (len == 0) return;
  size_t room = len - 1 - *pos;
  size_t n = s.size() < room ? s.size() : room;
  std::memcpy(buf + *pos, s.data(), n);
  *pos += n;
  buf[*pos] = '\0';
}

}  // namespace

uint64_t CellPairs::Address(size_t i) const {
  return LoadCells(data + i * 4 * (address_cells + size_cells), address_cells);
}

uint64_t CellPairs::Size(size_t i) const {
  return LoadCells(data + i * 4 * (address_cells + size_cells) + 4 * address_cells, size_cells);
}

Status CheckHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kFdtHeaderSize) return Status(Error::kMalformed, "dtb: smaller than a device tree header");
  const uint8_t* h = bytes.data();
  // Field offsets of struct fdt_header (Devicetree Specification v0.4, §5.2).
  const uint32_t magic = LoadBe32(h + 0);
  const uint64_t total = LoadBe32(h + 4);
  const uint64_t off_struct = LoadBe32(h + 8);
  const uint64_t off_strings = LoadBe32(h + 12);
  const uint64_t off_rsvmap = LoadBe32(h + 16);
  const uint32_t version = LoadBe32(h + 20);
  const uint32_t last_comp = LoadBe32(h + 24);
  const uint64_t size_strings = LoadBe32(h + 32);
  const uint64_t size_struct = LoadBe32(h + 36);
  if (magic != FDT_MAGIC) return Status(Error::kMalformed, "dtb: bad magic (not a device tree)");
  if (version < kFdtVersion || last_comp > kFdtVersion) {
    return Status(Error::kUnsupported,
                  "dtb: device tree header version is not 17 (older formats are refused: libfdt cannot check them "
                  "safely); rebuild it with dtc");
  }
  if (total < kFdtHeaderSize) return Status(Error::kMalformed, "dtb: header totalsize is smaller than the header");
  if (total > bytes.size()) {
    return Status(Error::kOutOfRange, "dtb: header totalsize exceeds the buffer it was given in");
  }
  // All sums in 64 bits of 32-bit fields: none can wrap.
  if (off_rsvmap < kFdtHeaderSize || off_rsvmap % 8 != 0 || off_rsvmap + 16 > total) {
    return Status(Error::kMalformed, "dtb: memory reservation map outside totalsize or misaligned");
  }
  if (off_struct < kFdtHeaderSize || off_struct % 4 != 0 || off_struct + size_struct > total) {
    return Status(Error::kMalformed, "dtb: structure block outside totalsize or misaligned");
  }
  if (off_strings < kFdtHeaderSize || off_strings + size_strings > total) {
    return Status(Error::kMalformed, "dtb: strings block outside totalsize");
  }
  return Status::Ok();
}

Result<Dtb> Dtb::Open(const void* blob, size_t max_size) {
  if (blob == nullptr) return Status(Error::kInvalidArgument, "dtb: null pointer");
  if (reinterpret_cast<uintptr_t>(blob) % 8 != 0) {
    return Status(Error::kInvalidArgument, "dtb: blob is not 8-byte aligned");
  }
  if (max_size < sizeof(fdt_header)) {
    return Status(Error::kMalformed, "dtb: buffer is smaller than a device tree header");
  }
  // Before any libfdt call: what libfdt cannot handle safely never reaches it.
  SALVAGE_TRY(CheckHeader(std::span<const uint8_t>(static_cast<const uint8_t*>(blob), max_size)));
  switch (int err = fdt_check_header(blob); err) {
    case 0:
      break;
    case -FDT_ERR_BADVERSION:
      return Status(Error::kUnsupported, "dtb: unsupported device tree version");
    case -FDT_ERR_TRUNCATED:
      return Status(Error::kMalformed, "dtb: header block offsets lie outside totalsize");
    default:
      return Status(Error::kMalformed, "dtb: header is corrupt");
  }
  // Walks the whole structure block once, so later walks cannot run off it.
  if (fdt_check_full(blob, fdt_totalsize(blob)) != 0) {
    return Status(Error::kMalformed, "dtb: structure block is corrupt (fdt_check_full)");
  }
  return Dtb(blob);
}

uint32_t Dtb::TotalSize() const { return fdt_ == nullptr ? 0 : fdt_totalsize(fdt_); }

Status Dtb::Fail(int node, const char* prop, Status status) const {
  error_node_ = node;
  error_property_ = prop;
  return status;
}

int Dtb::NextNode(int node) const {
  if (fdt_ == nullptr) return -1;
  if (node < 0) return kRoot;
  int next = fdt_next_node(fdt_, node, nullptr);
  return next < 0 ? -1 : next;
}

bool Dtb::HasProperty(int node, const char* prop) const {
  return fdt_ != nullptr && fdt_getprop(fdt_, node, prop, nullptr) != nullptr;
}

Result<int> Dtb::ChosenNode() const {
  if (fdt_ == nullptr) return Fail(-1, nullptr, Status(Error::kInvalidArgument, "dtb: not open"));
  int chosen = fdt_subnode_offset(fdt_, kRoot, "chosen");
  if (chosen == -FDT_ERR_NOTFOUND) return -1;
  if (chosen < 0) return Fail(kRoot, nullptr, Status(Error::kMalformed, "dtb: cannot look up /chosen"));
  return chosen;
}

uint32_t Dtb::RootAddressCells() const {
  Result<uint32_t> cells = AddressCells(kRoot);
  return cells.ok() ? *cells : kDefaultAddressCells;
}

uint32_t Dtb::RootSizeCells() const {
  Result<uint32_t> cells = SizeCells(kRoot);
  return cells.ok() ? *cells : kDefaultSizeCells;
}

Result<uint32_t> Dtb::AddressCells(int bus) const {
  static constexpr const char* kProp = "#address-cells";
  if (fdt_ == nullptr) return Fail(bus, kProp, Status(Error::kInvalidArgument, "dtb: not open"));
  int len = 0;
  const void* v = fdt_getprop(fdt_, bus, kProp, &len);
  if (v == nullptr) {
    if (len == -FDT_ERR_NOTFOUND) return kDefaultAddressCells;
    return Fail(bus, kProp, Status(Error::kInvalidArgument, "dtb: bad node offset"));
  }
  if (len != 4) return Fail(bus, kProp, Status(Error::kMalformed, "dtb: #address-cells is not one cell"));
  uint32_t cells = LoadBe32(static_cast<const uint8_t*>(v));
  if (cells > kMaxValidCells) {
    return Fail(bus, kProp, Status(Error::kMalformed, "dtb: #address-cells is larger than 4"));
  }
  return cells;
}

Result<uint32_t> Dtb::SizeCells(int bus) const {
  static constexpr const char* kProp = "#size-cells";
  if (fdt_ == nullptr) return Fail(bus, kProp, Status(Error::kInvalidArgument, "dtb: not open"));
  int len = 0;
  const void* v = fdt_getprop(fdt_, bus, kProp, &len);
  if (v == nullptr) {
    if (len == -FDT_ERR_NOTFOUND) return kDefaultSizeCells;
    return Fail(bus, kProp, Status(Error::kInvalidArgument, "dtb: bad node offset"));
  }
  if (len != 4) return Fail(bus, kProp, Status(Error::kMalformed, "dtb: #size-cells is not one cell"));
  uint32_t cells = LoadBe32(static_cast<const uint8_t*>(v));
  if (cells > kMaxValidCells) {
    return Fail(bus, kProp, Status(Error::kMalformed, "dtb: #size-cells is larger than 4"));
  }
  return cells;
}

Result<CellPairs> Dtb::ReadPairs(int node, const char* prop, int bus) const {
  SALVAGE_ASSIGN_OR_RETURN(uint32_t ac, AddressCells(bus));
  SALVAGE_ASSIGN_OR_RETURN(uint32_t sc, SizeCells(bus));
  int len = 0;
  const void* v = fdt_getprop(fdt_, node, prop, &len);
  if (v == nullptr) {
    if (len == -FDT_ERR_NOTFOUND) {
      return Fail(node, prop, Status(Error::kNotFound, "dtb: node has no such (address, size) property"));
    }
    return Fail(node, prop, Status(Error::kInvalidArgument, "dtb: bad node offset"));
  }
  if (ac > kMaxDecodedCells || sc > kMaxDecodedCells) {
    return Fail(node, prop,
                Status(Error::kUnsupported, "dtb: more than 2 address or size cells on the bus"));
  }
  size_t entry = 4 * size_t{ac + sc};
  if (entry == 0) {
    if (len == 0) return CellPairs{static_cast<const uint8_t*>(v), 0, ac, sc};
    return Fail(node, prop,
                Status(Error::kMalformed, "dtb: property has values but the bus has 0 cells"));
  }
  if (static_cast<size_t>(len) % entry != 0) {
    return Fail(node, prop,
                Status(Error::kMalformed,
                       "dtb: property length is not a whole number of (address, size) entries"));
  }
  return CellPairs{static_cast<const uint8_t*>(v), static_cast<size_t>(len) / entry, ac, sc};
}

Result<CellPairs> Dtb::ReadReg(int node) const {
  if (fdt_ == nullptr) return Fail(node, "reg", Status(Error::kInvalidArgument, "dtb: not open"));
  if (node == kRoot) {
    return Fail(node, "reg", Status(Error::kInvalidArgument, "dtb: the root node has no reg"));
  }
  int parent = fdt_parent_offset(fdt_, node);
  if (parent < 0) return Fail(node, "reg", Status(Error::kInvalidArgument, "dtb: bad node offset"));
  return ReadPairs(node, "reg", parent);
}

Status Dtb::MakeRange(const CellPairs& pairs, size_t i, int node, const char* prop,
                      PhysRange* out) const {
  if (!PhysRange::Make(pairs.Address(i), pairs.Size(i), out)) {
    return Fail(node, prop, Status(Error::kOutOfRange, "dtb: (address, size) entry wraps past 2^64"));
  }
  return Status::Ok();
}

Result<int> Dtb::NextMemoryNode(int prev) const {
  if (fdt_ == nullptr) return Fail(-1, nullptr, Status(Error::kInvalidArgument, "dtb: not open"));
  int node = prev < 0 ? fdt_first_subnode(fdt_, kRoot) : fdt_next_subnode(fdt_, prev);
  for (; node >= 0; node = fdt_next_subnode(fdt_, node)) {
    int len = 0;
    const void* type = fdt_getprop(fdt_, node, "device_type", &len);
    std::optional<std::string_view> s = PropString(type, len);
    if (s && *s == "memory" && IsEnabled(node)) return node;
  }
  if (node != -FDT_ERR_NOTFOUND) {
    return Fail(prev, nullptr, Status(Error::kMalformed, "dtb: cannot walk the root's children"));
  }
  return -1;
}

Result<int> Dtb::ReservedMemoryNode() const {
  if (fdt_ == nullptr) return Fail(-1, nullptr, Status(Error::kInvalidArgument, "dtb: not open"));
  const int node = fdt_subnode_offset(fdt_, kRoot, "reserved-memory");
  if (node >= 0) return node;
  if (node == -FDT_ERR_NOTFOUND) return -1;
  return Fail(kRoot, nullptr, Status(Error::kMalformed, "dtb: cannot look up /reserved-memory"));
}

Result<int> Dtb::NextFirmwareReservedNode(int parent, int prev) const {
  int node = prev < 0 ? fdt_first_subnode(fdt_, parent) : fdt_next_subnode(fdt_, prev);
  for (; node >= 0; node = fdt_next_subnode(fdt_, node)) {
    if (HasProperty(node, "reg") && !HasProperty(node, "reusable")) return node;
  }
  if (node != -FDT_ERR_NOTFOUND) {
    return Fail(parent, nullptr, Status(Error::kMalformed, "dtb: cannot walk /reserved-memory's children"));
  }
  return -1;
}

Result<std::optional<PhysRange>> Dtb::ChosenElfCoreHdr() const {
  static constexpr const char* kProp = "linux,elfcorehdr";
  SALVAGE_ASSIGN_OR_RETURN(int chosen, ChosenNode());
  if (chosen < 0 || !HasProperty(chosen, kProp)) return std::optional<PhysRange>();
  SALVAGE_ASSIGN_OR_RETURN(CellPairs pairs, ReadPairs(chosen, kProp, kRoot));
  if (pairs.count != 1) {
    return Fail(chosen, kProp,
                Status(Error::kMalformed, "dtb: /chosen linux,elfcorehdr is not exactly one pair"));
  }
  PhysRange range;
  SALVAGE_TRY(MakeRange(pairs, 0, chosen, kProp, &range));
  return std::optional<PhysRange>(range);
}

std::string_view Dtb::ChosenBootargs() const {
  Result<int> chosen = ChosenNode();
  if (!chosen.ok() || *chosen < 0) return {};
  Result<std::string_view> s = GetString(*chosen, "bootargs");
  return s.ok() ? *s : std::string_view();
}

std::string_view Dtb::ChosenStdoutPath() const {
  Result<int> chosen = ChosenNode();
  if (!chosen.ok() || *chosen < 0) return {};
  for (const char* prop : {"stdout-path", "linux,stdout-path"}) {
    if (!HasProperty(*chosen, prop)) continue;
    Result<std::string_view> s = GetString(*chosen, prop);
    return s.ok() ? *s : std::string_view();
  }
  return {};
}

Result<int> Dtb::ResolveStdoutPath() const {
  SALVAGE_ASSIGN_OR_RETURN(int chosen, ChosenNode());
  if (chosen < 0) {
    return Fail(kRoot, nullptr, Status(Error::kNotFound, "dtb: no /chosen, so no stdout-path"));
  }
  const char* prop = HasProperty(chosen, "stdout-path") ? "stdout-path" : "linux,stdout-path";
  Result<std::string_view> value = GetString(chosen, prop);
  if (!value.ok()) {
    if (value.status().error() == Error::kNotFound) {
      return Fail(chosen, "stdout-path", Status(Error::kNotFound, "dtb: /chosen has no stdout-path"));
    }
    return value.status();
  }
  std::string_view path = *value;
  // Options follow the first ':' ("serial0:115200n8"); node names never contain one.
  if (size_t colon = path.find(':'); colon != std::string_view::npos) path = path.substr(0, colon);
  if (path.empty()) {
    return Fail(chosen, prop, Status(Error::kMalformed, "dtb: /chosen stdout-path is empty"));
  }
  if (path.front() == '/') {
    int node = fdt_path_offset_namelen(fdt_, path.data(), static_cast<int>(path.size()));
    if (node < 0) return Fail(chosen, prop, Status(Error::kNotFound, "dtb: stdout-path names no node"));
    return node;
  }
  // An alias, optionally followed by a path below the aliased node. Resolved here
  // rather than by fdt_path_offset, which follows an alias whose value is itself an
  // alias recursively (a DTB could make that loop forever).
  size_t slash = path.find('/');
  std::string_view alias = path.substr(0, slash);
  int aliases = fdt_subnode_offset(fdt_, kRoot, "aliases");
  int alias_len = 0;
  const void* alias_value =
      aliases < 0 ? nullptr
                  : fdt_getprop_namelen(fdt_, aliases, alias.data(), static_cast<int>(alias.size()),
                                        &alias_len);
  if (alias_value == nullptr) {
    return Fail(chosen, prop, Status(Error::kNotFound, "dtb: stdout-path alias is not in /aliases"));
  }
  std::optional<std::string_view> target = PropString(alias_value, alias_len);
  if (!target || target->empty() || target->front() != '/') {
    return Fail(aliases, nullptr,
                Status(Error::kMalformed, "dtb: stdout-path alias is not a full path string"));
  }
  int node = fdt_path_offset_namelen(fdt_, target->data(), static_cast<int>(target->size()));
  if (node < 0) {
    return Fail(aliases, nullptr, Status(Error::kNotFound, "dtb: stdout-path alias names no node"));
  }
  // The rest of the path, component by component below the aliased node.
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/'
    size_t next = rest.find('/');
    std::string_view name = rest.substr(0, next);
    if (!name.empty()) {
      node = fdt_subnode_offset_namelen(fdt_, node, name.data(), static_cast<int>(name.size()));
      if (node < 0) return Fail(chosen, prop, Status(Error::kNotFound, "dtb: stdout-path names no node"));
    }
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
  }
  return node;
}

Result<uint64_t> Dtb::TranslateRegAddress(int node, int index) const {
  if (index < 0) return Fail(node, "reg", Status(Error::kInvalidArgument, "dtb: negative reg index"));
  SALVAGE_ASSIGN_OR_RETURN(CellPairs reg, ReadReg(node));
  if (static_cast<size_t>(index) >= reg.count) {
    return Fail(node, "reg", Status(Error::kNotFound, "dtb: reg has no entry at that index"));
  }
  uint64_t addr = reg.Address(static_cast<size_t>(index));
  // Walk up: at each step `bus` is the node whose address space `addr` is in.
  int bus = fdt_parent_offset(fdt_, node);
  while (bus != kRoot) {
    if (bus < 0) return Fail(node, "reg", Status(Error::kMalformed, "dtb: cannot find a parent bus"));
    int parent = fdt_parent_offset(fdt_, bus);
    if (parent < 0) return Fail(bus, nullptr, Status(Error::kMalformed, "dtb: cannot find a parent bus"));
    int len = 0;
    const void* v = fdt_getprop(fdt_, bus, "ranges", &len);
    if (v == nullptr) {
      return Fail(bus, "ranges",
                  Status(Error::kUnsupported,
                         "dtb: bus has no ranges, its addresses are not CPU addresses"));
    }
    if (len > 0) {
      SALVAGE_ASSIGN_OR_RETURN(uint32_t child_ac, AddressCells(bus));
      SALVAGE_ASSIGN_OR_RETURN(uint32_t parent_ac, AddressCells(parent));
      SALVAGE_ASSIGN_OR_RETURN(uint32_t sc, SizeCells(bus));
      if (child_ac > kMaxDecodedCells || parent_ac > kMaxDecodedCells || sc > kMaxDecodedCells) {
        return Fail(bus, "ranges",
                    Status(Error::kUnsupported, "dtb: ranges has more than 2 cells per field"));
      }
      size_t entry = 4 * size_t{child_ac + parent_ac + sc};
      if (entry == 0 || static_cast<size_t>(len) % entry != 0) {
        return Fail(bus, "ranges",
                    Status(Error::kMalformed,
                           "dtb: ranges length is not a whole number of (child, parent, size) entries"));
      }
      const uint8_t* p = static_cast<const uint8_t*>(v);
      bool found = false;
      for (size_t i = 0; i < static_cast<size_t>(len) / entry && !found; ++i, p += entry) {
        uint64_t child = LoadCells(p, child_ac);
        uint64_t parent_base = LoadCells(p + 4 * child_ac, parent_ac);
        uint64_t size = LoadCells(p + 4 * (child_ac + parent_ac), sc);
        if (size == 0 || addr < child || addr - child > size - 1) continue;
        uint64_t offset = addr - child;
        if (parent_base + offset < parent_base) {
          return Fail(bus, "ranges", Status(Error::kOutOfRange, "dtb: ranges translation wraps past 2^64"));
        }
        addr = parent_base + offset;
        found = true;
      }
      if (!found) {
        return Fail(bus, "ranges",
                    Status(Error::kOutOfRange, "dtb: reg address is in no ranges entry of its bus"));
      }
    }
    bus = parent;
  }
  return addr;
}

Result<uint64_t> Dtb::RegSize(int node, int index) const {
  if (index < 0) return Fail(node, "reg", Status(Error::kInvalidArgument, "dtb: negative reg index"));
  SALVAGE_ASSIGN_OR_RETURN(CellPairs reg, ReadReg(node));
  if (static_cast<size_t>(index) >= reg.count) {
    return Fail(node, "reg", Status(Error::kNotFound, "dtb: reg has no entry at that index"));
  }
  return reg.Size(static_cast<size_t>(index));
}

bool Dtb::IsCompatible(int node, std::string_view compat) const {
  if (fdt_ == nullptr) return false;
  int len = 0;
  const char* p = static_cast<const char*>(fdt_getprop(fdt_, node, "compatible", &len));
  if (p == nullptr || len <= 0) return false;
  // Only whole NUL-terminated strings count; an unterminated tail is ignored.
  const char* end = p + len;
  while (p < end) {
    const void* nul = std::memchr(p, '\0', static_cast<size_t>(end - p));
    if (nul == nullptr) return false;
    std::string_view s(p, static_cast<size_t>(static_cast<const char*>(nul) - p));
    if (s == compat) return true;
    p = static_cast<const char*>(nul) + 1;
  }
  return false;
}

bool Dtb::IsEnabled(int node) const {
  if (fdt_ == nullptr) return false;
  int len = 0;
  const void* v = fdt_getprop(fdt_, node, "status", &len);
  if (v == nullptr) return len == -FDT_ERR_NOTFOUND;
  std::optional<std::string_view> s = PropString(v, len);
  return s && (*s == "okay" || *s == "ok");
}

Result<uint32_t> Dtb::GetU32(int node, const char* prop) const {
  if (fdt_ == nullptr) return Fail(node, prop, Status(Error::kInvalidArgument, "dtb: not open"));
  int len = 0;
  const void* v = fdt_getprop(fdt_, node, prop, &len);
  if (v == nullptr) return Fail(node, prop, Status(Error::kNotFound, "dtb: property is absent"));
  if (len != 4) return Fail(node, prop, Status(Error::kMalformed, "dtb: property is not one u32 cell"));
  return LoadBe32(static_cast<const uint8_t*>(v));
}

Result<std::string_view> Dtb::GetString(int node, const char* prop) const {
  if (fdt_ == nullptr) return Fail(node, prop, Status(Error::kInvalidArgument, "dtb: not open"));
  int len = 0;
  const void* v = fdt_getprop(fdt_, node, prop, &len);
  if (v == nullptr) return Fail(node, prop, Status(Error::kNotFound, "dtb: property is absent"));
  std::optional<std::string_view> s = PropString(v, len);
  if (!s) return Fail(node, prop, Status(Error::kMalformed, "dtb: property is not a NUL-terminated string"));
  return *s;
}

size_t Dtb::NodePath(int node, char* buf, size_t len) const {
  if (buf == nullptr || len == 0) return 0;
  int max = len > 0x7fffffff ? 0x7fffffff : static_cast<int>(len);
  if (fdt_ != nullptr && fdt_get_path(fdt_, node, buf, max) == 0) return std::strlen(buf);
  size_t pos = 0;
  buf[0] = '\0';
  Append(buf, len, &pos, "?");
  return pos;
}

Result<int> Dtb::PhandleTarget(int node, const char* prop) const {
  if (fdt_ == nullptr) return Fail(node, prop, Status(Error::kInvalidArgument, "dtb: not open"));
  int len = 0;
  const void* v = fdt_getprop(fdt_, node, prop, &len);
  if (v == nullptr) return Fail(node, prop, Status(Error::kNotFound, "dtb: property is absent"));
  if (len < 4) return Fail(node, prop, Status(Error::kMalformed, "dtb: property is shorter than a phandle"));
  const uint32_t phandle = LoadBe32(static_cast<const uint8_t*>(v));
  const int target = phandle == 0 || phandle == ~0u ? -1 : fdt_node_offset_by_phandle(fdt_, phandle);
  if (target < 0) return Fail(node, prop, Status(Error::kNotFound, "dtb: no node has the phandle the property names"));
  return target;
}

Result<uint32_t> Dtb::FixedClockRate(int node) const {
  if (HasProperty(node, "clock-frequency")) return GetU32(node, "clock-frequency");
  SALVAGE_ASSIGN_OR_RETURN(int provider, PhandleTarget(node, "clocks"));
  if (!IsCompatible(provider, "fixed-clock") || !IsEnabled(provider)) {
    return Fail(node, "clocks", Status(Error::kNotFound, "dtb: the first clock is not a fixed-clock"));
  }
  return GetU32(provider, "clock-frequency");
}

Result<std::string_view> Dtb::PsciMethod() const {
  if (fdt_ == nullptr) return Fail(-1, nullptr, Status(Error::kInvalidArgument, "dtb: not open"));
  int node = fdt_path_offset(fdt_, "/psci");
  if (node < 0) {
    for (const char* compat : {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"}) {
      node = fdt_node_offset_by_compatible(fdt_, -1, compat);
      if (node >= 0) break;
    }
  }
  if (node < 0 || !IsEnabled(node)) {
    return Fail(kRoot, nullptr, Status(Error::kNotFound, "dtb: no enabled /psci node"));
  }
  Result<std::string_view> method = GetString(node, "method");
  if (!method.ok()) return method.status();
  if (*method != "hvc" && *method != "smc") {
    return Fail(node, "method", Status(Error::kUnsupported, "dtb: /psci method is neither hvc nor smc"));
  }
  return *method;
}

size_t Dtb::DescribeError(const Status& status, char* buf, size_t len) const {
  if (buf == nullptr || len == 0) return 0;
  size_t pos = 0;
  buf[0] = '\0';
  Append(buf, len, &pos, status.what());
  if (error_node_ < 0 && error_property_ == nullptr) return pos;
  Append(buf, len, &pos, " (at ");
  if (error_node_ >= 0) {
    char path[256];
    NodePath(error_node_, path, sizeof(path));
    Append(buf, len, &pos, path);
  }
  if (error_property_ != nullptr) {
    if (error_node_ >= 0) Append(buf, len, &pos, ", ");
    Append(buf, len, &pos, error_property_);
  }
  Append(buf, len, &pos, ")");
  return pos;
}

}  // namespace salvage::dtb
