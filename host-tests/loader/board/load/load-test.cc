// Tests for loader/board/load/load: salvage load end to end against the fixture trees of
// host-tests/data/proc-{arm64,armhf,riscv64}-virt (as `salvage load --dry-run --root DIR
// --out DIR2` runs it, with the built image and purgatory when they exist): the DTB's
// linux,elfcorehdr, usable-memory-range and salvage,options, the purgatory's parameter
// block and its SHA-256s against the segment files, the image's boot parameters, the
// elfcorehdr read back by the image's parser. Then a load, status and unload through a
// fake kernel, and every error message a user meets: no or too small a reservation,
// kexec_load_disabled, lockdown, hidden addresses, not root, kexec_load's errnos, bad
// options.
#include "board/load/load.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <salvage/boot/boot-params.h>
#include <salvage/dtb/dtb.h>
#include <salvage/elfcore/elfcore.h>
#include <salvage/purgatory/params.h>

#include "block-target-test-util.h"
#include "load-test-util.h"
#include "board/load/state.h"

namespace salvage::loader::load {
namespace {

static_assert(std::endian::native == std::endian::little, "the checks copy the parameter structures from the bytes");

using testing::Capture;
using testing::FakeKernel;
using testing::Scratch;

constexpr uint64_t MiB = 1024 * 1024;

struct TreeCase {
  const char* tree;
  const char* arch;
  const char* dtb;
  PhysRange reservation;
  uint16_t machine;
  uint8_t elf_class;
  uint32_t console_kind;
  uint64_t console_base;
  uint8_t console_reg_shift;
  uint8_t console_reg_io_width;
};

const TreeCase kTrees[] = {
    {"proc-arm64-virt", "aarch64", "virt-aarch64", {0x7b000000, 64 * MiB}, 183, 64, 1, 0x9000000, 0, 1},
    // A DesignWare 8250 with 32-bit registers (stdout-path through an alias).
    {"proc-armhf-virt", "arm", "rk3399-dw-uart", {0x68000000, 64 * MiB}, 40, 32, 2, 0xff1a0000, 2, 4},
    {"proc-riscv64-virt", "riscv64", "virt-riscv64", {0xbb000000, 64 * MiB}, 243, 64, 2, 0x10000000, 0, 1},
};

// For readable test names in ctest.
void PrintTo(const TreeCase& t, std::ostream* os) { *os << t.tree; }

LoadSettings DryRun(const TreeCase& t, const std::string& root, const testing::Blobs& blobs, const std::string& out) {
  LoadSettings s;
  s.root = root;
  s.arch = t.arch;
  s.dry_run = true;
  s.out = out;
  s.choices.image = blobs.image;
  s.choices.purgatory = blobs.purgatory;
  s.choices.dtb = testing::CompiledDtb(t.dtb);
  return s;
}

struct SegmentLine {
  std::string name;
  uint64_t addr = 0, bufsz = 0, memsz = 0;
  std::string sha256;
  std::vector<uint8_t> bytes;  // the NN-NAME-0xADDR.bin file
};

struct DryRunOutput {
  std::vector<SegmentLine> segments;
  std::map<std::string, SegmentLine> by_name;
  uint64_t entry = 0, flags = 0;
};

DryRunOutput ReadOut(const std::string& dir) {
  DryRunOutput o;
  std::istringstream in(testing::ReadFile(dir + "/segments.txt"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string name, a, b, c, sha;
    w >> name >> a;
    if (name == "entry") {
      o.entry = std::stoull(a, nullptr, 16);
      continue;
    }
    if (name == "flags") {
      o.flags = std::stoull(a, nullptr, 16);
      continue;
    }
    w >> b >> c >> sha;
    SegmentLine s{name, std::stoull(a, nullptr, 16), std::stoull(b, nullptr, 16), std::stoull(c, nullptr, 16), sha, {}};
    char file[96];
    std::snprintf(file, sizeof(file), "/%02zu-%s-0x%llx.bin", o.segments.size(), name.c_str(),
                  static_cast<unsigned long long>(s.addr));
    s.bytes = testing::ReadBytes(dir + file);
    o.segments.push_back(s);
    o.by_name[name] = s;
  }
  return o;
}

std::string Sha(const std::vector<uint8_t>& b) { return HexDigest(Sha256::Hash(b.data(), b.size())); }

// A DTB copied into 8-byte aligned memory, for salvage::dtb::Dtb and libfdt.
struct AlignedDtb {
  explicit AlignedDtb(const std::vector<uint8_t>& b) : words((b.size() + 7) / 8) { std::memcpy(words.data(), b.data(), b.size()); }
  const void* data() const { return words.data(); }
  std::string ChosenString(const char* prop) const {
    const int chosen = fdt_path_offset(data(), "/chosen");
    int len = 0;
    const char* v = static_cast<const char*>(fdt_getprop(data(), chosen, prop, &len));
    return v ? std::string(v) : std::string("<absent>");
  }
  std::vector<uint64_t> words;
};

class LoadTreeTest : public ::testing::TestWithParam<TreeCase> {};

TEST_P(LoadTreeTest, DryRunEndToEnd) {
  const TreeCase& t = GetParam();
  Scratch scratch;
  const testing::Blobs blobs = testing::BlobsFor(t.arch, scratch);
  const std::string out_dir = scratch.At("/out");
  FakeKernel kernel;
  kernel.root_user = false;  // a dry run needs no privilege
  Capture out, err;
  const int rc = RunLoad(DryRun(t, testing::SourceTree(t.tree), blobs, out_dir), kernel, out.file(), err.file());
  ASSERT_EQ(rc, 0) << err.text();
  EXPECT_TRUE(kernel.calls.empty());
  EXPECT_NE(out.text().find("salvage load: dry run, nothing loaded"), std::string::npos) << out.text();
  EXPECT_NE(out.text().find("salvage would be ready: after a panic it will stream the crashed kernel's memory over "
                            "the console UART"),
            std::string::npos)
      << out.text();
  EXPECT_EQ(err.text(), "");

  const DryRunOutput o = ReadOut(out_dir);
  ASSERT_EQ(o.segments.size(), 4u);
  const char* order[] = {"image", "purgatory", "dtb", "elfcorehdr"};
  for (size_t i = 0; i < 4; ++i) {
    const SegmentLine& s = o.segments[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.name, order[i]);
    EXPECT_EQ(s.bytes.size(), s.bufsz);
    EXPECT_EQ(Sha(s.bytes), s.sha256);
    EXPECT_EQ(s.addr % 4096, 0u);
    EXPECT_EQ(s.memsz % 4096, 0u);
    EXPECT_GE(s.memsz, s.bufsz);
    EXPECT_TRUE(t.reservation.Contains(PhysRange{s.addr, s.memsz}));
    if (i > 0) {
      EXPECT_LE(o.segments[i - 1].addr + o.segments[i - 1].memsz, s.addr);
    }
  }
  const SegmentLine& image = o.by_name.at("image");
  const SegmentLine& purg = o.by_name.at("purgatory");
  const SegmentLine& dtb = o.by_name.at("dtb");
  const SegmentLine& hdr = o.by_name.at("elfcorehdr");
  EXPECT_EQ(image.addr, t.reservation.base);
  EXPECT_EQ(hdr.addr + hdr.memsz, t.reservation.End());
  EXPECT_EQ(o.entry, purg.addr);
  EXPECT_EQ(o.flags, 1u | (uint64_t{t.machine} << 16));

  // The DTB: what the image reads back.
  AlignedDtb tree(dtb.bytes);
  auto d = dtb::Dtb::Open(tree.data(), dtb.bytes.size());
  ASSERT_TRUE(d.ok()) << d.status().what();
  auto core = d->ChosenElfCoreHdr();
  ASSERT_TRUE(core.ok() && core->has_value());
  EXPECT_EQ(**core, (PhysRange{hdr.addr, hdr.bufsz}));
  std::vector<PhysRange> usable;
  ASSERT_TRUE(d->ForEachUsableMemoryRange([&](PhysRange r) { usable.push_back(r); }).ok());
  EXPECT_EQ(usable, std::vector<PhysRange>{t.reservation});
  EXPECT_EQ(tree.ChosenString("salvage,options"), "salvage.sink=uart salvage.after=poweroff");
  EXPECT_EQ(tree.ChosenString("bootargs"), "<absent>");

  // The purgatory's parameter block.
  purgatory::Params params;
  ASSERT_GE(purg.bytes.size(), purgatory::kParamsOffset + sizeof(params));
  std::memcpy(&params, &purg.bytes[purgatory::kParamsOffset], sizeof(params));
  EXPECT_EQ(std::memcmp(params.magic, "SLVGPURG", 8), 0);
  EXPECT_EQ(params.version, 1u);
  EXPECT_EQ(params.entry, image.addr);
  EXPECT_EQ(params.dtb, dtb.addr);
  EXPECT_EQ(params.console_kind, t.console_kind);
  EXPECT_EQ(params.console_base, t.console_base);
  EXPECT_EQ(params.console_reg_shift, t.console_reg_shift);
  EXPECT_EQ(params.console_reg_io_width, t.console_reg_io_width);
  ASSERT_EQ(params.segment_count, 3u);
  const SegmentLine* checked[] = {&image, &dtb, &hdr};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(checked[i]->name);
    EXPECT_EQ(params.segments[i].address, checked[i]->addr);
    EXPECT_EQ(params.segments[i].size, checked[i]->bufsz);
    const Sha256::Digest digest = Sha256::Hash(checked[i]->bytes.data(), checked[i]->bytes.size());
    EXPECT_EQ(std::memcmp(params.segments[i].sha256, digest.data(), 32), 0);
  }
  // Apart from its parameter block, the purgatory is the file.
  std::vector<uint8_t> purg_file = testing::ReadBytes(blobs.purgatory);
  ASSERT_EQ(purg_file.size(), purg.bytes.size());
  std::vector<uint8_t> purg_code = purg.bytes;
  const size_t after_magic = purgatory::kParamsOffset + purgatory::kMagic.size();
  std::memcpy(&purg_code[after_magic], &purg_file[after_magic], sizeof(params) - purgatory::kMagic.size());
  EXPECT_EQ(purg_code, purg_file);

  // The image: the file with the early console in its boot parameters.
  boot::BootParams bp;
  std::memcpy(&bp, &image.bytes[boot::kBootParamsOffset], sizeof(bp));
  EXPECT_EQ(bp.earlycon_kind, t.console_kind);
  EXPECT_EQ(bp.earlycon_base, t.console_base);
  EXPECT_EQ(bp.earlycon_reg_shift, t.console_reg_shift);
  EXPECT_EQ(bp.earlycon_reg_io_width, t.console_reg_io_width);
  EXPECT_EQ(bp.flags, 0u);
  EXPECT_GE(image.memsz, bp.footprint);
  std::vector<uint8_t> image_file = testing::ReadBytes(blobs.image);
  ASSERT_EQ(image_file.size(), image.bytes.size());
  std::vector<uint8_t> restored = image.bytes;
  std::memcpy(&restored[0x50], &image_file[0x50], 0x14);
  EXPECT_EQ(restored, image_file);

  // The elfcorehdr, through the image's parser: no problem reported.
  elfcore::CollectingDiagnostics<16> diag;
  elfcore::CoreHeader h;
  ASSERT_TRUE(elfcore::ParseCoreHeaderInto(hdr.bytes, diag, &h).ok());
  EXPECT_EQ(diag.total(), 0u);
  EXPECT_EQ(h.machine, t.machine);
  EXPECT_EQ(h.elf_class, t.elf_class);
  EXPECT_EQ(h.notes.size(), 5u);  // 4 CPUs + VMCOREINFO
  EXPECT_EQ(hdr.bufsz, 1024u);
}

TEST_P(LoadTreeTest, LoadStatusUnloadThroughAFakeKernel) {
  const TreeCase& t = GetParam();
  Scratch root(t.tree);
  const testing::Blobs blobs = testing::BlobsFor(t.arch, root);
  FakeKernel kernel(root.path());
  kernel.machine = t.arch;
  LoadSettings s = DryRun(t, root.path(), blobs, "");
  s.dry_run = false;
  {
    Capture out, err;
    ASSERT_EQ(RunLoad(s, kernel, out.file(), err.file()), 0) << err.text();
    EXPECT_NE(out.text().find("salvage load: loaded salvage as the crash kernel\n"), std::string::npos) << out.text();
    EXPECT_NE(out.text().find("salvage is ready"), std::string::npos);
  }
  ASSERT_EQ(kernel.calls.size(), 1u);
  const FakeKernel::Call& call = kernel.calls[0];
  EXPECT_EQ(call.flags, 1u | (uint64_t{t.machine} << 16));
  ASSERT_EQ(call.segments.size(), 4u);
  EXPECT_EQ(call.entry, call.segments[1].mem);  // the purgatory
  EXPECT_EQ(call.segments[0].mem, t.reservation.base);
  for (const KexecSegment& seg : call.segments) EXPECT_TRUE(t.reservation.Contains(PhysRange{seg.mem, seg.memsz}));

  // The state file, and status.
  ASSERT_TRUE(root.Has("/run/salvage/loaded"));
  auto state = ReadStateFile(StatePath(root.path()));
  ASSERT_TRUE(state.ok()) << state.error();
  EXPECT_EQ(state->options, "salvage.sink=uart salvage.after=poweroff");
  EXPECT_EQ(state->image, blobs.image);
  EXPECT_EQ(state->entry, call.entry);
  ASSERT_EQ(state->segments.size(), 4u);
  EXPECT_EQ(state->segments[2].sha256, Sha(call.bytes[2]));
  {
    Capture out, err;
    EXPECT_EQ(RunStatus(root.path(), out.file(), err.file()), 0) << err.text();
    EXPECT_EQ(out.text().rfind("loaded: salvage (options salvage.sink=uart salvage.after=poweroff) since ", 0), 0u)
        << out.text();
  }
  // A second load replaces the first and says so.
  {
    Capture out, err;
    ASSERT_EQ(RunLoad(s, kernel, out.file(), err.file()), 0) << err.text();
    EXPECT_NE(out.text().find("(replaced the salvage loaded at "), std::string::npos) << out.text();
  }
  // Unload.
  {
    Capture out, err;
    EXPECT_EQ(RunUnload(root.path(), false, kernel, out.file(), err.file()), 0) << err.text();
    EXPECT_NE(out.text().find("salvage unload: unloaded salvage (loaded at "), std::string::npos) << out.text();
  }
  ASSERT_EQ(kernel.calls.size(), 3u);
  EXPECT_TRUE(kernel.calls[2].segments.empty());
  EXPECT_EQ(kernel.calls[2].flags, 1u);  // KEXEC_ON_CRASH | KEXEC_ARCH_DEFAULT
  EXPECT_FALSE(root.Has("/run/salvage/loaded"));
  {
    Capture out, err;
    EXPECT_EQ(RunStatus(root.path(), out.file(), err.file()), kExitNotLoaded);
    EXPECT_EQ(out.text().substr(0, 11), "not loaded\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Trees, LoadTreeTest, ::testing::ValuesIn(kTrees),
                         [](const ::testing::TestParamInfo<TreeCase>& info) { return std::string(info.param.arch); });

// ---- the same pipeline, other settings -----------------------------------------------------

// Runs a dry run of the arm64 tree at `root` with `adjust` applied; returns rc, and out/err.
struct LoadRun {
  explicit LoadRun(const std::string& root) : kernel(root) {}
  int rc = 0;
  std::string out, err;
  FakeKernel kernel;
};

template <class Adjust>
LoadRun Arm64(const Scratch& root, Adjust adjust, bool dry_run = true) {
  LoadRun r(root.path());
  const testing::Blobs blobs = testing::BlobsFor("aarch64", root);
  LoadSettings s = DryRun(kTrees[0], root.path(), blobs, dry_run ? root.At("/out") : "");
  s.dry_run = dry_run;
  adjust(s, r.kernel);
  Capture out, err;
  r.rc = RunLoad(s, r.kernel, out.file(), err.file());
  r.out = out.text();
  r.err = err.text();
  return r;
}

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(LoadTest, OptionsReachTheDtbAndTheImage) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, testing::FixtureDisk::Gpt());  // the partition is checked (block-target-test.cc)
  const LoadRun r = Arm64(root, [](LoadSettings& s, FakeKernel&) {
    s.choices.dtb = testing::CompiledDtb("virt-aarch64-disks");
    s.choices.sink = "virtio-blk@0xa003e00";
    s.choices.target = "gpt-name:dump";
    s.choices.after = "reboot";
    s.choices.append = "salvage.debug=report   mem=1M";
  });
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "write the crashed kernel's memory to the virtio-blk device at 0xa003e00 (target "
                         "gpt-name:dump): /dev/vda for salvage extract, then reboot."))
      << r.out;
  const DryRunOutput o = ReadOut(root.At("/out"));
  AlignedDtb tree(o.by_name.at("dtb").bytes);
  EXPECT_EQ(tree.ChosenString("salvage,options"),
            "salvage.sink=virtio-blk@0xa003e00 salvage.target=gpt-name:dump salvage.after=reboot");
  EXPECT_EQ(tree.ChosenString("bootargs"), "salvage.debug=report mem=1M");
  boot::BootParams bp;
  std::memcpy(&bp, &o.by_name.at("image").bytes[boot::kBootParamsOffset], sizeof(bp));
  EXPECT_EQ(bp.flags, boot::kFlagResetOnStop);
}

