// Tests for loader/board/dtb-edit: every edited tree is read back through the image's own
// reader (runtime/dtb, salvage::dtb::Dtb), on the fixtures in host-tests/data
// (virt-aarch64: 2 address cells, stale linux,elfcorehdr and usable-memory-range;
// raspi3-arm: 1 address cell, no kexec properties) and on trees built here with libfdt.
#include "board/dtb-edit/dtb-edit.h"

#include <salvage/dtb/dtb.h>

#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#ifndef SALVAGE_TEST_DATA_DIR
#error "SALVAGE_TEST_DATA_DIR must name the directory holding the compiled fixtures"
#endif

namespace salvage::loader {
namespace {

std::string FixturePath(const char* name) { return std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb"; }

std::vector<uint8_t> LoadFixture(const char* name) {
  std::string message;
  Result<std::vector<uint8_t>> r = ReadDtbFile(FixturePath(name), &message);
  EXPECT_TRUE(r.ok()) << message;
  return r.ok() ? std::move(*r) : std::vector<uint8_t>();
}

// Applies a libfdt edit to a tree (for building inputs): opens it into a larger
// buffer, runs fn(fdt), packs it.
template <class Fn>
std::vector<uint8_t> Modify(const std::vector<uint8_t>& tree, Fn fn) {
  std::vector<uint64_t> buf((tree.size() + 4096) / 8, 0);
  EXPECT_EQ(fdt_open_into(tree.data(), buf.data(), static_cast<int>(buf.size() * 8)), 0);
  fn(static_cast<void*>(buf.data()));
  EXPECT_EQ(fdt_pack(buf.data()), 0);
  const uint8_t* b = reinterpret_cast<const uint8_t*>(buf.data());
  return std::vector<uint8_t>(b, b + fdt_totalsize(buf.data()));
}

// A tree with only a root (fdt_create_empty_tree): no /chosen, no #address-cells.
std::vector<uint8_t> EmptyTree() {
  std::vector<uint64_t> buf(512, 0);
  EXPECT_EQ(fdt_create_empty_tree(buf.data(), 4096), 0);
  EXPECT_EQ(fdt_pack(buf.data()), 0);
  const uint8_t* b = reinterpret_cast<const uint8_t*>(buf.data());
  return std::vector<uint8_t>(b, b + fdt_totalsize(buf.data()));
}

void SetRootCells(void* fdt, uint32_t address_cells, uint32_t size_cells) {
  ASSERT_EQ(fdt_setprop_u32(fdt, 0, "#address-cells", address_cells), 0);
  ASSERT_EQ(fdt_setprop_u32(fdt, 0, "#size-cells", size_cells), 0);
}

// What the image sees in an edited tree.
struct ReadBack {
  bool ok = false;
  std::optional<PhysRange> elfcorehdr;
  std::vector<PhysRange> usable;
  std::optional<std::string> options;  // salvage,options; nullopt when absent.
  std::string bootargs;
  bool has_bootargs = false;
  int elfcorehdr_len = -1;  // Raw property lengths: -1 when absent.
  int usable_len = -1;
  bool has_initrd_start = false;
  bool has_initrd_end = false;
  uint32_t address_cells = 0;
};

ReadBack Read(const std::vector<uint8_t>& tree) {
  ReadBack rb;
  Result<dtb::Dtb> opened = dtb::Dtb::Open(tree.data(), tree.size());
  EXPECT_TRUE(opened.ok()) << opened.status().what();
  if (!opened.ok()) return rb;
  const dtb::Dtb& d = *opened;
  Result<std::optional<PhysRange>> hdr = d.ChosenElfCoreHdr();
  EXPECT_TRUE(hdr.ok()) << hdr.status().what();
  if (hdr.ok()) rb.elfcorehdr = *hdr;
  Status walk = d.ForEachUsableMemoryRange([&](PhysRange r) { rb.usable.push_back(r); });
  EXPECT_TRUE(walk.ok()) << walk.what();
  const int chosen = fdt_path_offset(tree.data(), "/chosen");
  EXPECT_GE(chosen, 0);
  if (chosen < 0) return rb;
  if (Result<std::string_view> s = d.GetString(chosen, "salvage,options"); s.ok()) rb.options = std::string(*s);
  rb.has_bootargs = fdt_getprop(tree.data(), chosen, "bootargs", nullptr) != nullptr;
  rb.bootargs = std::string(d.ChosenBootargs());
  fdt_getprop(tree.data(), chosen, "linux,elfcorehdr", &rb.elfcorehdr_len);
  if (rb.elfcorehdr_len < 0) rb.elfcorehdr_len = -1;
  fdt_getprop(tree.data(), chosen, "linux,usable-memory-range", &rb.usable_len);
  if (rb.usable_len < 0) rb.usable_len = -1;
  rb.has_initrd_start = fdt_getprop(tree.data(), chosen, "linux,initrd-start", nullptr) != nullptr;
  rb.has_initrd_end = fdt_getprop(tree.data(), chosen, "linux,initrd-end", nullptr) != nullptr;
  rb.address_cells = d.RootAddressCells();
  rb.ok = true;
  return rb;
}

Result<std::vector<uint8_t>> Edit(const std::vector<uint8_t>& tree, const CrashDtbEdits& edits,
                                  std::string* message = nullptr) {
  return EditCrashDtb(std::span<const uint8_t>(tree), edits, message);
}

CrashDtbEdits AArch64Edits() {
  CrashDtbEdits e;
  e.elfcorehdr = {0x1'2345'6000, 0x2000};  // Above 4 GiB: needs both address cells.
  e.usable_memory = {{0xa000'0000, 0x1000'0000}, {0x3000'0000, 0x0100'0000}};
  e.salvage_options = "salvage.sink=virtio-blk salvage.after=reboot";
  e.bootargs_append = "salvage.debug=report";
  return e;
}

TEST(DtbEditTest, VirtAArch64TwoCellsReadsBack) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  ASSERT_FALSE(in.empty());
  std::string message;
  Result<std::vector<uint8_t>> out = Edit(in, AArch64Edits(), &message);
  ASSERT_TRUE(out.ok()) << message;
  EXPECT_TRUE(message.empty());
  const ReadBack rb = Read(*out);
  ASSERT_TRUE(rb.ok);
  EXPECT_EQ(rb.address_cells, 2u);
  ASSERT_TRUE(rb.elfcorehdr.has_value());
  EXPECT_EQ(*rb.elfcorehdr, (PhysRange{0x1'2345'6000, 0x2000}));
  EXPECT_EQ(rb.elfcorehdr_len, 16);  // <2 cells address, 2 cells size>
  ASSERT_EQ(rb.usable.size(), 2u);
  EXPECT_EQ(rb.usable[0], (PhysRange{0xa000'0000, 0x1000'0000}));  // In the order given.
  EXPECT_EQ(rb.usable[1], (PhysRange{0x3000'0000, 0x0100'0000}));
  EXPECT_EQ(rb.options, "salvage.sink=virtio-blk salvage.after=reboot");
  EXPECT_EQ(rb.bootargs, "console=ttyAMA0 salvage.sink=uart salvage.debug=report");
  // The rest of the tree is untouched: the image still finds its console and memory.
  Result<dtb::Dtb> d = dtb::Dtb::Open(out->data(), out->size());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ChosenStdoutPath(), "/pl011@9000000");
  std::vector<PhysRange> memory;
  EXPECT_TRUE(d->ForEachMemoryRange([&](PhysRange r) { memory.push_back(r); }).ok());
  ASSERT_EQ(memory.size(), 1u);
  EXPECT_EQ(memory[0], (PhysRange{0x4000'0000, 0x8000'0000}));
  Result<std::string_view> psci = d->PsciMethod();
  ASSERT_TRUE(psci.ok());
  EXPECT_EQ(*psci, "hvc");
}

TEST(DtbEditTest, StaleKexecPropertiesAreReplaced) {
  // The fixture carries linux,elfcorehdr <0x7f000000 0x1000> and two usable ranges;
  // one new range must leave exactly one.
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  const ReadBack before = Read(in);
  ASSERT_EQ(before.elfcorehdr, (PhysRange{0x7f00'0000, 0x1000}));
  ASSERT_EQ(before.usable.size(), 2u);

  CrashDtbEdits e = AArch64Edits();
  e.elfcorehdr = {0x4800'0000, 0x1800};
  e.usable_memory = {{0x4000'0000, 0x0800'0000}};
  Result<std::vector<uint8_t>> out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  const ReadBack rb = Read(*out);
  EXPECT_EQ(rb.elfcorehdr, (PhysRange{0x4800'0000, 0x1800}));
  EXPECT_EQ(rb.elfcorehdr_len, 16);
  ASSERT_EQ(rb.usable.size(), 1u);
  EXPECT_EQ(rb.usable[0], (PhysRange{0x4000'0000, 0x0800'0000}));
  EXPECT_EQ(rb.usable_len, 16);
  // One property of each name: a second "linux,elfcorehdr" would fail fdt_check_full.
  EXPECT_EQ(fdt_check_full(out->data(), out->size()), 0);
}

TEST(DtbEditTest, Raspi3OneCellReadsBack) {
  const std::vector<uint8_t> in = LoadFixture("raspi3-arm");
  CrashDtbEdits e;
  e.elfcorehdr = {0x3a00'0000, 0x1000};
  e.usable_memory = {{0x3800'0000, 0x0200'0000}};
  e.salvage_options = "salvage.sink=uart";
  std::string message;
  Result<std::vector<uint8_t>> out = Edit(in, e, &message);
  ASSERT_TRUE(out.ok()) << message;
  const ReadBack rb = Read(*out);
  EXPECT_EQ(rb.address_cells, 1u);
  EXPECT_EQ(rb.elfcorehdr, (PhysRange{0x3a00'0000, 0x1000}));
  EXPECT_EQ(rb.elfcorehdr_len, 8);  // <1 cell address, 1 cell size>
  ASSERT_EQ(rb.usable.size(), 1u);
  EXPECT_EQ(rb.usable[0], (PhysRange{0x3800'0000, 0x0200'0000}));
  EXPECT_EQ(rb.usable_len, 8);
  EXPECT_EQ(rb.options, "salvage.sink=uart");
  // No words to append: bootargs is as it was.
  EXPECT_EQ(rb.bootargs, "coherent_pool=1M 8250.nr_uarts=1 console=ttyS0,115200");
  // The alias-based stdout-path still resolves through the moved nodes.
  Result<dtb::Dtb> d = dtb::Dtb::Open(out->data(), out->size());
  ASSERT_TRUE(d.ok());
  Result<int> uart = d->ResolveStdoutPath();
  ASSERT_TRUE(uart.ok());
  EXPECT_TRUE(d->IsCompatible(*uart, "brcm,bcm2835-aux-uart"));
}

TEST(DtbEditTest, OneCellRejectsAddressesAbove4GiB) {
  const std::vector<uint8_t> in = LoadFixture("raspi3-arm");
  CrashDtbEdits e;
  e.elfcorehdr = {0x1'0000'0000, 0x1000};
  e.usable_memory = {{0x3800'0000, 0x0200'0000}};
  std::string message;
  Result<std::vector<uint8_t>> out = Edit(in, e, &message);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().error(), Error::kOutOfRange);
  EXPECT_STREQ(out.status().what(), "dtb-edit: linux,elfcorehdr does not fit the root's cells");
  EXPECT_NE(message.find("#address-cells = 1"), std::string::npos) << message;

  e.elfcorehdr = {0x3a00'0000, 0x1000};
  e.usable_memory = {{0x3800'0000, 0x1'0000'0000}};  // Size needs 33 bits.
  out = Edit(in, e, &message);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().error(), Error::kOutOfRange);
  EXPECT_NE(std::string(out.status().what()).find("linux,usable-memory-range"), std::string::npos);
}

TEST(DtbEditTest, InitrdIsRemovedUnlessAsked) {
  const std::vector<uint8_t> in = Modify(LoadFixture("raspi3-arm"), [](void* fdt) {
    const int chosen = fdt_path_offset(fdt, "/chosen");
    ASSERT_GE(chosen, 0);
    ASSERT_EQ(fdt_setprop_u32(fdt, chosen, "linux,initrd-start", 0x2000'0000), 0);
    ASSERT_EQ(fdt_setprop_u32(fdt, chosen, "linux,initrd-end", 0x2080'0000), 0);
  });
  CrashDtbEdits e;
  e.elfcorehdr = {0x3a00'0000, 0x1000};
  e.usable_memory = {{0x3800'0000, 0x0200'0000}};

  Result<std::vector<uint8_t>> out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  ReadBack rb = Read(*out);
  EXPECT_FALSE(rb.has_initrd_start);
  EXPECT_FALSE(rb.has_initrd_end);

  e.remove_initrd = false;
  out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  rb = Read(*out);
  EXPECT_TRUE(rb.has_initrd_start);
  EXPECT_TRUE(rb.has_initrd_end);
}

TEST(DtbEditTest, ChosenIsCreatedWhenMissing) {
  // An empty tree: no /chosen and no #address-cells/#size-cells, so both libfdt and
  // the reader use the spec defaults, 2 and 1.
  const std::vector<uint8_t> in = EmptyTree();
  ASSERT_LT(fdt_path_offset(in.data(), "/chosen"), 0);
  CrashDtbEdits e;
  e.elfcorehdr = {0x8'0000'0000, 0x3000};
  e.usable_memory = {{0x9000'0000, 0x1000'0000}};
  e.salvage_options = "salvage.after=halt";
  e.bootargs_append = "salvage.debug=report";
  std::string message;
  Result<std::vector<uint8_t>> out = Edit(in, e, &message);
  ASSERT_TRUE(out.ok()) << message;
  const ReadBack rb = Read(*out);
  ASSERT_TRUE(rb.ok);
  EXPECT_EQ(rb.elfcorehdr, (PhysRange{0x8'0000'0000, 0x3000}));
  EXPECT_EQ(rb.elfcorehdr_len, 12);  // <2 cells address, 1 cell size>
  ASSERT_EQ(rb.usable.size(), 1u);
  EXPECT_EQ(rb.usable[0], (PhysRange{0x9000'0000, 0x1000'0000}));
  EXPECT_EQ(rb.options, "salvage.after=halt");
  EXPECT_EQ(rb.bootargs, "salvage.debug=report");  // No old bootargs: no leading space.
}

TEST(DtbEditTest, ChosenIsCreatedWithOneCellRoot) {
  const std::vector<uint8_t> in = Modify(EmptyTree(), [](void* fdt) { SetRootCells(fdt, 1, 1); });
  CrashDtbEdits e;
  e.elfcorehdr = {0x1000'0000, 0x1000};
  e.usable_memory = {{0x2000'0000, 0x0400'0000}, {0x0800'0000, 0x0100'0000}};
  Result<std::vector<uint8_t>> out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  const ReadBack rb = Read(*out);
  EXPECT_EQ(rb.elfcorehdr_len, 8);
  EXPECT_EQ(rb.usable_len, 16);
  ASSERT_EQ(rb.usable.size(), 2u);
  EXPECT_EQ(rb.usable[1], (PhysRange{0x0800'0000, 0x0100'0000}));
  EXPECT_FALSE(rb.options.has_value());  // No options given: no property.
  EXPECT_FALSE(rb.has_bootargs);
}

TEST(DtbEditTest, BootargsReplaceAndRemove) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  CrashDtbEdits e = AArch64Edits();
  e.replace_bootargs = true;
  e.bootargs_append = "salvage.sink=uart";
  Result<std::vector<uint8_t>> out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Read(*out).bootargs, "salvage.sink=uart");

  e.bootargs_append.clear();
  out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(Read(*out).has_bootargs);
}

TEST(DtbEditTest, StaleSalvageOptionsAreRemovedWhenNoneGiven) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  Result<std::vector<uint8_t>> first = Edit(in, AArch64Edits());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Read(*first).options.has_value());
  CrashDtbEdits e = AArch64Edits();
  e.salvage_options.clear();
  e.bootargs_append.clear();
  Result<std::vector<uint8_t>> second = Edit(*first, e);
  ASSERT_TRUE(second.ok());
  const ReadBack rb = Read(*second);
  EXPECT_FALSE(rb.options.has_value());
  // bootargs untouched by the second edit: the first's words are there once.
  EXPECT_EQ(rb.bootargs, "console=ttyAMA0 salvage.sink=uart salvage.debug=report");
}

TEST(DtbEditTest, EditingTheResultAgainGivesTheSameBytes) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  CrashDtbEdits e = AArch64Edits();
  e.bootargs_append.clear();  // Appending is, by design, not idempotent.
  Result<std::vector<uint8_t>> once = Edit(in, e);
  ASSERT_TRUE(once.ok());
  Result<std::vector<uint8_t>> twice = Edit(*once, e);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*once, *twice);
}

TEST(DtbEditTest, GrowsBeyondTheOriginalSizeAndPacks) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  CrashDtbEdits e = AArch64Edits();
  // 100 KiB of words: far beyond any slack the fixture has (dtc packs it).
  e.salvage_options.clear();
  while (e.salvage_options.size() < 100 * 1024) e.salvage_options += "salvage.debug=report ";
  e.bootargs_append = std::string(20000, 'x');
  std::string message;
  Result<std::vector<uint8_t>> out = Edit(in, e, &message);
  ASSERT_TRUE(out.ok()) << message;
  EXPECT_GT(out->size(), in.size() + 120000);
  EXPECT_EQ(out->size(), fdt_totalsize(out->data()));  // Packed: the blob is the tree.
  const ReadBack rb = Read(*out);
  EXPECT_EQ(rb.options, e.salvage_options);
  EXPECT_EQ(rb.bootargs, "console=ttyAMA0 salvage.sink=uart " + e.bootargs_append);
  EXPECT_EQ(rb.elfcorehdr, (PhysRange{0x1'2345'6000, 0x2000}));
}

TEST(DtbEditTest, ResultLargerThanTheLimitIsRefused) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  CrashDtbEdits e = AArch64Edits();
  e.salvage_options = std::string(kMaxDtbSize, 'y');
  Result<std::vector<uint8_t>> out = Edit(in, e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().error(), Error::kOutOfRange);
}

TEST(DtbEditTest, EditsOutOfContractAreRefused) {
  const std::vector<uint8_t> in = LoadFixture("virt-aarch64");
  struct Case {
    const char* name;
    void (*change)(CrashDtbEdits&);
  };
  const Case cases[] = {
      {"empty elfcorehdr", [](CrashDtbEdits& e) { e.elfcorehdr.size = 0; }},
      {"wrapping elfcorehdr", [](CrashDtbEdits& e) { e.elfcorehdr = {~uint64_t{0} - 0xfff, 0x2000}; }},
      {"no usable range", [](CrashDtbEdits& e) { e.usable_memory.clear(); }},
      {"three usable ranges", [](CrashDtbEdits& e) { e.usable_memory.push_back({0x1000, 0x1000}); }},
      {"empty usable range", [](CrashDtbEdits& e) { e.usable_memory[1].size = 0; }},
      {"overlapping usable ranges", [](CrashDtbEdits& e) { e.usable_memory[1] = {0xa800'0000, 0x1000'0000}; }},
      {"NUL in options", [](CrashDtbEdits& e) { e.salvage_options += std::string(1, '\0') + "x"; }},
      {"NUL in bootargs", [](CrashDtbEdits& e) { e.bootargs_append += std::string(1, '\0'); }},
  };
  for (const Case& c : cases) {
    CrashDtbEdits e = AArch64Edits();
    c.change(e);
    std::string message;
    Result<std::vector<uint8_t>> out = Edit(in, e, &message);
    ASSERT_FALSE(out.ok()) << c.name;
    EXPECT_EQ(out.status().error(), Error::kInvalidArgument) << c.name;
    EXPECT_EQ(message.rfind(out.status().what(), 0), 0u) << c.name << ": " << message;
  }
}

TEST(DtbEditTest, BadInputIsAnError) {
  const std::vector<uint8_t> good = LoadFixture("virt-aarch64");
  const CrashDtbEdits e = AArch64Edits();
  std::string message;

  // Nothing, and too short for a header.
  Result<std::vector<uint8_t>> out = Edit({}, e, &message);
  EXPECT_EQ(out.status().error(), Error::kMalformed);
  out = Edit(std::vector<uint8_t>(good.begin(), good.begin() + 20), e, &message);
  EXPECT_EQ(out.status().error(), Error::kMalformed);

  // Not a device tree.
  std::vector<uint8_t> bad = good;
  bad[0] ^= 0xff;
  out = Edit(bad, e, &message);
  EXPECT_EQ(out.status().error(), Error::kMalformed);
  EXPECT_STREQ(out.status().what(), "dtb-edit: bad magic (not a device tree)");

  // Shorter than its totalsize says.
  out = Edit(std::vector<uint8_t>(good.begin(), good.end() - 8), e, &message);
  EXPECT_EQ(out.status().error(), Error::kMalformed);
  EXPECT_NE(message.find("totalsize"), std::string::npos) << message;

  // totalsize beyond the limit.
  bad = good;
  const uint32_t huge = cpu_to_fdt32(static_cast<uint32_t>(kMaxDtbSize + 8));
  std::memcpy(bad.data() + 4, &huge, 4);
  out = Edit(bad, e, &message);
  EXPECT_EQ(out.status().error(), Error::kOutOfRange);

  // A corrupt structure block: the root's FDT_BEGIN_NODE token overwritten.
  bad = good;
  const uint32_t off_struct = fdt_off_dt_struct(good.data());
  const uint32_t junk = cpu_to_fdt32(0x0badf00d);
  std::memcpy(bad.data() + off_struct, &junk, 4);
  out = Edit(bad, e, &message);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().error(), Error::kMalformed);
  EXPECT_STREQ(out.status().what(), "dtb-edit: input fails fdt_check_full");
  EXPECT_NE(message.find("FDT_ERR_"), std::string::npos) << message;  // fdt_strerror's text.

  // Trailing bytes after totalsize are not part of the tree.
  std::vector<uint8_t> padded = good;
  padded.resize(good.size() + 100, 0xee);
  out = Edit(padded, e, &message);
  ASSERT_TRUE(out.ok()) << message;
  EXPECT_EQ(Read(*out).elfcorehdr, (PhysRange{0x1'2345'6000, 0x2000}));
}

TEST(DtbEditTest, UnalignedInputIsCopied) {
  const std::vector<uint8_t> good = LoadFixture("raspi3-arm");
  std::vector<uint8_t> shifted(good.size() + 1);
  std::memcpy(shifted.data() + 1, good.data(), good.size());
  CrashDtbEdits e;
  e.elfcorehdr = {0x3a00'0000, 0x1000};
  e.usable_memory = {{0x3800'0000, 0x0200'0000}};
  std::string message;
  Result<std::vector<uint8_t>> out =
      EditCrashDtb(std::span<const uint8_t>(shifted).subspan(1), e, &message);
  ASSERT_TRUE(out.ok()) << message;
  EXPECT_EQ(Read(*out).elfcorehdr, (PhysRange{0x3a00'0000, 0x1000}));
}

TEST(DtbEditTest, BadRootCellsAreErrorsNamingTheProperty) {
  const CrashDtbEdits e = AArch64Edits();
  std::string message;

  // #address-cells two cells long: libfdt says FDT_ERR_BADNCELLS.
  std::vector<uint8_t> in = Modify(EmptyTree(), [](void* fdt) {
    const fdt32_t cells[2] = {cpu_to_fdt32(2), cpu_to_fdt32(2)};
    ASSERT_EQ(fdt_setprop(fdt, 0, "#address-cells", cells, sizeof(cells)), 0);
  });
  Result<std::vector<uint8_t>> out = Edit(in, e, &message);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().error(), Error::kMalformed);
  EXPECT_EQ(message, "dtb-edit: the root's #address-cells is invalid: FDT_ERR_BADNCELLS");

  // Three address cells: valid, but the image decodes at most two.
  in = Modify(EmptyTree(), [](void* fdt) { SetRootCells(fdt, 3, 2); });
  out = Edit(in, e, &message);
  EXPECT_EQ(out.status().error(), Error::kUnsupported);
  EXPECT_NE(std::string(out.status().what()).find("#address-cells"), std::string::npos);

  // #size-cells = 0: a range without a size.
  in = Modify(EmptyTree(), [](void* fdt) { SetRootCells(fdt, 2, 0); });
  out = Edit(in, e, &message);
  EXPECT_EQ(out.status().error(), Error::kUnsupported);
  EXPECT_NE(std::string(out.status().what()).find("#size-cells"), std::string::npos);
}

TEST(DtbEditTest, BootargsWithoutNulCannotBeAppendedTo) {
  const std::vector<uint8_t> in = Modify(LoadFixture("raspi3-arm"), [](void* fdt) {
    const int chosen = fdt_path_offset(fdt, "/chosen");
    ASSERT_EQ(fdt_setprop(fdt, chosen, "bootargs", "abcd", 4), 0);  // No NUL.
  });
  CrashDtbEdits e;
  e.elfcorehdr = {0x3a00'0000, 0x1000};
  e.usable_memory = {{0x3800'0000, 0x0200'0000}};
  e.bootargs_append = "salvage.sink=uart";
  Result<std::vector<uint8_t>> out = Edit(in, e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().error(), Error::kMalformed);
  EXPECT_NE(std::string(out.status().what()).find("bootargs"), std::string::npos);
  // Replacing does not need the old value.
  e.replace_bootargs = true;
  out = Edit(in, e);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Read(*out).bootargs, "salvage.sink=uart");
}

// ReadDtbFile on files written here.
class ReadDtbFileTest : public ::testing::Test {
 protected:
  std::string Write(const char* name, const std::vector<uint8_t>& bytes) {
    std::string path = ::testing::TempDir() + "salvage-dtb-edit-" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& p : paths_) std::remove(p.c_str());
  }
  std::vector<std::string> paths_;
};

TEST_F(ReadDtbFileTest, ReadsAFixture) {
  std::string message;
  Result<std::vector<uint8_t>> r = ReadDtbFile(FixturePath("virt-aarch64"), &message);
  ASSERT_TRUE(r.ok()) << message;
  EXPECT_EQ(r->size(), fdt_totalsize(r->data()));
}

TEST_F(ReadDtbFileTest, MissingFileNamesThePath) {
  std::string message;
  const std::string path = ::testing::TempDir() + "salvage-dtb-edit-does-not-exist";
  Result<std::vector<uint8_t>> r = ReadDtbFile(path, &message);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), Error::kNotFound);
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST_F(ReadDtbFileTest, TrailingBytesAreDropped) {
  std::vector<uint8_t> bytes = LoadFixture("raspi3-arm");
  const size_t total = bytes.size();
  bytes.resize(total + 4096, 0);
  Result<std::vector<uint8_t>> r = ReadDtbFile(Write("padded.dtb", bytes));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), total);
}

TEST_F(ReadDtbFileTest, BadFilesAreMalformed) {
  const std::vector<uint8_t> good = LoadFixture("raspi3-arm");
  std::string message;

  Result<std::vector<uint8_t>> r = ReadDtbFile(Write("short.dtb", {0xd0, 0x0d, 0xfe, 0xed}), &message);
  EXPECT_EQ(r.status().error(), Error::kMalformed);

  std::vector<uint8_t> bad = good;
  bad[1] = 0;
  r = ReadDtbFile(Write("magic.dtb", bad), &message);
  EXPECT_EQ(r.status().error(), Error::kMalformed);
  EXPECT_NE(std::string(r.status().what()).find("magic"), std::string::npos);

  r = ReadDtbFile(Write("truncated.dtb", std::vector<uint8_t>(good.begin(), good.end() - 1)), &message);
  EXPECT_EQ(r.status().error(), Error::kMalformed);
  EXPECT_NE(message.find("totalsize"), std::string::npos) << message;

  bad = good;
  const uint32_t tiny = cpu_to_fdt32(16);
  std::memcpy(bad.data() + 4, &tiny, 4);
  r = ReadDtbFile(Write("tiny-totalsize.dtb", bad), &message);
  EXPECT_EQ(r.status().error(), Error::kMalformed);

  // Header offsets pointing past totalsize.
  bad = good;
  const uint32_t far = cpu_to_fdt32(static_cast<uint32_t>(good.size() + 64));
  std::memcpy(bad.data() + 8, &far, 4);  // off_dt_struct
  r = ReadDtbFile(Write("offsets.dtb", bad), &message);
  EXPECT_EQ(r.status().error(), Error::kMalformed);
  EXPECT_NE(message.find("structure block outside totalsize"), std::string::npos) << message;  // dtb::CheckHeader
}

TEST_F(ReadDtbFileTest, TooLargeFileIsRefused) {
  std::vector<uint8_t> bytes = LoadFixture("raspi3-arm");
  bytes.resize(kMaxDtbSize + 1, 0);
  Result<std::vector<uint8_t>> r = ReadDtbFile(Write("huge.dtb", bytes));
  EXPECT_EQ(r.status().error(), Error::kOutOfRange);
}

}  // namespace
}  // namespace salvage::loader
