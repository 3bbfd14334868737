// Tests for runtime/devices/uart-binding (salvage::devices::ChooseConsole) against the
// fixtures in host-tests/data (compiled to SALVAGE_TEST_DATA_DIR).
#include <salvage/devices/uart-binding.h>

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

// A fixture .dtb in 8-byte aligned storage, editable with libfdt's read-write calls.
class Blob {
 public:
  explicit Blob(const char* name) {
    std::string path = std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      ADD_FAILURE() << "cannot open fixture " << path;
      return;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Room for the edits the tests make.
    words_.assign(bytes.size() / 8 + 1024, 0);
    std::memcpy(words_.data(), bytes.data(), bytes.size());
    EXPECT_EQ(fdt_open_into(words_.data(), words_.data(), static_cast<int>(words_.size() * 8)), 0);
  }

  void* data() { return words_.data(); }
  int Node(const char* path) {
    int node = fdt_path_offset(data(), path);
    EXPECT_GE(node, 0) << path;
    return node;
  }
  void SetString(const char* path, const char* prop, const char* s) {
    ASSERT_EQ(fdt_setprop_string(data(), Node(path), prop, s), 0);
  }
  void SetU32(const char* path, const char* prop, uint32_t v) {
    ASSERT_EQ(fdt_setprop_u32(data(), Node(path), prop, v), 0);
  }
  void Delete(const char* path, const char* prop) {
    ASSERT_EQ(fdt_delprop(data(), Node(path), prop), 0);
  }
  Dtb Open() {
    Result<Dtb> dtb = Dtb::Open(data(), words_.size() * 8);
    EXPECT_TRUE(dtb.ok()) << dtb.status().what();
    return dtb.ok() ? *dtb : Dtb();
  }

 private:
  std::vector<uint64_t> words_;
};

std::string Path(const Dtb& dtb, int node) {
  char buf[256];
  dtb.NodePath(node, buf, sizeof(buf));
  return buf;
}

TEST(UartDriverName, Names) {
  EXPECT_STREQ(UartDriverName(uart::kNoDriver), "none");
  EXPECT_STREQ(UartDriverName(UartDriverOf<uart::Pl011>), "pl011");
  EXPECT_STREQ(UartDriverName(UartDriverOf<uart::Ns16550>), "ns16550");
  EXPECT_STREQ(UartDriverName(UartDriverOf<uart::MiniUart>), "bcm2835-aux");
  EXPECT_STREQ(UartDriverName(UartDriver(200)), "?");
}

TEST(ChooseConsole, VirtAarch64Pl011FromStdoutPath) {
  Blob b("virt-aarch64");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Pl011>);
  EXPECT_STREQ(c.how, "stdout-path");
  EXPECT_EQ(Path(dtb, c.node), "/pl011@9000000");
  EXPECT_EQ(c.config.base, 0x09000000u);
  EXPECT_EQ(c.config.clock_hz, 24000000u);  // clocks -> the apb-pclk fixed-clock
  EXPECT_EQ(c.config.reg_shift, 0u);
  EXPECT_EQ(c.config.reg_io_width, 1u);
  EXPECT_TRUE(c.stdout_path_status.ok());
}

TEST(ChooseConsole, VirtRiscv64Ns16550aFromStdoutPathWithOptions) {
  Blob b("virt-riscv64");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Ns16550>);
  EXPECT_STREQ(c.how, "stdout-path");
  EXPECT_EQ(Path(dtb, c.node), "/soc/serial@10000000");
  EXPECT_EQ(c.config.base, 0x10000000u);
  EXPECT_EQ(c.config.clock_hz, 3686400u);
  EXPECT_EQ(c.config.reg_shift, 0u);
  EXPECT_EQ(c.config.reg_io_width, 1u);
}

TEST(ChooseConsole, Raspi3StdoutPathSelectsTheMiniUart) {
  Blob b("raspi3-arm");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::MiniUart>);
  EXPECT_STREQ(c.how, "stdout-path");
  EXPECT_EQ(Path(dtb, c.node), "/soc/serial@7e215040");
  EXPECT_EQ(c.config.base, 0x3f215040u);
  EXPECT_EQ(c.config.clock_hz, 0u);
  EXPECT_EQ(c.config.aux_base, 0u);  // this tree has no brcm,bcm2835-aux node
  EXPECT_TRUE(c.stdout_path_status.ok());
}

TEST(ChooseConsole, Raspi3FallsBackFromADisabledMiniUartToPl011) {
  Blob b("raspi3-arm");
  b.SetString("/soc/serial@7e215040", "status", "disabled");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Pl011>);
  EXPECT_STREQ(c.how, "first compatible node");
  EXPECT_EQ(Path(dtb, c.node), "/soc/serial@7e201000");
  EXPECT_EQ(c.config.base, 0x3f201000u);
  EXPECT_STREQ(c.stdout_path_status.what(), "uart: the stdout-path node is disabled");
}