TEST(LoadTest, FakeImageAndPurgatory) {
  // What the end-to-end tests use when an architecture's image was not built.
  Scratch root("proc-arm64-virt");
  testing::WriteBytes(root.At("/fake.img"), testing::FakeImage("aarch64", 0x5000, 0x23000));
  testing::WriteBytes(root.At("/fake.bin"), testing::FakePurgatory("aarch64"));
  const LoadRun r = Arm64(root, [&](LoadSettings& s, FakeKernel&) {
    s.choices.image = root.At("/fake.img");
    s.choices.purgatory = root.At("/fake.bin");
  });
  ASSERT_EQ(r.rc, 0) << r.err;
  const DryRunOutput o = ReadOut(root.At("/out"));
  EXPECT_EQ(o.by_name.at("image").memsz, 0x23000u);
  EXPECT_EQ(o.by_name.at("purgatory").addr, 0x7b023000u);
  EXPECT_EQ(o.by_name.at("purgatory").memsz, 0xd000u);  // 4 KiB file + 48 KiB .bss allowance
}

TEST(LoadTest, MiniUartConsoleIsThePurgatorysOnly) {
  // raspi3's stdout-path names the mini UART. The purgatory drives it (console kind 3)
  // for its mismatch message; the image's early console, used only without a DTB, knows
  // PL011 and 16550 alone, so the boot parameter block gets none.
  Scratch root("proc-armhf-virt");
  const testing::Blobs blobs = testing::BlobsFor("arm", root);
  LoadSettings s = DryRun(kTrees[1], root.path(), blobs, root.At("/out"));
  s.choices.dtb = testing::CompiledDtb("raspi3-arm");
  FakeKernel kernel;
  Capture out, err;
  ASSERT_EQ(RunLoad(s, kernel, out.file(), err.file()), 0) << err.text();
  const DryRunOutput o = ReadOut(root.At("/out"));
  purgatory::Params params;
  std::memcpy(&params, &o.by_name.at("purgatory").bytes[purgatory::kParamsOffset], sizeof(params));
  ASSERT_TRUE(Has(out.text(), "  console     bcm2835-aux")) << out.text();
  EXPECT_FALSE(Has(out.text(), "the purgatory cannot report")) << out.text();
  EXPECT_EQ(params.console_kind, 3u);
  EXPECT_EQ(params.console_base, 0x3f215040u);
  boot::BootParams boot;
  std::memcpy(&boot, &o.by_name.at("image").bytes[boot::kBootParamsOffset], sizeof(boot));
  EXPECT_EQ(boot.earlycon_kind, 0u);
  EXPECT_EQ(boot.earlycon_base, 0u);
}

