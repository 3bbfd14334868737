// Tests for runtime/dtb (salvage::dtb::Dtb) against the fixtures in host-tests/data
// (compiled to SALVAGE_TEST_DATA_DIR) and against blobs corrupted in memory.
#include <salvage/dtb/dtb.h>

#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef SALVAGE_TEST_DATA_DIR
#error "SALVAGE_TEST_DATA_DIR must name the directory holding the compiled fixtures"
#endif

namespace salvage::dtb {
namespace {

// A device tree in 8-byte aligned storage, loaded from a fixture and editable with
// libfdt's read-write functions (each edit grows the buffer as needed).
class Blob {
 public:
  static Blob Load(const char* name) {
    Blob b;
    std::string path = std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      ADD_FAILURE() << "cannot open fixture " << path;
      return b;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    b.size_ = bytes.size();
    b.words_.assign((bytes.size() + 7) / 8, 0);
    std::memcpy(b.words_.data(), bytes.data(), bytes.size());
    return b;
  }
  // An empty tree with the given root cells, /chosen absent.
  static Blob Empty() {
    Blob b;
    b.words_.assign(512, 0);
    EXPECT_EQ(fdt_create_empty_tree(b.words_.data(), 4096), 0);
    b.size_ = fdt_totalsize(b.words_.data());
    return b;
  }

  void* data() { return words_.data(); }
  const void* data() const { return words_.data(); }
  size_t size() const { return size_; }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words_.data()); }

  // Gives the tree room to grow, so the edits below can succeed.
  void MakeRoom() {
    std::vector<uint64_t> bigger(words_.size() + 1024, 0);
    ASSERT_EQ(fdt_open_into(words_.data(), bigger.data(), static_cast<int>(bigger.size() * 8)), 0);
    words_ = std::move(bigger);
    size_ = fdt_totalsize(words_.data());
  }
  int Node(const char* path) {
    int node = fdt_path_offset(data(), path);
    EXPECT_GE(node, 0) << path;
    return node;
  }
  void SetCells(const char* path, const char* prop, std::vector<uint32_t> cells) {
    MakeRoom();
    std::vector<fdt32_t> be;
    for (uint32_t c : cells) be.push_back(cpu_to_fdt32(c));
    ASSERT_EQ(fdt_setprop(data(), Node(path), prop, be.data(), static_cast<int>(be.size() * 4)), 0);
    size_ = fdt_totalsize(data());
  }
  void SetBytes(const char* path, const char* prop, const void* v, int len) {
    MakeRoom();
    ASSERT_EQ(fdt_setprop(data(), Node(path), prop, v, len), 0);
    size_ = fdt_totalsize(data());
  }
  void SetString(const char* path, const char* prop, const char* s) {
    SetBytes(path, prop, s, static_cast<int>(std::strlen(s) + 1));
  }
  void Delete(const char* path, const char* prop) {
    ASSERT_EQ(fdt_delprop(data(), Node(path), prop), 0);
  }
  int AddNode(const char* parent, const char* name) {
    MakeRoom();
    int node = fdt_add_subnode(data(), Node(parent), name);
    EXPECT_GE(node, 0) << name;
    size_ = fdt_totalsize(data());
    return node;
  }

  Dtb Open() {
    Result<Dtb> dtb = Dtb::Open(data(), words_.size() * 8);
    EXPECT_TRUE(dtb.ok()) << dtb.status().what();
    return dtb.ok() ? *dtb : Dtb();
  }

 private:
  std::vector<uint64_t> words_;
  size_t size_ = 0;
};

std::string Path(const Dtb& dtb, int node) {
  char buf[256];
  dtb.NodePath(node, buf, sizeof(buf));
  return buf;
}

std::string Describe(const Dtb& dtb, const Status& s) {
  char buf[512];
  dtb.DescribeError(s, buf, sizeof(buf));
  return buf;
}

std::vector<PhysRange> MemoryRanges(const Dtb& dtb, Status* status) {
  std::vector<PhysRange> out;
  *status = dtb.ForEachMemoryRange([&](PhysRange r) { out.push_back(r); });
  return out;
}

