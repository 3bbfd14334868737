// dtb::CheckHeader and Dtb::Open on header versions libfdt cannot walk safely.
// Regression (issue #10): libfdt 1.6.1's fdt_check_full() dereferences NULL on a tree
// whose header says version 2, 3 or 4 (fdt_check_header accepts them), so a DTB with
// version 4 crashed the image and `salvage load --dtb`.
#include <salvage/dtb/dtb.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace salvage::dtb {
namespace {

/// The fixture in 8-byte aligned storage.
std::vector<uint64_t> LoadFixture(const char* name, size_t* size) {
  std::ifstream in(std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(bytes.empty()) << name;
  std::vector<uint64_t> words((bytes.size() + 7) / 8, 0);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  *size = bytes.size();
  return words;
}

void SetBe32(std::vector<uint64_t>& w, size_t off, uint32_t v) {
  uint8_t* p = reinterpret_cast<uint8_t*>(w.data()) + off;
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

std::span<const uint8_t> Bytes(const std::vector<uint64_t>& w, size_t size) {
  return {reinterpret_cast<const uint8_t*>(w.data()), size};
}

constexpr size_t kTotalSize = 4, kOffStruct = 8, kOffStrings = 12, kOffRsvmap = 16, kVersion = 20, kLastComp = 24,
                 kSizeStrings = 32, kSizeStruct = 36;

TEST(DtbCheckHeader, AcceptsVersion17) {
  size_t size = 0;
  const auto w = LoadFixture("virt-aarch64", &size);
  EXPECT_TRUE(CheckHeader(Bytes(w, size)).ok());
}

TEST(DtbCheckHeader, OlderVersionsNeverReachLibfdt) {
  size_t size = 0;
  for (uint32_t version : {1u, 2u, 3u, 4u, 16u}) {
    auto w = LoadFixture("virt-aarch64", &size);
    SetBe32(w, kVersion, version);
    SetBe32(w, kLastComp, 2);
    const Status s = CheckHeader(Bytes(w, size));
    EXPECT_EQ(s.error(), Error::kUnsupported) << version;
    EXPECT_NE(std::string(s.what()).find("version"), std::string::npos) << s.what();
    // Open refuses it the same way, before fdt_check_full (which would crash here).
    const Result<Dtb> dtb = Dtb::Open(w.data(), size);
    EXPECT_EQ(dtb.status().error(), Error::kUnsupported) << version;
  }
  auto w = LoadFixture("virt-aarch64", &size);
  SetBe32(w, kLastComp, 18);  // a future format that is not compatible with 17
  EXPECT_EQ(CheckHeader(Bytes(w, size)).error(), Error::kUnsupported);
}

TEST(DtbCheckHeader, BlocksOutsideTotalsizeOrMisaligned) {
  size_t size = 0;
  struct Case {
    size_t field;
    uint32_t value;
  };
  for (const Case c : {Case{kOffStruct, 0xfffffff0u}, Case{kSizeStruct, 0xfffffff0u}, Case{kOffStruct, 2},
                       Case{kOffStruct, 42}, Case{kOffStrings, 0xfffffff0u}, Case{kSizeStrings, 0xfffffff0u},
                       Case{kOffRsvmap, 0xfffffff8u}, Case{kOffRsvmap, 44}, Case{kTotalSize, 8}}) {
    auto w = LoadFixture("virt-aarch64", &size);
    SetBe32(w, c.field, c.value);
    const Status s = CheckHeader(Bytes(w, size));
    EXPECT_EQ(s.error(), Error::kMalformed) << c.field << " = " << c.value << ": " << s.what();
    EXPECT_FALSE(Dtb::Open(w.data(), size).ok());
  }
  auto w = LoadFixture("virt-aarch64", &size);
  EXPECT_EQ(CheckHeader(Bytes(w, 39)).error(), Error::kMalformed);
  EXPECT_EQ(CheckHeader(Bytes(w, size - 1)).error(), Error::kOutOfRange);
}

}  // namespace
}  // namespace salvage::dtb