TEST(LoadTest, FirmwareFdtAndKcoreUnderRoot) {
  Scratch root("proc-arm64-virt");
  testing::WriteBytes(root.At("/sys/firmware/fdt"), testing::ReadBytes(testing::CompiledDtb("virt-aarch64")));
  const LoadRun r = Arm64(root, [](LoadSettings& s, FakeKernel&) { s.choices.dtb.reset(); s.verbose = true; });
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "from " + root.At("/sys/firmware/fdt"))) << r.out;
  EXPECT_TRUE(Has(r.err, "salvage load: VMCOREINFO text from " + root.At("/vmcoreinfo-desc.txt"))) << r.err;
  EXPECT_TRUE(Has(r.err, "salvage load: salvage needs ")) << r.err;
}

TEST(LoadTest, NoDeviceTree) {
  Scratch root("proc-arm64-virt");
  const LoadRun r = Arm64(root, [](LoadSettings& s, FakeKernel&) { s.choices.dtb.reset(); });
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, root.At("/sys/firmware/fdt"))) << r.err;
  EXPECT_TRUE(Has(r.err, "this kernel was not booted with a device tree (ACPI?): give salvage one with --dtb FILE"))
      << r.err;
}

TEST(LoadTest, WithoutVmcoreinfoTextTheHeaderHasNoKernelText) {
  Scratch root("proc-arm64-virt");
  std::filesystem::remove(root.At("/vmcoreinfo-desc.txt"));
  const LoadRun r = Arm64(root, [](LoadSettings&, FakeKernel&) {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.err, "salvage load: warning: neither ")) << r.err;
  EXPECT_TRUE(Has(r.out, "3 PT_LOAD") == false && Has(r.out, "2 PT_LOAD (RAM)")) << r.out;
}