std::vector<PhysRange> UsableRanges(const Dtb& dtb, Status* status) {
  std::vector<PhysRange> out;
  *status = dtb.ForEachUsableMemoryRange([&](PhysRange r) { out.push_back(r); });
  return out;
}

// --- Open: what is refused before any query runs ---

TEST(DtbOpen, AcceptsFixtureAndReportsItsSize) {
  Blob b = Blob::Load("virt-aarch64");
  Result<Dtb> dtb = Dtb::Open(b.data(), b.size());
  ASSERT_TRUE(dtb.ok()) << dtb.status().what();
  EXPECT_EQ(dtb->blob(), b.data());
  EXPECT_EQ(dtb->TotalSize(), b.size());
}

TEST(DtbOpen, RejectsNull) {
  Result<Dtb> dtb = Dtb::Open(nullptr, 4096);
  EXPECT_EQ(dtb.status().error(), Error::kInvalidArgument);
}

TEST(DtbOpen, RejectsMisalignedPointer) {
  Blob b = Blob::Load("virt-aarch64");
  std::vector<uint64_t> shifted(b.size() / 8 + 2, 0);
  uint8_t* at = reinterpret_cast<uint8_t*>(shifted.data()) + 4;
  std::memcpy(at, b.data(), b.size());
  Result<Dtb> dtb = Dtb::Open(at, b.size());
  EXPECT_EQ(dtb.status().error(), Error::kInvalidArgument);
  EXPECT_STREQ(dtb.status().what(), "dtb: blob is not 8-byte aligned");
}

TEST(DtbOpen, RejectsBadMagic) {
  Blob b = Blob::Load("virt-aarch64");
  b.bytes()[0] ^= 0xff;
  Result<Dtb> dtb = Dtb::Open(b.data(), b.size());
  EXPECT_EQ(dtb.status().error(), Error::kMalformed);
  EXPECT_STREQ(dtb.status().what(), "dtb: bad magic (not a device tree)");
}

TEST(DtbOpen, RejectsBufferSmallerThanHeader) {
  Blob b = Blob::Load("virt-aarch64");
  Result<Dtb> dtb = Dtb::Open(b.data(), 16);
  EXPECT_EQ(dtb.status().error(), Error::kMalformed);
}

TEST(DtbOpen, RejectsTotalsizeLargerThanBuffer) {
  Blob b = Blob::Load("virt-aarch64");
  Result<Dtb> dtb = Dtb::Open(b.data(), b.size() - 1);
  EXPECT_EQ(dtb.status().error(), Error::kOutOfRange);
  EXPECT_STREQ(dtb.status().what(), "dtb: header totalsize exceeds the buffer it was given in");

  fdt_set_totalsize(b.data(), 0x7fff0000);
  dtb = Dtb::Open(b.data(), b.size());
  EXPECT_EQ(dtb.status().error(), Error::kOutOfRange);
}

TEST(DtbOpen, RejectsTruncatedBlob) {
  // The header claims a size that cuts the strings block off.
  Blob b = Blob::Load("virt-aarch64");
  fdt_set_totalsize(b.data(), fdt_off_dt_strings(b.data()));
  Result<Dtb> dtb = Dtb::Open(b.data(), b.size());
  EXPECT_EQ(dtb.status().error(), Error::kMalformed);
}

TEST(DtbOpen, RejectsCorruptStructureBlock) {
  // Overwrite the second token (the first property) with a tag that does not exist.
  Blob b = Blob::Load("virt-aarch64");
  uint8_t* structs = b.bytes() + fdt_off_dt_struct(b.data());
  ASSERT_EQ(fdt32_to_cpu(*reinterpret_cast<fdt32_t*>(structs)), FDT_BEGIN_NODE);
  // The root's name is "" padded to 4 bytes, so the first property tag is at +8.
  ASSERT_EQ(fdt32_to_cpu(*reinterpret_cast<fdt32_t*>(structs + 8)), FDT_PROP);
  *reinterpret_cast<fdt32_t*>(structs + 8) = cpu_to_fdt32(0xdeadbeef);
  Result<Dtb> dtb = Dtb::Open(b.data(), b.size());
  EXPECT_EQ(dtb.status().error(), Error::kMalformed);
  EXPECT_STREQ(dtb.status().what(), "dtb: structure block is corrupt (fdt_check_full)");
}