TEST(ChooseConsole, Raspi3bSerial1IsTheMiniUartWithItsAuxBlock) {
  Blob b("raspi3b-arm64");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::MiniUart>);
  EXPECT_STREQ(c.how, "stdout-path");
  EXPECT_EQ(Path(dtb, c.node), "/soc/serial@7e215040");
  EXPECT_EQ(c.config.base, 0x3f215040u);
  EXPECT_EQ(c.config.aux_base, 0x3f215000u);  // clocks = <&aux 0>
  EXPECT_EQ(c.config.clock_hz, 0u);           // the core clock: set at run time
}

TEST(ChooseConsole, Raspi3bSerial0IsThePl011WithAnUnknownClock) {
  Blob b("raspi3b-arm64");
  b.SetString("/chosen", "stdout-path", "serial0:115200n8");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Pl011>);
  EXPECT_STREQ(c.how, "stdout-path");
  EXPECT_EQ(Path(dtb, c.node), "/soc/serial@7e201000");
  EXPECT_EQ(c.config.base, 0x3f201000u);
  EXPECT_EQ(c.config.clock_hz, 0u);  // clocks = <&cprman 19>: not a fixed-clock
}

TEST(ChooseConsole, Raspi3bPl011ClockedByAFixedClock) {
  Blob b("raspi3b-arm64");
  b.SetString("/chosen", "stdout-path", "/soc/serial@7e201000");
  const uint32_t osc = fdt_get_phandle(b.data(), b.Node("/clocks/clk-osc"));
  ASSERT_NE(osc, 0u);
  fdt32_t clocks[2] = {cpu_to_fdt32(osc), cpu_to_fdt32(osc)};
  ASSERT_EQ(fdt_setprop(b.data(), b.Node("/soc/serial@7e201000"), "clocks", clocks, sizeof(clocks)), 0);
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Pl011>);
  EXPECT_EQ(c.config.clock_hz, 19200000u);
}

TEST(ChooseConsole, Raspi3bMiniUartWithoutClocksFindsTheAuxBlockByCompatible) {
  Blob b("raspi3b-arm64");
  b.Delete("/soc/serial@7e215040", "clocks");
  b.SetU32("/soc/serial@7e215040", "clock-frequency", 250000000);
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::MiniUart>);
  EXPECT_EQ(c.config.aux_base, 0x3f215000u);
  EXPECT_EQ(c.config.clock_hz, 250000000u);
}

TEST(ChooseConsole, Raspi3bPrefersThePl011WhenStdoutPathIsUnusable) {
  Blob b("raspi3b-arm64");
  b.Delete("/chosen", "stdout-path");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Pl011>);
  EXPECT_STREQ(c.how, "first compatible node");
}

TEST(ChooseConsole, Raspi3bMiniUartAloneIsFoundByTheScan) {
  Blob b("raspi3b-arm64");
  b.Delete("/chosen", "stdout-path");
  b.SetString("/soc/serial@7e201000", "status", "disabled");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::MiniUart>);
  EXPECT_STREQ(c.how, "first compatible node");
  EXPECT_EQ(c.config.aux_base, 0x3f215000u);
}

TEST(ChooseConsole, Raspi3SkipsDisabledUartsAndReadsRegShift) {
  // With the PL011 and the mini UART disabled the only candidate is the DesignWare
  // UART, once enabled.
  Blob b("raspi3-arm");
  b.SetString("/soc/serial@7e201000", "status", "disabled");
  b.SetString("/soc/serial@7e215040", "status", "disabled");
  {
    Dtb dtb = b.Open();
    ConsoleChoice c = ChooseConsole(dtb);
    EXPECT_EQ(c.driver, uart::kNoDriver);
    EXPECT_STREQ(c.how, "none found");
    EXPECT_EQ(c.node, -1);
  }
  b.SetString("/soc/serial@7e201400", "status", "okay");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Ns16550>);
  EXPECT_STREQ(c.how, "first compatible node");
  EXPECT_EQ(c.config.base, 0x3f201400u);
  EXPECT_EQ(c.config.reg_shift, 2u);
  EXPECT_EQ(c.config.reg_io_width, 4u);
}

TEST(ChooseConsole, DwApbUartFromStdoutAlias) {
  Blob b("rk3399-dw-uart");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Ns16550>);
  EXPECT_STREQ(c.how, "stdout-path");
  EXPECT_EQ(Path(dtb, c.node), "/serial@ff1a0000");
  EXPECT_EQ(c.config.base, 0xff1a0000u);
  EXPECT_EQ(c.config.clock_hz, 24000000u);
  EXPECT_EQ(c.config.reg_shift, 2u);
  EXPECT_EQ(c.config.reg_io_width, 4u);
}