// Debian's armmp kernel has no /proc/kcore, so no VMCOREINFO text: on 32-bit Arm that loses
// nothing (no warning), and PAGE_OFFSET comes from _stext in /proc/kallsyms as kexec-tools
// takes it; without that, the warning says what is assumed.
TEST(LoadTest, ArmWithoutKcoreTakesStextFromKallsyms) {
  auto run = [](Scratch& root) {
    LoadRun r(root.path());
    const testing::Blobs blobs = testing::BlobsFor("arm", root);
    LoadSettings s = DryRun(kTrees[1], root.path(), blobs, root.At("/out"));
    s.verbose = true;
    Capture out, err;
    r.rc = RunLoad(s, r.kernel, out.file(), err.file());
    r.out = out.text();
    r.err = err.text();
    return r;
  };
  // The first RAM PT_LOAD's p_vaddr (ELF32: e_phoff at 28, e_phnum at 44, p_vaddr at 8).
  auto first_ram_vaddr = [](Scratch& root) -> uint32_t {
    const std::vector<uint8_t> h = ReadOut(root.At("/out")).by_name.at("elfcorehdr").bytes;
    uint32_t phoff = 0;
    uint16_t phnum = 0;
    std::memcpy(&phoff, &h[28], 4);
    std::memcpy(&phnum, &h[44], 2);
    for (uint16_t i = 0; i < phnum; ++i) {
      uint32_t type = 0, vaddr = 0;
      std::memcpy(&type, &h[phoff + i * 32u], 4);
      std::memcpy(&vaddr, &h[phoff + i * 32u + 8], 4);
      if (type == 1) return vaddr;
    }
    return 0;
  };
  {
    Scratch root("proc-armhf-virt");
    std::filesystem::remove(root.At("/vmcoreinfo-desc.txt"));
    testing::WriteFile(root.At("/proc/kallsyms"), "80008000 T _text\n80008000 T _stext\n");  // VMSPLIT_2G
    const LoadRun r = run(root);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_FALSE(Has(r.err, "warning:")) << r.err;
    EXPECT_TRUE(Has(r.err, "salvage load: no VMCOREINFO text (neither ")) << r.err;
    EXPECT_TRUE(Has(r.err, "the elfcorehdr's addresses on this architecture need none")) << r.err;
    EXPECT_TRUE(Has(r.err, "PAGE_OFFSET 0x80000000 from _stext 0x80008000 in /proc/kallsyms")) << r.err;
    EXPECT_EQ(first_ram_vaddr(root), 0x80000000u);
  }
  {
    Scratch root("proc-armhf-virt");
    std::filesystem::remove(root.At("/vmcoreinfo-desc.txt"));
    const LoadRun r = run(root);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(Has(r.err, "salvage load: warning: " + root.At("/proc/kallsyms") +
                               " does not exist: the kernel was built without CONFIG_KALLSYMS; the elfcorehdr's "
                               "virtual addresses assume PAGE_OFFSET 0xc0000000 (VMSPLIT_3G), as kexec-tools does then"))
        << r.err;
    EXPECT_FALSE(Has(r.err, "gets no kernel virtual addresses")) << r.err;
    EXPECT_EQ(first_ram_vaddr(root), 0xc0000000u);
  }
  {
    // VMCOREINFO's SYMBOL(_stext) (the fixture's c0100000) is taken without /proc/kallsyms.
    Scratch root("proc-armhf-virt");
    const LoadRun r = run(root);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_FALSE(Has(r.err, "warning:")) << r.err;
    EXPECT_TRUE(Has(r.err, "PAGE_OFFSET 0xc0000000 from SYMBOL(_stext)=c0100000")) << r.err;
  }
}