TEST(DtbOpen, RejectsUnsupportedVersion) {
  Blob b = Blob::Load("virt-aarch64");
  fdt_set_version(b.data(), 1);
  fdt_set_last_comp_version(b.data(), 1);
  Result<Dtb> dtb = Dtb::Open(b.data(), b.size());
  EXPECT_EQ(dtb.status().error(), Error::kUnsupported);
}

TEST(DtbOpen, EmptyDtbAnswersWithoutCrashing) {
  Dtb dtb;
  EXPECT_EQ(dtb.TotalSize(), 0u);
  EXPECT_EQ(dtb.ChosenBootargs(), "");
  EXPECT_FALSE(dtb.IsEnabled(0));
  EXPECT_EQ(dtb.ForEachMemoryRange([](PhysRange) {}).error(), Error::kInvalidArgument);
  EXPECT_EQ(dtb.TranslateRegAddress(0, 0).status().error(), Error::kInvalidArgument);
  char buf[8];
  EXPECT_EQ(dtb.NodePath(0, buf, sizeof(buf)), 1u);
  EXPECT_STREQ(buf, "?");
}

// --- virt-aarch64: two address cells, everything present ---

class VirtAarch64 : public ::testing::Test {
 protected:
  Blob blob_ = Blob::Load("virt-aarch64");
  Dtb dtb_ = blob_.Open();
};

TEST_F(VirtAarch64, RootCells) {
  EXPECT_EQ(dtb_.RootAddressCells(), 2u);
  EXPECT_EQ(dtb_.RootSizeCells(), 2u);
}

TEST_F(VirtAarch64, MemorySkipsDisabledNode) {
  Status s;
  std::vector<PhysRange> ranges = MemoryRanges(dtb_, &s);
  ASSERT_TRUE(s.ok()) << s.what();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], (PhysRange{0x40000000, 0x80000000}));
}

TEST_F(VirtAarch64, CallbackStatusStopsTheWalk) {
  int calls = 0;
  Status s = dtb_.ForEachUsableMemoryRange([&](PhysRange) {
    ++calls;
    return Status(Error::kResourceExhausted, "test: table full");
  });
  EXPECT_EQ(s.error(), Error::kResourceExhausted);
  EXPECT_EQ(calls, 1);
}

TEST_F(VirtAarch64, ChosenProperties) {
  Result<std::optional<PhysRange>> hdr = dtb_.ChosenElfCoreHdr();
  ASSERT_TRUE(hdr.ok()) << hdr.status().what();
  ASSERT_TRUE(hdr->has_value());
  EXPECT_EQ(**hdr, (PhysRange{0x7f000000, 0x1000}));

  Status s;
  std::vector<PhysRange> usable = UsableRanges(dtb_, &s);
  ASSERT_TRUE(s.ok()) << s.what();
  ASSERT_EQ(usable.size(), 2u);
  EXPECT_EQ(usable[0], (PhysRange{0x70000000, 0x0e000000}));
  EXPECT_EQ(usable[1], (PhysRange{0x50000000, 0x00100000}));

  EXPECT_EQ(dtb_.ChosenBootargs(), "console=ttyAMA0 salvage.sink=uart");
  EXPECT_EQ(dtb_.ChosenStdoutPath(), "/pl011@9000000");
}

TEST_F(VirtAarch64, StdoutPathAndRegOfPl011) {
  Result<int> node = dtb_.ResolveStdoutPath();
  ASSERT_TRUE(node.ok()) << node.status().what();
  EXPECT_EQ(Path(dtb_, *node), "/pl011@9000000");
  Result<uint64_t> base = dtb_.TranslateRegAddress(*node, 0);
  ASSERT_TRUE(base.ok()) << base.status().what();
  EXPECT_EQ(*base, 0x09000000u);
  Result<uint64_t> size = dtb_.RegSize(*node, 0);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0x1000u);
  EXPECT_EQ(dtb_.TranslateRegAddress(*node, 1).status().error(), Error::kNotFound);
  EXPECT_EQ(dtb_.TranslateRegAddress(*node, -1).status().error(), Error::kInvalidArgument);
}

