// Tests for loader/board/proc/sysfs: the readers against the fixture trees in
// host-tests/data/proc-*-virt (a --root DIR as `salvage load` takes it), the one-file
// parsers with the formats of old and current kernels, and the messages for missing
// files (what the kernel lacks) and malformed ones (which file).
#include "board/proc/sysfs.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifndef SALVAGE_TEST_SOURCE_DATA_DIR
#error "SALVAGE_TEST_SOURCE_DATA_DIR must name host-tests/data in the source tree"
#endif

namespace salvage::loader::proc {
namespace {

namespace fs = std::filesystem;

constexpr uint16_t kEmArm = 40, kEmAarch64 = 183, kEmRiscv = 243;

std::string Tree(const char* name) { return std::string(SALVAGE_TEST_SOURCE_DATA_DIR) + "/" + name; }

// A scratch root directory, removed at the end of the test.
class ScratchRoot {
 public:
  ScratchRoot() {
    dir_ = fs::temp_directory_path() /
           ("salvage-sysfs-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ScratchRoot() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const std::string& path, const std::string& text) const {
    const fs::path p = dir_ / path.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  void Remove(const std::string& path) const { fs::remove(dir_ / path.substr(1)); }
  std::string root() const { return dir_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
};

TEST(SysfsTest, RootedPath) {
  EXPECT_EQ(RootedPath("", "/proc/iomem"), "/proc/iomem");
  EXPECT_EQ(RootedPath("/", "/proc/iomem"), "/proc/iomem");
  EXPECT_EQ(RootedPath("/tmp/root", "/proc/iomem"), "/tmp/root/proc/iomem");
  EXPECT_EQ(RootedPath("/tmp/root//", "proc/iomem"), "/tmp/root/proc/iomem");
}

TEST(SysfsTest, CrashNoteBufSizeIsSizeofNoteBufT) {
  EXPECT_EQ(CrashNoteBufSize(kEmAarch64), 424u);
  EXPECT_EQ(CrashNoteBufSize(kEmRiscv), 408u);
  EXPECT_EQ(CrashNoteBufSize(kEmArm), 180u);
  EXPECT_EQ(CrashNoteBufSize(62), 0u);  // x86_64: not a salvage target
}

struct TreeCase {
  const char* tree;
  uint16_t machine;
  std::vector<uint64_t> notes;
  uint64_t note_size;
  PhysRange vmcoreinfo;
};

TEST(SysfsTest, FixtureTrees) {
  const TreeCase cases[] = {
      {"proc-arm64-virt", kEmAarch64, {0x7f4d2e48, 0x7f512e48, 0x7f552e48, 0x7f592e48}, 424, {0x45d7a000, 0x1024}},
      {"proc-armhf-virt", kEmArm, {0x6f5fe3c0, 0x6f60e3c0, 0x6f61e3c0, 0x6f62e3c0}, 180, {0x6f4c7000, 0x1024}},
      {"proc-riscv64-virt", kEmRiscv, {0xbfe8f228, 0xbfea3228, 0xbfeb7228, 0xbfecb228}, 408, {0xbfd5c000, 0x1024}},
  };
  for (const TreeCase& c : cases) {
    SCOPED_TRACE(c.tree);
    const std::string root = Tree(c.tree);
    auto notes = ReadCrashNotes(root, c.machine);
    ASSERT_TRUE(notes.ok()) << notes.error();
    ASSERT_EQ(notes->cpus.size(), c.notes.size());
    EXPECT_TRUE(notes->missing.empty());
    for (size_t i = 0; i < c.notes.size(); ++i) {
      EXPECT_EQ(notes->cpus[i].cpu, i);
      EXPECT_EQ(notes->cpus[i].note, (PhysRange{c.notes[i], c.note_size}));
      EXPECT_TRUE(notes->cpus[i].size_from_kernel);
      EXPECT_EQ(c.note_size, CrashNoteBufSize(c.machine));  // the fixtures agree with the derivation
    }
    auto vmcoreinfo = ReadVmcoreinfo(root);
    ASSERT_TRUE(vmcoreinfo.ok()) << vmcoreinfo.error();
    EXPECT_EQ(*vmcoreinfo, c.vmcoreinfo);
    auto size = ReadKexecCrashSize(root);
    ASSERT_TRUE(size.ok()) << size.error();
    EXPECT_EQ(*size, 64u << 20);
    auto loaded = ReadKexecCrashLoaded(root);
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    EXPECT_FALSE(*loaded);
    auto disabled = ReadKexecLoadDisabled(root);
    ASSERT_TRUE(disabled.ok()) << disabled.error();
    EXPECT_FALSE(*disabled);
    auto iomem = ReadIomemText(root);
    ASSERT_TRUE(iomem.ok()) << iomem.error();
    EXPECT_NE(iomem->find("Crash kernel"), std::string::npos);
    auto cmdline = ReadCmdline(root);
    ASSERT_TRUE(cmdline.ok()) << cmdline.error();
    EXPECT_NE(cmdline->find("crashkernel="), std::string::npos);
  }
}

TEST(SysfsTest, ParseCpuList) {
  auto one = ParseCpuList("0\n", "possible");
  ASSERT_TRUE(one.ok()) << one.error();
  EXPECT_EQ(*one, (std::vector<uint32_t>{0}));
  auto range = ParseCpuList("0-3\n", "possible");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*range, (std::vector<uint32_t>{0, 1, 2, 3}));
  auto mixed = ParseCpuList("4-5,0,2-3,0", "possible");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, (std::vector<uint32_t>{0, 2, 3, 4, 5}));
  for (const char* bad : {"", "\n", "a", "3-1", "0-", "0,", "0-3 4", "-1", "70000", "0-70000"}) {
    auto r = ParseCpuList(bad, "/sys/devices/system/cpu/possible");
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().rfind("/sys/devices/system/cpu/possible: ", 0), 0u) << r.error();
  }
}

TEST(SysfsTest, ParseHexAndDecimalFiles) {
  auto hex = ParseHexFile("7f4d2e48\n", "crash_notes");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, 0x7f4d2e48u);
  EXPECT_EQ(*ParseHexFile("0x1000\n", "crash_notes"), 0x1000u);
  EXPECT_EQ(*ParseHexFile("  ffffffffffffffff  \n", "crash_notes"), ~uint64_t{0});
  for (const char* bad : {"", "\n", "xyz", "12 34", "10000000000000000", "0x"}) {
    auto r = ParseHexFile(bad, "/sys/devices/system/cpu/cpu0/crash_notes");
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    EXPECT_NE(r.error().find("/sys/devices/system/cpu/cpu0/crash_notes: expected one hexadecimal number"),
              std::string::npos)
        << r.error();
  }
  EXPECT_EQ(*ParseDecimalFile("424\n", "crash_notes_size"), 424u);
  EXPECT_FALSE(ParseDecimalFile("1a8\n", "crash_notes_size").ok());
  EXPECT_FALSE(ParseDecimalFile("-1\n", "kexec_crash_size").ok());
}

TEST(SysfsTest, VmcoreinfoOldAndNewFormats) {
  // Current kernels: "%pa %x" (0x, padded to phys_addr_t); old ones: "%lx %x".
  auto now = ParseVmcoreinfoFile("0x000000004172c000 1024\n", "vmcoreinfo");
  ASSERT_TRUE(now.ok()) << now.error();
  EXPECT_EQ(*now, (PhysRange{0x4172c000, 0x1024}));
  auto old = ParseVmcoreinfoFile("4172c000 1024\n", "vmcoreinfo");
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_EQ(*old, (PhysRange{0x4172c000, 0x1024}));
  auto arm32 = ParseVmcoreinfoFile("0x6f4c7000 1024\n", "vmcoreinfo");
  ASSERT_TRUE(arm32.ok());
  EXPECT_EQ(arm32->base, 0x6f4c7000u);
  for (const char* bad : {"", "4172c000\n", "4172c000 0\n", "4172c000 10x\n", "4172c000-1024\n", "x 1024",
                          "ffffffffffffffff 1024\n"}) {
    auto r = ParseVmcoreinfoFile(bad, "/sys/kernel/vmcoreinfo");
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().rfind("/sys/kernel/vmcoreinfo: ", 0), 0u) << r.error();
  }
}

