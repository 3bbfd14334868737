// Tests for runtime/devices/reset-binding (salvage::devices::FindResetDevice) against the
// fixtures in host-tests/data (compiled to SALVAGE_TEST_DATA_DIR).
#include <salvage/devices/reset-binding.h>

#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace salvage::devices {
namespace {

// A fixture .dtb in 8-byte aligned storage, with room for libfdt edits.
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
  int Node(const char* path) { return fdt_path_offset(data(), path); }
  dtb::Dtb Open() {
    Result<dtb::Dtb> d = dtb::Dtb::Open(data(), words_.size() * 8);
    EXPECT_TRUE(d.ok()) << d.status().what();
    return d.ok() ? *d : dtb::Dtb();
  }

 private:
  std::vector<uint64_t> words_;
};

constexpr const char* kWatchdog = "/soc/watchdog@7e100000";

TEST(ResetDriverName, Names) {
  EXPECT_STREQ(ResetDriverName(reset::kNoDriver), "none");
  EXPECT_STREQ(ResetDriverName(ResetDriverOf<reset::Bcm2835Pm>), "bcm2835-pm");
  EXPECT_STREQ(ResetDriverName(ResetDriver(9)), "?");
  ASSERT_EQ(kResetCompatibles.size(), 2u);
  EXPECT_EQ(kResetCompatibles[0].compatible, "brcm,bcm2835-pm");
  EXPECT_EQ(kResetCompatibles[1].compatible, "brcm,bcm2835-pm-wdt");
  EXPECT_EQ(kResetCompatibles[1].driver, ResetDriverOf<reset::Bcm2835Pm>);
}

TEST(FindResetDevice, Raspi3bPmBlockThroughSocRanges) {
  Blob b("raspi3b-arm64");
  dtb::Dtb dtb = b.Open();
  ResetChoice c = FindResetDevice(dtb);
  EXPECT_EQ(c.driver, ResetDriverOf<reset::Bcm2835Pm>);
  EXPECT_EQ(c.base, 0x3f100000u);  // reg entry 0 ("pm"), not the "asb" range
  EXPECT_EQ(c.node, b.Node(kWatchdog));
  EXPECT_TRUE(c.can_power_off);
}

TEST(FindResetDevice, OlderTreesWithTheWatchdogCompatibleOnly) {
  Blob b("raspi3b-arm64");
  ASSERT_EQ(fdt_setprop_string(b.data(), b.Node(kWatchdog), "compatible", "brcm,bcm2835-pm-wdt"), 0);
  ASSERT_EQ(fdt_delprop(b.data(), b.Node(kWatchdog), "system-power-controller"), 0);
  dtb::Dtb dtb = b.Open();
  ResetChoice c = FindResetDevice(dtb);
  EXPECT_EQ(c.driver, ResetDriverOf<reset::Bcm2835Pm>);
  EXPECT_EQ(c.base, 0x3f100000u);
  EXPECT_FALSE(c.can_power_off);
}

TEST(FindResetDevice, Bcm2711ListsItsOwnCompatibleFirst) {
  Blob b("raspi3b-arm64");
  const char compat[] = "brcm,bcm2711-pm\0brcm,bcm2835-pm";
  ASSERT_EQ(fdt_setprop(b.data(), b.Node(kWatchdog), "compatible", compat, sizeof(compat)), 0);
  dtb::Dtb dtb = b.Open();
  EXPECT_EQ(FindResetDevice(dtb).driver, ResetDriverOf<reset::Bcm2835Pm>);
}

TEST(FindResetDevice, DisabledOrUntranslatableIsNone) {
  {
    Blob b("raspi3b-arm64");
    ASSERT_EQ(fdt_setprop_string(b.data(), b.Node(kWatchdog), "status", "disabled"), 0);
    dtb::Dtb dtb = b.Open();
    ResetChoice c = FindResetDevice(dtb);
    EXPECT_EQ(c.driver, reset::kNoDriver);
    EXPECT_EQ(c.node, -1);
  }
  Blob b("raspi3b-arm64");
  fdt32_t reg[2] = {cpu_to_fdt32(0x20100000), cpu_to_fdt32(0x114)};  // outside /soc ranges
  ASSERT_EQ(fdt_setprop(b.data(), b.Node(kWatchdog), "reg", reg, sizeof(reg)), 0);
  dtb::Dtb dtb = b.Open();
  EXPECT_EQ(FindResetDevice(dtb).driver, reset::kNoDriver);
}

TEST(FindResetDevice, VirtHasNone) {
  Blob b("virt-aarch64");
  dtb::Dtb dtb = b.Open();
  EXPECT_EQ(FindResetDevice(dtb).driver, reset::kNoDriver);
}

}  // namespace
}  // namespace salvage::devices
