// Tests for Dtb::PhandleTarget and Dtb::FixedClockRate (runtime/dtb) on the raspi3b and
// virt fixtures.
#include <salvage/dtb/dtb.h>

#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace salvage::dtb {
namespace {

class Blob {
 public:
  explicit Blob(const char* name) {
    std::ifstream in(std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(bytes.empty()) << name;
    words_.assign(bytes.size() / 8 + 512, 0);
    std::memcpy(words_.data(), bytes.data(), bytes.size());
    EXPECT_EQ(fdt_open_into(words_.data(), words_.data(), static_cast<int>(words_.size() * 8)), 0);
  }
  void* data() { return words_.data(); }
  int Node(const char* path) {
    int node = fdt_path_offset(data(), path);
    EXPECT_GE(node, 0) << path;
    return node;
  }
  Dtb Open() {
    Result<Dtb> d = Dtb::Open(data(), words_.size() * 8);
    EXPECT_TRUE(d.ok()) << d.status().what();
    return d.ok() ? *d : Dtb();
  }

 private:
  std::vector<uint64_t> words_;
};

TEST(PhandleTarget, FollowsTheFirstCell) {
  Blob b("raspi3b-arm64");
  Dtb dtb = b.Open();
  Result<int> aux = dtb.PhandleTarget(b.Node("/soc/serial@7e215040"), "clocks");
  ASSERT_TRUE(aux.ok()) << aux.status().what();
  EXPECT_EQ(*aux, b.Node("/soc/aux@7e215000"));
  Result<int> cprman = dtb.PhandleTarget(b.Node("/soc/serial@7e201000"), "clocks");
  ASSERT_TRUE(cprman.ok());
  EXPECT_EQ(*cprman, b.Node("/soc/cprman@7e101000"));
}

TEST(PhandleTarget, AbsentShortOrDangling) {
  Blob b("raspi3b-arm64");
  const int uart = b.Node("/soc/serial@7e215040");
  {
    Dtb dtb = b.Open();
    EXPECT_EQ(dtb.PhandleTarget(uart, "interrupts").status().error(), Error::kNotFound);
  }
  ASSERT_EQ(fdt_setprop(b.data(), uart, "short", "ab", 2), 0);
  ASSERT_EQ(fdt_setprop_u32(b.data(), b.Node("/soc/serial@7e215040"), "dangling", 0x7777), 0);
  Dtb dtb = b.Open();
  EXPECT_EQ(dtb.PhandleTarget(b.Node("/soc/serial@7e215040"), "short").status().error(), Error::kMalformed);
  Result<int> r = dtb.PhandleTarget(b.Node("/soc/serial@7e215040"), "dangling");
  EXPECT_EQ(r.status().error(), Error::kNotFound);
  EXPECT_STREQ(dtb.error_property(), "dangling");
}

TEST(FixedClockRate, OwnClockFrequencyWins) {
  Blob b("raspi3b-arm64");
  ASSERT_EQ(fdt_setprop_u32(b.data(), b.Node("/soc/serial@7e201000"), "clock-frequency", 48000000), 0);
  Dtb dtb = b.Open();
  Result<uint32_t> hz = dtb.FixedClockRate(b.Node("/soc/serial@7e201000"));
  ASSERT_TRUE(hz.ok());
  EXPECT_EQ(*hz, 48000000u);
}

TEST(FixedClockRate, AFixedClockProvider) {
  Blob b("virt-aarch64");
  Dtb dtb = b.Open();
  Result<uint32_t> hz = dtb.FixedClockRate(b.Node("/pl011@9000000"));
  ASSERT_TRUE(hz.ok()) << hz.status().what();
  EXPECT_EQ(*hz, 24000000u);
}

TEST(FixedClockRate, AClockControllerIsUnknown) {
  Blob b("raspi3b-arm64");
  Dtb dtb = b.Open();
  Result<uint32_t> hz = dtb.FixedClockRate(b.Node("/soc/serial@7e201000"));
  EXPECT_EQ(hz.status().error(), Error::kNotFound);
  EXPECT_EQ(dtb.FixedClockRate(b.Node("/soc/serial@7e215040")).status().error(), Error::kNotFound);
}

TEST(FixedClockRate, ADisabledFixedClockIsUnknown) {
  Blob b("virt-aarch64");
  ASSERT_EQ(fdt_setprop_string(b.data(), b.Node("/apb-pclk"), "status", "disabled"), 0);
  Dtb dtb = b.Open();
  EXPECT_EQ(dtb.FixedClockRate(b.Node("/pl011@9000000")).status().error(), Error::kNotFound);
}

}  // namespace
}  // namespace salvage::dtb