TEST(SysfsTest, MissingFilesSayWhatTheKernelLacks) {
  ScratchRoot root;
  root.Write("/sys/devices/system/cpu/possible", "0-1\n");
  root.Write("/sys/devices/system/cpu/cpu0/online", "1\n");
  root.Write("/sys/devices/system/cpu/cpu1/online", "1\n");
  auto notes = ReadCrashNotes(root.root(), kEmAarch64);
  ASSERT_FALSE(notes.ok());
  EXPECT_NE(notes.error().find("CONFIG_CRASH_DUMP"), std::string::npos) << notes.error();
  EXPECT_NE(notes.error().find(root.root()), std::string::npos) << notes.error();

  auto vmcoreinfo = ReadVmcoreinfo(root.root());
  ASSERT_FALSE(vmcoreinfo.ok());
  EXPECT_EQ(vmcoreinfo.error().rfind(root.root() + "/sys/kernel/vmcoreinfo does not exist: ", 0), 0u)
      << vmcoreinfo.error();
  EXPECT_NE(vmcoreinfo.error().find("CONFIG_VMCORE_INFO"), std::string::npos);

  auto size = ReadKexecCrashSize(root.root());
  ASSERT_FALSE(size.ok());
  EXPECT_NE(size.error().find("CONFIG_CRASH_DUMP"), std::string::npos) << size.error();
  auto disabled = ReadKexecLoadDisabled(root.root());
  ASSERT_FALSE(disabled.ok());
  EXPECT_NE(disabled.error().find("CONFIG_KEXEC_CORE"), std::string::npos) << disabled.error();
  auto iomem = ReadIomemText(root.root());
  ASSERT_FALSE(iomem.ok());
  EXPECT_NE(iomem.error().find("/proc/iomem does not exist"), std::string::npos) << iomem.error();
}