TEST(LoadTest, Elf32OnRequest) {
  Scratch root("proc-armhf-virt");
  const testing::Blobs blobs = testing::BlobsFor("arm", root);
  for (auto cls : {elfcorehdr::ElfClass::k64, elfcorehdr::ElfClass::k32}) {
    LoadSettings s = DryRun(kTrees[1], root.path(), blobs, root.At("/out"));
    s.elf_class = cls;
    FakeKernel kernel;
    Capture out, err;
    ASSERT_EQ(RunLoad(s, kernel, out.file(), err.file()), 0) << err.text();
    const DryRunOutput o = ReadOut(root.At("/out"));
    EXPECT_EQ(o.by_name.at("elfcorehdr").bytes[4], cls == elfcorehdr::ElfClass::k64 ? 2 : 1);  // EI_CLASS
  }
}

// ---- errors ---------------------------------------------------------------------------------

std::string WithoutLine(const std::string& text, const std::string& containing) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find(containing) == std::string::npos) out += line + "\n";
  return out;
}

TEST(LoadErrorTest, NoReservation) {
  Scratch root("proc-arm64-virt");
  root.Write("/proc/iomem", WithoutLine(root.Read("/proc/iomem"), "Crash kernel"));
  const LoadRun r = Arm64(root, [](LoadSettings&, FakeKernel&) {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "salvage load: error: no memory is reserved for a crash kernel: add crashkernel=1M to the "
                         "kernel command line and reboot.\n"))
      << r.err;
  EXPECT_TRUE(Has(r.err, "Add crashkernel=1M where your boot loader keeps the kernel command line, and reboot.")) << r.err;
  EXPECT_TRUE(Has(r.err, "(salvage needs ")) << r.err;
  EXPECT_TRUE(Has(r.err, "The kernel command line has crashkernel=64M but the kernel reserved nothing")) << r.err;

  root.Write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  const LoadRun grub = Arm64(root, [](LoadSettings&, FakeKernel&) {});
  EXPECT_TRUE(Has(grub.err, "This system boots with GRUB: add crashkernel=1M to GRUB_CMDLINE_LINUX_DEFAULT in "
                            "/etc/default/grub, run update-grub, and reboot."))
      << grub.err;
  root.Write("/boot/firmware/cmdline.txt", "console=serial0,115200 root=/dev/mmcblk0p2\n");
  const LoadRun pi = Arm64(root, [](LoadSettings&, FakeKernel&) {});
  EXPECT_TRUE(Has(pi.err, "This is a Raspberry Pi: add crashkernel=1M to the single line in /boot/firmware/cmdline.txt"))
      << pi.err;
}

