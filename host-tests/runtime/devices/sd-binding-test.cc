// Tests for runtime/devices/include/salvage/devices/sd-binding.h (FindSdControllers)
// against the fixtures host-tests/data/raspi3b-sd.dts and raspi4-sd.dts.
#include <salvage/devices/sd-binding.h>

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

namespace salvage::devices {
namespace {

using dtb::Dtb;

// A fixture .dtb in 8-byte aligned storage, with room for libfdt edits.
class Tree {
 public:
  explicit Tree(const char* name) {
    const std::string path = std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      ADD_FAILURE() << "cannot open fixture " << path;
      return;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    words_.assign(bytes.size() / 8 + 1024, 0);
    std::memcpy(words_.data(), bytes.data(), bytes.size());
    EXPECT_EQ(fdt_open_into(words_.data(), words_.data(), static_cast<int>(words_.size() * 8)), 0);
  }
  void* data() { return words_.data(); }
  int Node(const char* path) {
    const int node = fdt_path_offset(data(), path);
    EXPECT_GE(node, 0) << path;
    return node;
  }
  Dtb Open() {
    Result<Dtb> dtb = Dtb::Open(data(), words_.size() * 8);
    EXPECT_TRUE(dtb.ok()) << dtb.status().what();
    return dtb.ok() ? *dtb : Dtb();
  }