TEST_F(VirtAarch64, SecondRegEntry) {
  int gic = blob_.Node("/intc@8000000");
  Result<uint64_t> base = dtb_.TranslateRegAddress(gic, 1);
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base, 0x080a0000u);
  Result<uint64_t> size = dtb_.RegSize(gic, 1);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0xf60000u);
  EXPECT_EQ(dtb_.RegSize(gic, 2).status().error(), Error::kNotFound);
}

TEST_F(VirtAarch64, BusWithoutRangesIsNotTranslatable) {
  int rtc = blob_.Node("/i2c-bus/rtc@68");
  Result<uint64_t> base = dtb_.TranslateRegAddress(rtc, 0);
  EXPECT_EQ(base.status().error(), Error::kUnsupported);
  EXPECT_EQ(Path(dtb_, dtb_.error_node()), "/i2c-bus");
  EXPECT_STREQ(dtb_.error_property(), "ranges");
  EXPECT_NE(Describe(dtb_, base.status()).find("(at /i2c-bus, ranges)"), std::string::npos)
      << Describe(dtb_, base.status());
  // #size-cells = 0 on the bus: the size is 0, not an error.
  Result<uint64_t> size = dtb_.RegSize(rtc, 0);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
}

TEST_F(VirtAarch64, RootHasNoReg) {
  EXPECT_EQ(dtb_.TranslateRegAddress(0, 0).status().error(), Error::kInvalidArgument);
  EXPECT_EQ(dtb_.TranslateRegAddress(-5, 0).status().error(), Error::kInvalidArgument);
  EXPECT_EQ(dtb_.TranslateRegAddress(3, 0).status().error(), Error::kInvalidArgument);
}

