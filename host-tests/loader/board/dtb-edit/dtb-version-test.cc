// `salvage load --dtb` on a DTB libfdt cannot walk safely (issue #10): header version 4
// made libfdt 1.6.1's fdt_check_full() dereference NULL. ReadDtbFile and EditCrashDtb
// refuse it first, naming the version.
#include "board/dtb-edit/dtb-edit.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "loader/workstation/vmcore-test-util.h"

namespace salvage::loader {
namespace {

std::vector<uint8_t> WithVersion(std::vector<uint8_t> dtb, uint32_t version, uint32_t last_comp) {
  for (int i = 0; i < 4; ++i) {
    dtb[20 + i] = static_cast<uint8_t>(version >> (24 - 8 * i));
    dtb[24 + i] = static_cast<uint8_t>(last_comp >> (24 - 8 * i));
  }
  return dtb;
}

TEST(DtbVersionTest, Version4IsRefusedByReadAndEdit) {
  std::string message;
  Result<std::vector<uint8_t>> good = ReadDtbFile(std::string(SALVAGE_TEST_DATA_DIR) + "/virt-aarch64.dtb", &message);
  ASSERT_TRUE(good.ok()) << message;
  test::TempDir dir;
  const std::string path = dir.File("v4.dtb");
  test::WriteFile(path, WithVersion(*good, 4, 2));
  message.clear();
  Result<std::vector<uint8_t>> read = ReadDtbFile(path, &message);
  EXPECT_EQ(read.status().error(), Error::kUnsupported);
  EXPECT_NE(message.find("version"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;

  CrashDtbEdits edits;
  edits.elfcorehdr = PhysRange{0x40000000, 0x1000};
  message.clear();
  Result<std::vector<uint8_t>> edited = EditCrashDtb(WithVersion(*good, 4, 2), edits, &message);
  EXPECT_EQ(edited.status().error(), Error::kUnsupported);
  EXPECT_NE(message.find("version"), std::string::npos) << message;
}

}  // namespace
}  // namespace salvage::loader