 private:
  std::vector<uint64_t> words_;
};

TEST(SdBinding, Raspi3bHasSdhostThenArasanTranslatedThroughSoc) {
  Tree t("raspi3b-sd");
  const Dtb tree = t.Open();
  SdChoice out[kMaxSdControllers];
  Result<size_t> n = FindSdControllers(tree, std::nullopt, out);
  ASSERT_TRUE(n.ok()) << n.status().what();
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(out[0].host, SdHostOf<sd::Bcm2835Sdhost>);
  EXPECT_STREQ(out[0].name, "bcm2835-sdhost");
  EXPECT_EQ(out[0].base, 0x3f202000u);
  EXPECT_EQ(out[0].sdhost.core_clock_hz, 400'000'000u);  // assumed: the Pi 3's highest core clock
  EXPECT_EQ(out[0].sdhost.bus_width, 4u);
  EXPECT_EQ(out[1].host, SdHostOf<sd::Sdhci>);
  EXPECT_EQ(out[1].base, 0x3f300000u);  // 0x7e300000 on the VideoCore bus
  EXPECT_EQ(out[1].node, t.Node("/soc/mmc@7e300000"));
  // The BCM2835 Arasan: no card detect, slow-write spacing, the assumed base clock.
  EXPECT_FALSE(out[1].sdhci.card_detect);
  EXPECT_TRUE(out[1].sdhci.slow_writes);
  EXPECT_EQ(out[1].sdhci.base_clock_hz, 250'000'000u);
  EXPECT_EQ(out[1].sdhci.bus_width, 4u);
  EXPECT_STREQ(out[1].name, "bcm2835-sdhci");
}

TEST(SdBinding, AddressPicksOneController) {
  Tree t("raspi3b-sd");
  const Dtb tree = t.Open();
  SdChoice out[kMaxSdControllers];
  Result<size_t> n = FindSdControllers(tree, 0x3f300000, out);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(out[0].host, SdHostOf<sd::Sdhci>);
  EXPECT_STREQ(out[0].name, "bcm2835-sdhci");
  // The bus address is not the CPU's address.
  Result<size_t> none = FindSdControllers(tree, 0x7e300000, out);
  EXPECT_EQ(none.status().error(), Error::kNotFound);
  EXPECT_STREQ(none.status().what(), "sd: no enabled SD host controller at the address salvage.sink names");
}

TEST(SdBinding, PropertiesFromTheNode) {
  Tree t("raspi3b-sd");
  const int node = t.Node("/soc/mmc@7e300000");
  ASSERT_EQ(fdt_setprop_u32(t.data(), node, "bus-width", 1), 0);
  ASSERT_EQ(fdt_setprop_u32(t.data(), node, "clock-frequency", 200'000'000), 0);
  const Dtb tree = t.Open();
  Result<SdChoice> c = SdChoiceFromNode(tree, node, kSdCompatibles[0]);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sdhci.bus_width, 1u);
  EXPECT_EQ(c->sdhci.base_clock_hz, 200'000'000u);
  ASSERT_EQ(fdt_setprop_u32(t.data(), node, "bus-width", 2), 0);
  EXPECT_EQ(SdChoiceFromNode(t.Open(), node, kSdCompatibles[0]).status().error(), Error::kMalformed);
}

TEST(SdBinding, DisabledNodesAreSkippedAndNoneIsNotFound) {
  Tree t("raspi3b-sd");
  ASSERT_EQ(fdt_setprop_string(t.data(), t.Node("/soc/mmc@7e300000"), "status", "disabled"), 0);
  ASSERT_EQ(fdt_setprop_string(t.data(), t.Node("/soc/mmc@7e202000"), "status", "disabled"), 0);
  const Dtb tree = t.Open();
  SdChoice out[kMaxSdControllers];
  Result<size_t> n = FindSdControllers(tree, std::nullopt, out);
  EXPECT_EQ(n.status().error(), Error::kNotFound);
  EXPECT_NE(std::string(n.status().what()).find("the DTB has no enabled"), std::string::npos);
}

TEST(SdBinding, Raspi4Emmc2ThroughItsOwnBus) {
  Tree t("raspi4-sd");
  const Dtb tree = t.Open();
  SdChoice out[kMaxSdControllers];
  Result<size_t> n = FindSdControllers(tree, std::nullopt, out);
  ASSERT_TRUE(n.ok()) << n.status().what();
  ASSERT_EQ(*n, 2u);  // the sdhost is disabled
  EXPECT_EQ(out[0].host, SdHostOf<sd::Sdhci>);
  EXPECT_STREQ(out[0].name, "bcm2835-sdhci");
  EXPECT_EQ(out[0].base, 0xfe300000u);
  EXPECT_TRUE(out[0].non_removable);  // the Wi-Fi
  EXPECT_EQ(out[1].host, SdHostOf<sd::Sdhci>);
  EXPECT_STREQ(out[1].name, "bcm2711-emmc2");
  EXPECT_EQ(out[1].base, 0xfe340000u);
  EXPECT_FALSE(out[1].non_removable);
  EXPECT_FALSE(out[1].sdhci.card_detect);  // broken-cd
  EXPECT_FALSE(out[1].sdhci.slow_writes);
  EXPECT_EQ(out[1].sdhci.base_clock_hz, 0u);  // from the Capabilities register
}

}  // namespace
// The compatible table is sd/all.h's list: each host driver's kCompatibles in list
// order. The downstream kernels' "brcm,bcm2835-mmc" gets the Arasan quirks too.
TEST(SdBinding, CompatiblesComeFromTheHostList) {
  ASSERT_EQ(kSdCompatibles.size(), 4u);
  EXPECT_EQ(kSdCompatibles[0].compatible, "brcm,bcm2835-sdhci");
  EXPECT_EQ(kSdCompatibles[1].compatible, "brcm,bcm2835-mmc");
  EXPECT_EQ(kSdCompatibles[2].compatible, "brcm,bcm2711-emmc2");
  EXPECT_EQ(kSdCompatibles[3].compatible, "brcm,bcm2835-sdhost");
  EXPECT_EQ(kSdCompatibles[2].driver, SdHostOf<sd::Sdhci>);
  EXPECT_EQ(kSdCompatibles[3].driver, SdHostOf<sd::Bcm2835Sdhost>);
  EXPECT_NE(SdHostOf<sd::Sdhci>, SdHostOf<sd::Bcm2835Sdhost>);

  Tree t("raspi3b-sd");
  const int node = t.Node("/soc/mmc@7e300000");
  ASSERT_EQ(fdt_setprop_string(t.data(), node, "compatible", "brcm,bcm2835-mmc"), 0);
  const Dtb tree = t.Open();
  SdChoice out[kMaxSdControllers];
  Result<size_t> n = FindSdControllers(tree, 0x3f300000, out);
  ASSERT_TRUE(n.ok()) << n.status().what();
  EXPECT_STREQ(out[0].name, "bcm2835-mmc");
  EXPECT_EQ(out[0].host, SdHostOf<sd::Sdhci>);
  EXPECT_FALSE(out[0].sdhci.card_detect);
  EXPECT_TRUE(out[0].sdhci.slow_writes);
  EXPECT_EQ(out[0].sdhci.base_clock_hz, 250'000'000u);
}

}  // namespace salvage::devices