TEST_F(VirtAarch64, CompatibleAndStatus) {
  int pl011 = blob_.Node("/pl011@9000000");
  EXPECT_TRUE(dtb_.IsCompatible(pl011, "arm,pl011"));
  EXPECT_TRUE(dtb_.IsCompatible(pl011, "arm,primecell"));
  EXPECT_FALSE(dtb_.IsCompatible(pl011, "arm,pl01"));
  EXPECT_FALSE(dtb_.IsCompatible(pl011, "arm,pl011x"));
  EXPECT_FALSE(dtb_.IsCompatible(pl011, ""));
  EXPECT_TRUE(dtb_.IsEnabled(pl011));
  EXPECT_FALSE(dtb_.IsEnabled(blob_.Node("/memory@100000000")));

  std::vector<std::string> found;
  dtb_.ForEachCompatible("arm,pl011", [&](int node) { found.push_back(Path(dtb_, node)); });
  EXPECT_EQ(found, std::vector<std::string>{"/pl011@9000000"});
  int calls = 0;
  dtb_.ForEachCompatible("no,such-device", [&](int) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST_F(VirtAarch64, ForEachCompatibleStopsOnFalse) {
  blob_.AddNode("/", "pl011@9001000");
  blob_.SetString("/pl011@9001000", "compatible", "arm,pl011");
  Dtb dtb = blob_.Open();
  int calls = 0;
  dtb.ForEachCompatible("arm,pl011", [&](int) { return ++calls < 1; });
  EXPECT_EQ(calls, 1);
  calls = 0;
  dtb.ForEachCompatible("arm,pl011", [&](int) { ++calls; });
  EXPECT_EQ(calls, 2);
}

TEST_F(VirtAarch64, Properties) {
  int clk = blob_.Node("/apb-pclk");
  Result<uint32_t> hz = dtb_.GetU32(clk, "clock-frequency");
  ASSERT_TRUE(hz.ok());
  EXPECT_EQ(*hz, 24000000u);
  EXPECT_EQ(dtb_.GetU32(clk, "no-such-prop").status().error(), Error::kNotFound);
  EXPECT_EQ(dtb_.GetU32(blob_.Node("/pl011@9000000"), "reg").status().error(), Error::kMalformed);

  Result<std::string_view> compat = dtb_.GetString(blob_.Node("/pl011@9000000"), "compatible");
  ASSERT_TRUE(compat.ok());
  EXPECT_EQ(*compat, "arm,pl011");
  EXPECT_EQ(dtb_.GetString(clk, "absent").status().error(), Error::kNotFound);
}

TEST_F(VirtAarch64, NodePathTooSmallBuffer) {
  int pl011 = blob_.Node("/pl011@9000000");
  char buf[4] = {'x', 'x', 'x', 'x'};
  EXPECT_EQ(dtb_.NodePath(pl011, buf, sizeof(buf)), 1u);
  EXPECT_STREQ(buf, "?");
  EXPECT_EQ(dtb_.NodePath(pl011, buf, 0), 0u);
  EXPECT_EQ(buf[0], '?');  // untouched
  char big[64];
  EXPECT_EQ(dtb_.NodePath(pl011, big, sizeof(big)), std::strlen("/pl011@9000000"));
}

TEST_F(VirtAarch64, PsciMethod) {
  Result<std::string_view> method = dtb_.PsciMethod();
  ASSERT_TRUE(method.ok()) << method.status().what();
  EXPECT_EQ(*method, "hvc");
  blob_.SetString("/psci", "method", "smcc");
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.PsciMethod().status().error(), Error::kUnsupported);
}

// --- Bad content in an otherwise valid tree: Status values, never a crash ---

TEST_F(VirtAarch64, ThreeAddressCellsAreUnsupported) {
  blob_.SetCells("/", "#address-cells", {3});
  Dtb dtb = blob_.Open();
  Status s;
  std::vector<PhysRange> ranges = MemoryRanges(dtb, &s);
  EXPECT_EQ(s.error(), Error::kUnsupported);
  EXPECT_TRUE(ranges.empty());
  EXPECT_EQ(dtb.ChosenElfCoreHdr().status().error(), Error::kUnsupported);
  EXPECT_EQ(dtb.RootAddressCells(), 3u);
}

TEST_F(VirtAarch64, BadCellsPropertyIsMalformed) {
  blob_.SetCells("/", "#size-cells", {1, 1});
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.RootSizeCells(), Dtb::kDefaultSizeCells);
  Status s;
  MemoryRanges(dtb, &s);
  EXPECT_EQ(s.error(), Error::kMalformed);
  EXPECT_STREQ(dtb.error_property(), "#size-cells");
}

TEST_F(VirtAarch64, MemoryRangeThatWrapsIsOutOfRange) {
  blob_.SetCells("/memory@40000000", "reg", {0xffffffff, 0xffff0000, 0x0, 0x20000});
  Dtb dtb = blob_.Open();
  Status s;
  MemoryRanges(dtb, &s);
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  EXPECT_EQ(Path(dtb, dtb.error_node()), "/memory@40000000");
}

TEST_F(VirtAarch64, MemoryNodeWithoutRegIsNotFound) {
  blob_.Delete("/memory@40000000", "reg");
  Dtb dtb = blob_.Open();
  Status s;
  MemoryRanges(dtb, &s);
  EXPECT_EQ(s.error(), Error::kNotFound);
  EXPECT_EQ(Describe(dtb, s),
            "dtb: node has no such (address, size) property (at /memory@40000000, reg)");
}

TEST_F(VirtAarch64, ElfCoreHdrMustBeOnePair) {
  blob_.SetCells("/chosen", "linux,elfcorehdr", {0, 0x7f000000, 0, 0x1000, 0, 0x1000, 0, 0x10});
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.ChosenElfCoreHdr().status().error(), Error::kMalformed);
}

TEST_F(VirtAarch64, UsableRangeOfOddLengthIsMalformed) {
  blob_.SetCells("/chosen", "linux,usable-memory-range", {0, 0x70000000, 0, 0x1000, 0});
  Dtb dtb = blob_.Open();
  Status s;
  std::vector<PhysRange> usable = UsableRanges(dtb, &s);
  EXPECT_EQ(s.error(), Error::kMalformed);
  EXPECT_TRUE(usable.empty());
  EXPECT_EQ(Path(dtb, dtb.error_node()), "/chosen");
  EXPECT_STREQ(dtb.error_property(), "linux,usable-memory-range");
}