TEST(ChooseConsole, WithoutStdoutPathTheFirstEnabledNodeWins) {
  Blob b("rk3399-dw-uart");
  b.Delete("/chosen", "stdout-path");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Ns16550>);
  EXPECT_STREQ(c.how, "first compatible node");
  EXPECT_EQ(Path(dtb, c.node), "/serial@ff1a0000");  // serial@ff180000 is disabled
  EXPECT_EQ(c.stdout_path_status.error(), Error::kNotFound);
}

TEST(ChooseConsole, DisabledStdoutNodeIsNotUsed) {
  Blob b("rk3399-dw-uart");
  b.SetString("/chosen", "stdout-path", "serial0:1500000n8");  // the disabled uart0
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_STREQ(c.how, "first compatible node");
  EXPECT_EQ(Path(dtb, c.node), "/serial@ff1a0000");
  EXPECT_STREQ(c.stdout_path_status.what(), "uart: the stdout-path node is disabled");
}

TEST(ChooseConsole, BadRegIoWidthMakesTheNodeUnusable) {
  Blob b("rk3399-dw-uart");
  b.SetU32("/serial@ff1a0000", "reg-io-width", 2);
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, uart::kNoDriver);
  EXPECT_STREQ(c.how, "none found");
  EXPECT_EQ(c.stdout_path_status.error(), Error::kUnsupported);
}

TEST(ChooseConsole, MalformedClockFrequencyMeansUnknownClock) {
  Blob b("virt-riscv64");
  ASSERT_EQ(fdt_setprop_u64(b.data(), b.Node("/soc/serial@10000000"), "clock-frequency", 3686400), 0);
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Ns16550>);
  EXPECT_EQ(c.config.clock_hz, 0u);
}

TEST(ChooseConsole, TableOrderIsThePreference) {
  // Both an ns16550a (first in DT order) and a PL011: the table prefers the PL011.
  Blob b("virt-riscv64");
  b.Delete("/chosen", "stdout-path");
  int soc = b.Node("/soc");
  int node = fdt_add_subnode(b.data(), soc, "serial@10002000");
  ASSERT_GE(node, 0);
  b.SetString("/soc/serial@10002000", "compatible", "arm,pl011");
  fdt64_t reg[2] = {cpu_to_fdt64(0x10002000), cpu_to_fdt64(0x1000)};
  ASSERT_EQ(fdt_setprop(b.data(), b.Node("/soc/serial@10002000"), "reg", reg, sizeof(reg)), 0);
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, UartDriverOf<uart::Pl011>);
  EXPECT_EQ(c.config.base, 0x10002000u);
  EXPECT_STREQ(c.how, "first compatible node");
}

TEST(ChooseConsole, BrokenRegFindsNothing) {
  Blob b("broken-memory-reg");
  Dtb dtb = b.Open();
  ConsoleChoice c = ChooseConsole(dtb);
  EXPECT_EQ(c.driver, uart::kNoDriver);
  EXPECT_STREQ(c.how, "none found");
  EXPECT_EQ(c.node, -1);
  EXPECT_EQ(c.stdout_path_status.error(), Error::kMalformed);
}

TEST(MatchUart, FirstTableEntryWins) {
  Blob b("rk3399-dw-uart");
  Dtb dtb = b.Open();
  EXPECT_EQ(MatchUart(dtb, b.Node("/serial@ff1a0000")), UartDriverOf<uart::Ns16550>);
  EXPECT_EQ(MatchUart(dtb, b.Node("/psci")), uart::kNoDriver);
  EXPECT_EQ(MatchUart(dtb, -1), uart::kNoDriver);
}

// The compatible table is uart/all.h's list: each driver's kCompatibles, drivers in the
// list's order (the mini UART last, so a Pi without stdout-path gets its PL011).
TEST(UartCompatibles, AreTheDriverListsStringsInListOrder) {
  const std::pair<std::string_view, UartDriver> want[] = {
      {"arm,pl011", UartDriverOf<uart::Pl011>},           {"ns16550a", UartDriverOf<uart::Ns16550>},
      {"ns16550", UartDriverOf<uart::Ns16550>},           {"snps,dw-apb-uart", UartDriverOf<uart::Ns16550>},
      {"brcm,bcm2835-aux-uart", UartDriverOf<uart::MiniUart>},
  };
  ASSERT_EQ(kUartCompatibles.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(kUartCompatibles[i].compatible, want[i].first) << i;
    EXPECT_EQ(kUartCompatibles[i].driver, want[i].second) << i;
  }
  EXPECT_NE(UartDriverOf<uart::Pl011>, uart::kNoDriver);
}

}  // namespace
}  // namespace salvage::devices