TEST(LoadErrorTest, ReservationTooSmall) {
  Scratch root("proc-arm64-virt");
  std::string iomem = root.Read("/proc/iomem");
  iomem.replace(iomem.find("7b000000-7effffff : Crash kernel"), 32, "7b000000-7b07ffff : Crash kernel");
  root.Write("/proc/iomem", iomem);
  const LoadRun r = Arm64(root, [](LoadSettings&, FakeKernel&) {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "the crash kernel reservation is 0x80000 bytes and salvage needs 1 MiB: add crashkernel=1M to "
                         "the kernel command line (in place of the crashkernel= there now) and reboot"))
      << r.err;
}

TEST(LoadErrorTest, KexecLoadDisabled) {
  Scratch root("proc-arm64-virt");
  root.Write("/proc/sys/kernel/kexec_load_disabled", "1\n");
  const LoadRun real = Arm64(root, [](LoadSettings&, FakeKernel&) {}, /*dry_run=*/false);
  EXPECT_EQ(real.rc, 1);
  EXPECT_TRUE(Has(real.err, "salvage load: error: kexec is disabled until reboot (kernel.kexec_load_disabled=1);"))
      << real.err;
  EXPECT_TRUE(real.kernel.calls.empty());
  const LoadRun dry = Arm64(root, [](LoadSettings&, FakeKernel&) {});
  EXPECT_EQ(dry.rc, 0) << dry.err;
  EXPECT_TRUE(Has(dry.err, "salvage load: warning: a real load would fail: kexec is disabled until reboot")) << dry.err;
}

TEST(LoadErrorTest, Lockdown) {
  Scratch root("proc-arm64-virt");
  root.Write("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
  const LoadRun r = Arm64(root, [](LoadSettings&, FakeKernel&) {}, false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "the kernel is locked down (integrity), and lockdown refuses kexec_load")) << r.err;
  EXPECT_TRUE(Has(r.err, "Secure Boot")) << r.err;
  EXPECT_TRUE(r.kernel.calls.empty());
  root.Write("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
  const LoadRun ok = Arm64(root, [](LoadSettings&, FakeKernel&) {}, false);
  EXPECT_EQ(ok.rc, 0) << ok.err;
  EXPECT_EQ(LockdownMode("none integrity [confidentiality]\n"), "confidentiality");
  EXPECT_EQ(LockdownMode(""), "");
}

TEST(LoadErrorTest, HiddenAddresses) {
  Scratch root("proc-arm64-virt");
  // What a reader without CAP_SYS_ADMIN sees: every address zero, the names kept.
  std::istringstream in(root.Read("/proc/iomem"));
  std::string line, hidden;
  while (std::getline(in, line)) {
    const size_t dash = line.find('-'), colon = line.find(" : ");
    std::string first = line.substr(0, dash);
    for (char& c : first)
      if (c != ' ') c = '0';
    hidden += first + "-" + std::string(colon - dash - 1, '0') + line.substr(colon) + "\n";
  }
  root.Write("/proc/iomem", hidden);
  const LoadRun r = Arm64(root, [](LoadSettings& s, FakeKernel& k) { k.root_user = false; (void)s; });
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "run salvage as root")) << r.err;
  // status still reports, without addresses.
  Capture out, err;
  EXPECT_EQ(RunStatus(root.path(), out.file(), err.file()), kExitNotLoaded) << err.text();
  EXPECT_TRUE(Has(out.text(), "reservation: 64 MiB (addresses hidden in " + root.At("/proc/iomem") +
                                  ": run as root to see them)"))
      << out.text();
}

TEST(LoadErrorTest, NotRoot) {
  Scratch root("proc-arm64-virt");
  const LoadRun r = Arm64(root, [](LoadSettings&, FakeKernel& k) { k.root_user = false; }, false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "salvage load: error: salvage load must run as root")) << r.err;
  EXPECT_TRUE(r.kernel.calls.empty());
  Capture out, err;
  FakeKernel user(root.path());
  user.root_user = false;
  EXPECT_EQ(RunUnload(root.path(), false, user, out.file(), err.file()), 1);
  EXPECT_TRUE(Has(err.text(), "salvage unload must run as root")) << err.text();
  EXPECT_TRUE(user.calls.empty());
}

TEST(LoadErrorTest, KexecLoadErrnos) {
  struct Case {
    int err;
    const char* says;
  } cases[] = {
      {EPERM, "CAP_SYS_BOOT"},
      {EBUSY, "another crash kernel load is in progress"},
      {EADDRNOTAVAIL, "This is a salvage bug; please report it with this placement:\n  image      0x7b000000-"},
      {EINVAL, "Check that --arch (aarch64) is the running kernel's architecture"},
      {ENOMEM, "no two pages of the reservation are left for its control page and vmcoreinfo copy"},
      {ENOSYS, "CONFIG_KEXEC"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    Scratch root("proc-arm64-virt");
    const LoadRun r = Arm64(root, [&](LoadSettings&, FakeKernel& k) { k.result = c.err; }, false);
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(Has(r.err, std::string("salvage load: error: kexec_load failed (") + std::strerror(c.err) + ")")) << r.err;
    EXPECT_TRUE(Has(r.err, c.says)) << r.err;
    EXPECT_FALSE(root.Has("/run/salvage/loaded"));
  }
}

TEST(LoadErrorTest, AFailedLoadThatLostThePreviousOneSaysSo) {
  Scratch root("proc-arm64-virt");
  root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
  const LoadRun r = Arm64(root, [](LoadSettings&, FakeKernel& k) {
    k.result = ENOMEM;
    k.clears_on_failure = true;
  }, false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "The crash kernel that was loaded before is gone too: no crash kernel is loaded now")) << r.err;
}