TEST(SysfsTest, CpusWithoutCrashNotesAreSkippedAndSizesFallBack) {
  ScratchRoot root;
  root.Write("/sys/devices/system/cpu/possible", "0-3\n");
  root.Write("/sys/devices/system/cpu/cpu0/crash_notes", "7f4d2e48\n");
  root.Write("/sys/devices/system/cpu/cpu1/crash_notes", "7f512e48\n");
  root.Write("/sys/devices/system/cpu/cpu1/crash_notes_size", "424\n");
  root.Write("/sys/devices/system/cpu/cpu3/crash_notes", "7f592e48\n");  // cpu2 not present
  auto notes = ReadCrashNotes(root.root(), kEmAarch64);
  ASSERT_TRUE(notes.ok()) << notes.error();
  ASSERT_EQ(notes->cpus.size(), 3u);
  EXPECT_EQ(notes->cpus[0].cpu, 0u);
  EXPECT_EQ(notes->cpus[0].note, (PhysRange{0x7f4d2e48, 424}));  // computed
  EXPECT_FALSE(notes->cpus[0].size_from_kernel);
  EXPECT_TRUE(notes->cpus[1].size_from_kernel);
  EXPECT_EQ(notes->cpus[2].cpu, 3u);
  EXPECT_EQ(notes->missing, (std::vector<uint32_t>{2}));

  // No crash_notes_size and an architecture without a known size.
  auto unknown = ReadCrashNotes(root.root(), 62);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find("cpu0/crash_notes_size does not exist"), std::string::npos) << unknown.error();
}

TEST(SysfsTest, WithoutPossibleListTheCpuDirectoriesCount) {
  ScratchRoot root;
  root.Write("/sys/devices/system/cpu/cpu0/crash_notes", "80001000\n");
  root.Write("/sys/devices/system/cpu/cpu10/crash_notes", "80003000\n");
  root.Write("/sys/devices/system/cpu/cpu2/crash_notes", "80002000\n");
  root.Write("/sys/devices/system/cpu/cpufreq/policy0", "");
  root.Write("/sys/devices/system/cpu/cpuidle/current_driver", "none\n");
  auto notes = ReadCrashNotes(root.root(), kEmRiscv);
  ASSERT_TRUE(notes.ok()) << notes.error();
  ASSERT_EQ(notes->cpus.size(), 3u);
  EXPECT_EQ(notes->cpus[0].cpu, 0u);
  EXPECT_EQ(notes->cpus[1].cpu, 2u);
  EXPECT_EQ(notes->cpus[2].cpu, 10u);
  EXPECT_EQ(notes->cpus[2].note, (PhysRange{0x80003000, 408}));

  ScratchRoot empty;
  auto none = ReadCrashNotes(empty.root(), kEmRiscv);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("is sysfs mounted?"), std::string::npos) << none.error();
}

TEST(SysfsTest, MalformedFilesAreNamed) {
  ScratchRoot root;
  root.Write("/sys/devices/system/cpu/possible", "0\n");
  root.Write("/sys/devices/system/cpu/cpu0/crash_notes", "not an address\n");
  auto notes = ReadCrashNotes(root.root(), kEmAarch64);
  ASSERT_FALSE(notes.ok());
  EXPECT_EQ(notes.error().rfind(root.root() + "/sys/devices/system/cpu/cpu0/crash_notes: expected one hexadecimal", 0),
            0u)
      << notes.error();

  root.Write("/sys/devices/system/cpu/cpu0/crash_notes", "0\n");
  notes = ReadCrashNotes(root.root(), kEmAarch64);
  ASSERT_FALSE(notes.ok());
  EXPECT_NE(notes.error().find("address 0"), std::string::npos) << notes.error();

  root.Write("/sys/devices/system/cpu/cpu0/crash_notes", "7f4d2e48\n");
  root.Write("/sys/devices/system/cpu/cpu0/crash_notes_size", "0\n");
  notes = ReadCrashNotes(root.root(), kEmAarch64);
  ASSERT_FALSE(notes.ok());
  EXPECT_NE(notes.error().find("crash_notes_size: size 0"), std::string::npos) << notes.error();

  root.Write("/sys/devices/system/cpu/possible", "zero\n");
  notes = ReadCrashNotes(root.root(), kEmAarch64);
  ASSERT_FALSE(notes.ok());
  EXPECT_NE(notes.error().find("possible: "), std::string::npos) << notes.error();

  root.Write("/sys/kernel/kexec_crash_loaded", "2\n");
  auto loaded = ReadKexecCrashLoaded(root.root());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("expected 0 or 1"), std::string::npos) << loaded.error();
  root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
  ASSERT_TRUE(ReadKexecCrashLoaded(root.root()).ok());
  EXPECT_TRUE(*ReadKexecCrashLoaded(root.root()));
  root.Write("/proc/sys/kernel/kexec_load_disabled", "1\n");
  EXPECT_TRUE(*ReadKexecLoadDisabled(root.root()));
  root.Write("/sys/kernel/kexec_crash_size", "0\n");
  EXPECT_EQ(*ReadKexecCrashSize(root.root()), 0u);
}