TEST_F(VirtAarch64, UnterminatedStringsAreNotRead) {
  blob_.SetBytes("/chosen", "bootargs", "abc", 3);
  blob_.SetBytes("/chosen", "stdout-path", "/pl011@9000000", 14);
  blob_.SetBytes("/pl011@9000000", "status", "okay", 4);
  blob_.SetBytes("/pl011@9000000", "compatible", "arm,pl011", 9);
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.ChosenBootargs(), "");
  EXPECT_EQ(dtb.ChosenStdoutPath(), "");
  EXPECT_EQ(dtb.ResolveStdoutPath().status().error(), Error::kMalformed);
  int pl011 = blob_.Node("/pl011@9000000");
  EXPECT_FALSE(dtb.IsEnabled(pl011));
  EXPECT_FALSE(dtb.IsCompatible(pl011, "arm,pl011"));
  EXPECT_EQ(dtb.GetString(pl011, "compatible").status().error(), Error::kMalformed);
}

TEST_F(VirtAarch64, StatusValues) {
  int pl011 = blob_.Node("/pl011@9000000");
  blob_.SetString("/pl011@9000000", "status", "ok");
  EXPECT_TRUE(blob_.Open().IsEnabled(pl011));
  blob_.SetString("/pl011@9000000", "status", "fail");
  EXPECT_FALSE(blob_.Open().IsEnabled(pl011));
  blob_.SetString("/pl011@9000000", "status", "okay");
  EXPECT_TRUE(blob_.Open().IsEnabled(pl011));
}

// --- virt-riscv64: empty ranges, options suffix, two memory nodes ---

class VirtRiscv64 : public ::testing::Test {
 protected:
  Blob blob_ = Blob::Load("virt-riscv64");
  Dtb dtb_ = blob_.Open();
};

TEST_F(VirtRiscv64, TwoMemoryNodes) {
  Status s;
  std::vector<PhysRange> ranges = MemoryRanges(dtb_, &s);
  ASSERT_TRUE(s.ok()) << s.what();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], (PhysRange{0x80000000, 0x40000000}));
  EXPECT_EQ(ranges[1], (PhysRange{0x100000000, 0x20000000}));
}

TEST_F(VirtRiscv64, StdoutPathWithOptionsThroughEmptyRanges) {
  EXPECT_EQ(dtb_.ChosenStdoutPath(), "/soc/serial@10000000:115200");
  Result<int> node = dtb_.ResolveStdoutPath();
  ASSERT_TRUE(node.ok()) << node.status().what();
  EXPECT_EQ(Path(dtb_, *node), "/soc/serial@10000000");
  Result<uint64_t> base = dtb_.TranslateRegAddress(*node, 0);
  ASSERT_TRUE(base.ok()) << base.status().what();
  EXPECT_EQ(*base, 0x10000000u);
  EXPECT_FALSE(dtb_.IsEnabled(blob_.Node("/soc/serial@10001000")));
}

TEST_F(VirtRiscv64, AbsentOptionalProperties) {
  Status s;
  EXPECT_TRUE(UsableRanges(dtb_, &s).empty());
  EXPECT_TRUE(s.ok());
  Result<std::optional<PhysRange>> hdr = dtb_.ChosenElfCoreHdr();
  ASSERT_TRUE(hdr.ok());
  EXPECT_EQ(**hdr, (PhysRange{0xbff00000, 0x10000}));
  EXPECT_EQ(dtb_.PsciMethod().status().error(), Error::kNotFound);
}

TEST_F(VirtRiscv64, StdoutPathToMissingNode) {
  blob_.SetString("/chosen", "stdout-path", "/soc/serial@20000000:115200");
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.ResolveStdoutPath().status().error(), Error::kNotFound);
}

// --- raspi3-arm: one cell, ranges translation, alias stdout-path ---

class Raspi3Arm : public ::testing::Test {
 protected:
  Blob blob_ = Blob::Load("raspi3-arm");
  Dtb dtb_ = blob_.Open();
};