TEST(LoadErrorTest, BadOptions) {
  struct Case {
    Choices choices;
    const char* error;
  } cases[] = {
      {{.sink = "serial"}, "--sink serial: the image does not know this sink (uart, virtio-blk, virtio-blk@ADDR"},
      {{.sink = "virtio-blk@a003e00"}, "--sink virtio-blk@a003e00: the image does not know this sink"},
      {{.sink = "uart extra"}, "--sink uart extra: the image does not know this sink"},
      {{.target = "mbr:1"}, "--target mbr:1 is for a disk: it needs a block sink such as --sink virtio-blk"},
      {{.sink = "virtio-blk", .target = "mbr:9"}, "--target mbr:9: "},
      {{.sink = "virtio-blk", .target = "gpt-name:two words"}, "--target gpt-name:two words: "},
      {{.sink = "virtio-blk"}, "--sink virtio-blk needs --target: where on the device the dump goes. There is no default"},
      {{.sink = "sd@0x3f202000"}, "--sink sd@0x3f202000 needs --target"},
      {{.sink = "virtio-blk", .target = "disk"}, "--target disk overwrites the whole device (virtio-blk)"},
      {{.confirm_whole_device = true, .sink = "virtio-blk", .target = "mbr:1"},
       "--confirm-whole-device confirms --target disk, which is not given (target: mbr:1)"},
      {{.after = "explode"}, "--after explode: the image knows poweroff, reboot and halt"},
      {{.append = "quiet salvage.bogus=1"}, "--append salvage.bogus=1: the image does not know this option"},
      {{.append = "salvage.after=later"}, "--append salvage.after=later: the image would not accept it"},
      {{.append = "elfcorehdr=0x1000"}, "--append elfcorehdr=0x1000: salvage load sets the elfcorehdr itself"},
  };
  for (const Case& c : cases) {
    auto r = BuildImageOptions(c.choices);
    ASSERT_FALSE(r.ok()) << c.error;
    EXPECT_EQ(r.error().substr(0, std::string(c.error).size()), c.error) << r.error();
  }
  auto good = BuildImageOptions({.sink = "virtio-blk", .target = "extents:2048+4096,10000+512", .after = "halt"});
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good->words, "salvage.sink=virtio-blk salvage.target=extents:2048+4096,10000+512 salvage.after=halt");
  EXPECT_FALSE(good->reset_on_stop);
  auto whole = BuildImageOptions({.confirm_whole_device = true, .sink = "sd", .target = "disk"});
  ASSERT_TRUE(whole.ok()) << whole.error();
  EXPECT_EQ(whole->words, "salvage.sink=sd salvage.target=disk salvage.confirm=whole-disk salvage.after=poweroff");
  auto plain = BuildImageOptions({});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->words, "salvage.sink=uart salvage.after=poweroff");
}

TEST(LoadErrorTest, UseSalvageZeroAndOutWithoutDryRun) {
  Scratch root("proc-arm64-virt");
  const LoadRun off = Arm64(root, [](LoadSettings& s, FakeKernel&) { s.choices.enabled = false; }, false);
  EXPECT_EQ(off.rc, 0);
  EXPECT_TRUE(Has(off.out, "USE_SALVAGE=0")) << off.out;
  EXPECT_TRUE(off.kernel.calls.empty());
  const LoadRun out = Arm64(root, [&](LoadSettings& s, FakeKernel&) { s.out = root.At("/out"); }, false);
  EXPECT_EQ(out.rc, 2);
}

TEST(LoadErrorTest, ArchitectureRequiredUnderRootOnAWorkstation) {
  if (BuildArch()) GTEST_SKIP() << "this build has an architecture of its own";
  Scratch root("proc-arm64-virt");
  const LoadRun r = Arm64(root, [](LoadSettings& s, FakeKernel&) { s.arch.clear(); });
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "with --root, say which architecture the tree is from: --arch aarch64, arm or riscv64")) << r.err;
  // Live: from uname.
  const LoadRun x86 = Arm64(Scratch("proc-arm64-virt"), [](LoadSettings& s, FakeKernel& k) {
    s.arch.clear();
    s.root.clear();
    k.machine = "x86_64";
  });
  EXPECT_TRUE(Has(x86.err, "this kernel's architecture (uname -m: x86_64) is not one salvage has an image for")) << x86.err;
}

// ---- status and unload ----------------------------------------------------------------------

LoadState StateAt(int64_t t, const std::string& boot_id = "") {
  LoadState s;
  s.loaded_at = t;
  s.boot_id = boot_id;
  s.options = "salvage.sink=uart salvage.after=reboot";
  s.image = "/usr/lib/salvage/salvage-aarch64.img";
  return s;
}

struct StatusRun {
  int rc;
  std::string out, err;
};

StatusRun Status(const Scratch& root) {
  Capture out, err;
  const int rc = RunStatus(root.path(), out.file(), err.file());
  return {rc, out.text(), err.text()};
}