// /proc/kallsyms as Debian's armmp kernel shows it to root (the lines around _stext; module
// symbols carry "\t[module]"); with kernel.kptr_restrict hiding them every address is 0.
TEST(SysfsTest, KallsymsAddress) {
  const std::string text =
      "c0300000 T _text\n"
      "c0300000 T _stext_early\n"
      "c0300000 T _stext\n"
      "c0300040 t __do_fixup_smp_on_up\n"
      "bf000000 t virtio_mmio_probe\t[virtio_mmio]\n"
      "bf001000 T _stext_mod\t[fake]\n";
  EXPECT_EQ(KallsymsAddress(text, "_stext"), 0xc0300000u);  // not the longer name before it
  EXPECT_EQ(KallsymsAddress(text, "_text"), 0xc0300000u);
  EXPECT_EQ(KallsymsAddress(text, "virtio_mmio_probe"), 0xbf000000u);  // a module's
  EXPECT_EQ(KallsymsAddress(text, "_etext"), std::nullopt);
  EXPECT_EQ(KallsymsAddress(text, "_stex"), std::nullopt);
  EXPECT_EQ(KallsymsAddress("00000000 T _stext\n", "_stext"), std::nullopt);  // hidden
  EXPECT_EQ(KallsymsAddress("c03zz000 T _stext\n", "_stext"), std::nullopt);  // malformed
  EXPECT_EQ(KallsymsAddress("c0300000 _stext\n", "_stext"), std::nullopt);
  EXPECT_EQ(KallsymsAddress("", "_stext"), std::nullopt);
  EXPECT_EQ(KallsymsAddress("80008000 T _stext", "_stext"), 0x80008000u);  // no final newline

  ScratchRoot root;
  auto missing = ReadKallsymsAddress(root.root(), "_stext");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), root.root() + "/proc/kallsyms does not exist: the kernel was built without CONFIG_KALLSYMS");
  root.Write("/proc/kallsyms", "00000000 T _text\n00000000 T _stext\n");
  auto hidden = ReadKallsymsAddress(root.root(), "_stext");
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error(), root.root() + "/proc/kallsyms: no address for _stext (no such symbol, or "
                                          "kernel.kptr_restrict hides the addresses)");
  root.Write("/proc/kallsyms", text);
  auto found = ReadKallsymsAddress(root.root(), "_stext");
  ASSERT_TRUE(found.ok()) << found.error();
  EXPECT_EQ(*found, 0xc0300000u);
}

TEST(SysfsTest, ReadTextFileErrorsNameThePath) {
  auto missing = ReadTextFile("/nonexistent/salvage/proc/iomem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "/nonexistent/salvage/proc/iomem: No such file or directory");
  auto dir = ReadTextFile(Tree("proc-arm64-virt"));
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().find("Is a directory"), std::string::npos) << dir.error();
  // EACCES adds "run salvage as root"; not testable here when the tests run as root.
  if (::geteuid() != 0) {
    ScratchRoot root;
    root.Write("/sys/devices/system/cpu/cpu0/crash_notes", "7f4d2e48\n");
    fs::permissions(root.root() + "/sys/devices/system/cpu/cpu0/crash_notes", fs::perms::owner_read,
                    fs::perm_options::remove);
    auto denied = ReadTextFile(root.root() + "/sys/devices/system/cpu/cpu0/crash_notes");
    ASSERT_FALSE(denied.ok());
    EXPECT_NE(denied.error().find("Permission denied: run salvage as root"), std::string::npos) << denied.error();
  }
}

}  // namespace
}  // namespace salvage::loader::proc