TEST_F(Raspi3Arm, OneCellMemory) {
  EXPECT_EQ(dtb_.RootAddressCells(), 1u);
  EXPECT_EQ(dtb_.RootSizeCells(), 1u);
  Status s;
  std::vector<PhysRange> ranges = MemoryRanges(dtb_, &s);
  ASSERT_TRUE(s.ok()) << s.what();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], (PhysRange{0x0, 0x3b400000}));
  Result<std::optional<PhysRange>> hdr = dtb_.ChosenElfCoreHdr();
  ASSERT_TRUE(hdr.ok());
  EXPECT_FALSE(hdr->has_value());
}

TEST_F(Raspi3Arm, Pl011TranslatesThroughSocRanges) {
  int pl011 = blob_.Node("/soc/serial@7e201000");
  Result<uint64_t> base = dtb_.TranslateRegAddress(pl011, 0);
  ASSERT_TRUE(base.ok()) << base.status().what();
  EXPECT_EQ(*base, 0x3f201000u);
  Result<uint64_t> size = dtb_.RegSize(pl011, 0);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0x200u);
}

TEST_F(Raspi3Arm, AddressOutsideEveryRangesEntry) {
  blob_.SetCells("/soc/serial@7e201000", "reg", {0x20201000, 0x200});
  Dtb dtb = blob_.Open();
  Result<uint64_t> base = dtb.TranslateRegAddress(blob_.Node("/soc/serial@7e201000"), 0);
  EXPECT_EQ(base.status().error(), Error::kOutOfRange);
  EXPECT_EQ(Path(dtb, dtb.error_node()), "/soc");
}

TEST_F(Raspi3Arm, RangesOfBadLengthIsMalformed) {
  blob_.SetCells("/soc", "ranges", {0x7e000000, 0x3f000000});
  Dtb dtb = blob_.Open();
  Result<uint64_t> base = dtb.TranslateRegAddress(blob_.Node("/soc/serial@7e201000"), 0);
  EXPECT_EQ(base.status().error(), Error::kMalformed);
  EXPECT_STREQ(dtb.error_property(), "ranges");
}

TEST_F(Raspi3Arm, StdoutPathAlias) {
  EXPECT_EQ(dtb_.ChosenStdoutPath(), "serial1:115200n8");
  Result<int> node = dtb_.ResolveStdoutPath();
  ASSERT_TRUE(node.ok()) << node.status().what();
  EXPECT_EQ(Path(dtb_, *node), "/soc/serial@7e215040");
  EXPECT_TRUE(dtb_.IsCompatible(*node, "brcm,bcm2835-aux-uart"));
}

TEST_F(Raspi3Arm, StdoutPathAliasWithSubpath) {
  blob_.SetString("/aliases", "bus", "/soc");
  blob_.SetString("/chosen", "stdout-path", "bus/serial@7e201000:115200");
  Dtb dtb = blob_.Open();
  Result<int> node = dtb.ResolveStdoutPath();
  ASSERT_TRUE(node.ok()) << node.status().what();
  EXPECT_EQ(Path(dtb, *node), "/soc/serial@7e201000");
}

TEST_F(Raspi3Arm, LegacyStdoutPath) {
  blob_.Delete("/chosen", "stdout-path");
  blob_.SetString("/chosen", "linux,stdout-path", "/soc/serial@7e201000");
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.ChosenStdoutPath(), "/soc/serial@7e201000");
  Result<int> node = dtb.ResolveStdoutPath();
  ASSERT_TRUE(node.ok()) << node.status().what();
  EXPECT_EQ(Path(dtb, *node), "/soc/serial@7e201000");
}

TEST_F(Raspi3Arm, UnknownAliasIsNotFound) {
  blob_.SetString("/chosen", "stdout-path", "serial7:115200n8");
  Dtb dtb = blob_.Open();
  Result<int> node = dtb.ResolveStdoutPath();
  EXPECT_EQ(node.status().error(), Error::kNotFound);
  EXPECT_STREQ(node.status().what(), "dtb: stdout-path alias is not in /aliases");
}

TEST_F(Raspi3Arm, SelfReferencingAliasDoesNotRecurse) {
  // fdt_path_offset would follow "serial1" -> "serial1" -> ... until the stack ran out.
  blob_.SetString("/aliases", "serial1", "serial1");
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.ResolveStdoutPath().status().error(), Error::kMalformed);
}