TEST(StatusTest, FixtureTreesLoadedOrNotWithAndWithoutStateFile) {
  Scratch root("proc-arm64-virt");
  StatusRun r = Status(root);
  EXPECT_EQ(r.rc, kExitNotLoaded);
  EXPECT_EQ(r.out, "not loaded\nreservation: 0x7b000000-0x7effffff (64 MiB)\n");
  EXPECT_EQ(r.err, "");

  root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
  r = Status(root);
  EXPECT_EQ(r.rc, kExitNotLoaded);
  EXPECT_EQ(r.out.substr(0, 43), "loaded: another crash kernel (not salvage)\n");

  ASSERT_TRUE(WriteStateFile(StatePath(root.path()), StateAt(1700000000)).ok());
  r = Status(root);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "loaded: salvage (options salvage.sink=uart salvage.after=reboot) since 2023-11-14 22:13:20 UTC\n"
            "image: /usr/lib/salvage/salvage-aarch64.img\n"
            "reservation: 0x7b000000-0x7effffff (64 MiB)\n");

  root.Write("/sys/kernel/kexec_crash_loaded", "0\n");
  r = Status(root);
  EXPECT_EQ(r.rc, kExitNotLoaded);
  EXPECT_TRUE(Has(r.out, "not loaded\nnote: " + StatePath(root.path()) +
                             " says salvage was loaded at 2023-11-14 22:13:20 UTC; something unloaded it since\n"))
      << r.out;
}

TEST(StatusTest, StateFromAnEarlierBootIsIgnored) {
  Scratch root("proc-riscv64-virt");
  root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
  root.Write("/proc/sys/kernel/random/boot_id", "11111111-2222-3333-4444-555555555555\n");
  ASSERT_TRUE(WriteStateFile(StatePath(root.path()), StateAt(1700000000, "99999999-2222-3333-4444-555555555555")).ok());
  StatusRun r = Status(root);
  EXPECT_EQ(r.rc, kExitNotLoaded);
  EXPECT_TRUE(Has(r.err, "is from an earlier boot; ignoring it")) << r.err;
  EXPECT_TRUE(Has(r.out, "loaded: another crash kernel (not salvage)")) << r.out;
  ASSERT_TRUE(WriteStateFile(StatePath(root.path()), StateAt(1700000000, "11111111-2222-3333-4444-555555555555")).ok());
  EXPECT_EQ(Status(root).rc, 0);
}

TEST(StatusTest, NoReservationAndNoKdumpSupport) {
  Scratch root("proc-armhf-virt");
  root.Write("/proc/iomem", WithoutLine(root.Read("/proc/iomem"), "Crash kernel"));
  StatusRun r = Status(root);
  EXPECT_TRUE(Has(r.out, "reservation: none (add crashkernel= to the kernel command line")) << r.out;
  std::filesystem::remove(root.At("/sys/kernel/kexec_crash_loaded"));
  r = Status(root);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "kexec_crash_loaded does not exist: the kernel was built without CONFIG_CRASH_DUMP")) << r.err;
}

TEST(UnloadTest, FixtureTrees) {
  // Nothing loaded; a stale state file goes.
  {
    Scratch root("proc-arm64-virt");
    ASSERT_TRUE(WriteStateFile(StatePath(root.path()), StateAt(1700000000)).ok());
    FakeKernel k(root.path());
    Capture out, err;
    EXPECT_EQ(RunUnload(root.path(), false, k, out.file(), err.file()), 0) << err.text();
    EXPECT_EQ(out.text(), "salvage unload: no crash kernel was loaded (removed salvage's stale state file)\n");
    EXPECT_FALSE(root.Has("/run/salvage/loaded"));
    ASSERT_EQ(k.calls.size(), 1u);
  }
  // Another crash kernel.
  {
    Scratch root("proc-arm64-virt");
    root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
    FakeKernel k(root.path());
    Capture out, err;
    EXPECT_EQ(RunUnload(root.path(), false, k, out.file(), err.file()), 0) << err.text();
    EXPECT_EQ(out.text(), "salvage unload: unloaded a crash kernel that salvage did not load; no crash kernel is loaded now\n");
    EXPECT_EQ(root.Read("/sys/kernel/kexec_crash_loaded"), "0\n");
  }
  // Dry run: says, changes nothing.
  {
    Scratch root("proc-arm64-virt");
    root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
    ASSERT_TRUE(WriteStateFile(StatePath(root.path()), StateAt(1700000000)).ok());
    FakeKernel k(root.path());
    k.root_user = false;
    Capture out, err;
    EXPECT_EQ(RunUnload(root.path(), true, k, out.file(), err.file()), 0) << err.text();
    EXPECT_EQ(out.text(), "salvage unload: dry run: would unload salvage (loaded at 2023-11-14 22:13:20 UTC)\n");
    EXPECT_TRUE(k.calls.empty());
    EXPECT_TRUE(root.Has("/run/salvage/loaded"));
  }
  // The kernel refuses.
  {
    Scratch root("proc-arm64-virt");
    root.Write("/sys/kernel/kexec_crash_loaded", "1\n");
    FakeKernel k(root.path());
    k.result = EPERM;
    Capture out, err;
    EXPECT_EQ(RunUnload(root.path(), false, k, out.file(), err.file()), 1);
    EXPECT_TRUE(Has(err.text(), "salvage unload: error: kexec_load (unload) failed (Operation not permitted): refused"))
        << err.text();
  }
}

}  // namespace
}  // namespace salvage::loader::load