TEST_F(Raspi3Arm, EmptyStdoutPath) {
  blob_.SetString("/chosen", "stdout-path", ":115200");
  Dtb dtb = blob_.Open();
  EXPECT_EQ(dtb.ResolveStdoutPath().status().error(), Error::kMalformed);
}

// --- broken-memory-reg: content errors name the node ---

class BrokenMemoryReg : public ::testing::Test {
 protected:
  Blob blob_ = Blob::Load("broken-memory-reg");
  Dtb dtb_ = blob_.Open();
};

TEST_F(BrokenMemoryReg, TruncatedMemoryRegNamesTheNode) {
  Status s;
  std::vector<PhysRange> ranges = MemoryRanges(dtb_, &s);
  EXPECT_EQ(s.error(), Error::kMalformed);
  EXPECT_TRUE(ranges.empty());
  EXPECT_EQ(Path(dtb_, dtb_.error_node()), "/memory@40000000");
  EXPECT_STREQ(dtb_.error_property(), "reg");
  EXPECT_EQ(Describe(dtb_, s),
            "dtb: property length is not a whole number of (address, size) entries "
            "(at /memory@40000000, reg)");
}

TEST_F(BrokenMemoryReg, HalfElfCoreHdrIsMalformed) {
  Result<std::optional<PhysRange>> hdr = dtb_.ChosenElfCoreHdr();
  EXPECT_EQ(hdr.status().error(), Error::kMalformed);
  EXPECT_EQ(Path(dtb_, dtb_.error_node()), "/chosen");
}

TEST_F(BrokenMemoryReg, ShortUartRegIsMalformed) {
  Result<int> node = dtb_.ResolveStdoutPath();
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(dtb_.TranslateRegAddress(*node, 0).status().error(), Error::kMalformed);
  EXPECT_EQ(dtb_.RegSize(*node, 0).status().error(), Error::kMalformed);
}

TEST_F(BrokenMemoryReg, DescribeErrorTruncates) {
  Status s;
  MemoryRanges(dtb_, &s);
  char buf[10];
  EXPECT_EQ(dtb_.DescribeError(s, buf, sizeof(buf)), 9u);
  EXPECT_STREQ(buf, "dtb: prop");
}

// --- A minimal tree: defaults and absent nodes ---

TEST(DtbEmptyTree, DefaultsAndAbsentChosen) {
  Blob b = Blob::Empty();
  Dtb dtb = b.Open();
  EXPECT_EQ(dtb.RootAddressCells(), Dtb::kDefaultAddressCells);
  EXPECT_EQ(dtb.RootSizeCells(), Dtb::kDefaultSizeCells);
  EXPECT_EQ(dtb.ChosenBootargs(), "");
  EXPECT_EQ(dtb.ChosenStdoutPath(), "");
  EXPECT_EQ(dtb.ResolveStdoutPath().status().error(), Error::kNotFound);
  Result<std::optional<PhysRange>> hdr = dtb.ChosenElfCoreHdr();
  ASSERT_TRUE(hdr.ok());
  EXPECT_FALSE(hdr->has_value());
  Status s;
  EXPECT_TRUE(MemoryRanges(dtb, &s).empty());
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(UsableRanges(dtb, &s).empty());
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(dtb.PsciMethod().status().error(), Error::kNotFound);
}

TEST(DtbEmptyTree, DefaultCellsDecodeMemory) {
  // No #address-cells / #size-cells: entries are 2 + 1 cells.
  Blob b = Blob::Empty();
  b.AddNode("/", "memory@80000000");
  b.SetString("/memory@80000000", "device_type", "memory");
  b.SetCells("/memory@80000000", "reg", {0x0, 0x80000000, 0x10000000});
  Dtb dtb = b.Open();
  Status s;
  std::vector<PhysRange> ranges = MemoryRanges(dtb, &s);
  ASSERT_TRUE(s.ok()) << s.what();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], (PhysRange{0x80000000, 0x10000000}));
}

}  // namespace
}  // namespace salvage::dtb
