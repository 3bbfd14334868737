// The whole capture on the host (runtime/capture): a DTB built here, a synthetic
// elfcorehdr as kexec-tools writes it, the crashed machine's memory as fake old memory
// at the physical addresses the DTB describes (arch/host's fake arch maps them 1:1, as
// the image's MMU does), a fake console for the UART sink and a RAM disk for the block
// emit. Every stream is decoded with the host's own decoder and compared with the memory,
// page by page: the normal path, the fallback without a header, a damaged header, a
// header sized from its ELF header (elfcorehdr=ADDR), and a target too small.
#include "capture/capture.h"

#include <sys/mman.h>

#include <elf.h>
#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <salvage/arch/fake.h>
#include <salvage/stream/decoder.h>

#include "capture/block-emit.h"
#include "fakes/fake-console.h"
#include "runtime/blockdump/ram-disk.h"
#include "runtime/elfcore/core-builder.h"

namespace salvage::capture {
namespace {

using elfcore::test::AppendNote;
using elfcore::test::Bytes;
using elfcore::test::CoreBuilder;

// The crashed machine: 8 MiB of RAM at kBase (a host address that is free in a 64-bit
// process, below the fake arch's identity limit and outside ASan's shadow).
constexpr uint64_t kBase = 0x5a0000000000;
constexpr uint64_t kRam = 8 << 20;
constexpr uint64_t kPage = 4096;
// The crash reservation (linux,usable-memory-range): salvage's image at its start, the
// elfcorehdr in its last page, as `salvage load` places them.
constexpr PhysRange kReservation{kBase + (6 << 20), 1 << 20};
constexpr PhysRange kImage{kReservation.base, 256 << 10};
constexpr uint64_t kHeaderAt = kReservation.base + kReservation.size - kPage;
// Crash notes in the crashed kernel's memory.
constexpr uint64_t kNotesAt = kBase + (1 << 20);
constexpr uint64_t kVmcoreinfoAt = kNotesAt + kPage;
// Virtual addresses: the linear map, and the kernel image's own mapping.
constexpr uint64_t kLinear = 0xffff000000000000 - kBase;
constexpr uint64_t kTextPhys = kBase + (2 << 20);
constexpr uint64_t kTextVirt = 0xffff800080000000;

uint8_t* Old(uint64_t phys) { return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(phys)); }

// A DTB as `salvage load` edits it: /memory, and /chosen with the reservation, the
// elfcorehdr (when given) and the bootargs.
std::vector<uint8_t> MakeDtb(const std::string& bootargs, std::optional<PhysRange> elfcorehdr) {
  std::vector<uint8_t> b(8192);
  auto pair = [](uint64_t a, uint64_t s) {
    const uint64_t be[2] = {__builtin_bswap64(a), __builtin_bswap64(s)};
    std::vector<uint8_t> v(16);
    std::memcpy(v.data(), be, 16);
    return v;
  };
  void* f = b.data();
  EXPECT_EQ(fdt_create(f, static_cast<int>(b.size())), 0);
  EXPECT_EQ(fdt_finish_reservemap(f), 0);
  EXPECT_EQ(fdt_begin_node(f, ""), 0);
  EXPECT_EQ(fdt_property_u32(f, "#address-cells", 2), 0);
  EXPECT_EQ(fdt_property_u32(f, "#size-cells", 2), 0);
  EXPECT_EQ(fdt_begin_node(f, "chosen"), 0);
  EXPECT_EQ(fdt_property_string(f, "bootargs", bootargs.c_str()), 0);
  const std::vector<uint8_t> usable = pair(kReservation.base, kReservation.size);
  EXPECT_EQ(fdt_property(f, "linux,usable-memory-range", usable.data(), 16), 0);
  if (elfcorehdr) {
    const std::vector<uint8_t> h = pair(elfcorehdr->base, elfcorehdr->size);
    EXPECT_EQ(fdt_property(f, "linux,elfcorehdr", h.data(), 16), 0);
  }
  EXPECT_EQ(fdt_end_node(f), 0);
  EXPECT_EQ(fdt_begin_node(f, "memory@5a0000000000"), 0);
  EXPECT_EQ(fdt_property_string(f, "device_type", "memory"), 0);
  const std::vector<uint8_t> reg = pair(kBase, kRam);
  EXPECT_EQ(fdt_property(f, "reg", reg.data(), 16), 0);
  EXPECT_EQ(fdt_end_node(f), 0);
  EXPECT_EQ(fdt_end_node(f), 0);
  EXPECT_EQ(fdt_finish(f), 0);
  b.resize(fdt_totalsize(f));
  return b;
}

// What the decoder saw.
struct Decoded : stream::DecoderEvents {
  std::vector<stream::DecodedHeader> headers;
  std::map<uint64_t, Bytes> pages;
  uint64_t lost = 0;
  stream::Verdict verdict;
  void OnHeader(const stream::DecodedHeader& h) override { headers.push_back(h); }
  void OnPage(uint64_t phys, std::span<const uint8_t> data) override { pages[phys] = Bytes(data.begin(), data.end()); }
  void OnLost(const stream::LostPages& l) override { lost += l.pages; }
  void OnStreamEnd(const stream::Verdict& v) override { verdict = v; }
};

Decoded Decode(std::span<const uint8_t> bytes) {
  Decoded d;
  stream::Decoder decoder(d);
  decoder.Feed(bytes);
  decoder.Finish();
  return d;
}

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    arch::fake::Reset();
    testing::ClearConsole();
    void* p = mmap(Old(kBase), kRam, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ASSERT_EQ(p, Old(kBase)) << "cannot place the fake old memory at 0x" << std::hex << kBase;
    // Pages of noise LZ4 cannot shrink, every fifth one zero.
    uint64_t x = 0x9e3779b97f4a7c15;
    for (uint64_t page = 0; page < kRam / kPage; ++page) {
      uint8_t* at = Old(kBase + page * kPage);
      if (page % 5 == 3) continue;
      for (uint64_t i = 0; i < kPage; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::memcpy(at + i, &x, 8);
      }
    }
    // The crash notes: one CPU's NT_PRSTATUS, and VMCOREINFO.
    AppendNote(prstatus_, "CORE", NT_PRSTATUS, Bytes(392, 0xa5));
    const std::string info = "OSRELEASE=6.1.0-host-test\nPAGESIZE=4096\n";
    AppendNote(vmcoreinfo_, "VMCOREINFO", 0, Bytes(info.begin(), info.end()));
    std::memcpy(Old(kNotesAt), prstatus_.data(), prstatus_.size());
    std::memcpy(Old(kVmcoreinfoAt), vmcoreinfo_.data(), vmcoreinfo_.size());
    // kexec-tools' arm64 header: notes, the kernel text, RAM minus the reservation.
    CoreBuilder b(64, EM_AARCH64);
    b.Note(kNotesAt, prstatus_.size()).Note(kVmcoreinfoAt, vmcoreinfo_.size());
    b.Load(kTextPhys, 1 << 20, kTextVirt);
    b.Load(kBase, kReservation.base - kBase, kLinear + kBase);
    b.Load(kReservation.base + kReservation.size, kBase + kRam - (kReservation.base + kReservation.size),
           kLinear + kReservation.base + kReservation.size);
    header_ = b.Build();
    std::memcpy(Old(kHeaderAt), header_.data(), header_.size());
  }
  void TearDown() override { munmap(Old(kBase), kRam); }

  // Keeps `dtb`, opens it and fills the capture's input as SalvageMain does.
  CaptureInput Input(std::vector<uint8_t> dtb, const std::string& bootargs) {
    dtb_ = std::move(dtb);
    Result<dtb::Dtb> opened = dtb::Dtb::Open(dtb_.data(), dtb_.size());
    EXPECT_TRUE(opened.ok()) << opened.status().what();
    tree_ = *opened;
    options_ = ParseOptions(bootargs);
    CaptureInput in;
    in.tree = &tree_;
    in.memory = std::span<const PhysRange>(&memory_, 1);
    in.image = kImage;
    in.dtb = PhysRange{kImage.base + kImage.size, dtb_.size()};
    in.options = &options_;
    if (Result<std::optional<PhysRange>> hdr = tree_.ChosenElfCoreHdr(); hdr.ok() && hdr->has_value()) {
      chosen_elfcorehdr_ = **hdr;
      in.chosen_elfcorehdr = &chosen_elfcorehdr_;
    }
    return in;
  }

  // Every page outside the reservation arrived and equals old memory; nothing inside
  // it was sent.
  void ExpectAllRamOutsideTheReservation(const Decoded& d) {
    uint64_t want = 0;
    for (uint64_t a = kBase; a < kBase + kRam; a += kPage) {
      if (kReservation.Contains(a)) {
        EXPECT_EQ(d.pages.count(a), 0u) << "a page of the reservation was dumped: 0x" << std::hex << a;
        continue;
      }
      ++want;
      auto it = d.pages.find(a);
      ASSERT_NE(it, d.pages.end()) << "page 0x" << std::hex << a << " not dumped";
      ASSERT_EQ(std::memcmp(it->second.data(), Old(a), kPage), 0) << "page 0x" << std::hex << a << " differs";
    }
    EXPECT_EQ(d.pages.size(), want);
  }

  PhysRange memory_{kBase, kRam};
  std::vector<uint8_t> dtb_;
  Bytes prstatus_, vmcoreinfo_, header_;
  dtb::Dtb tree_;
  PhysRange chosen_elfcorehdr_;
  Options options_;
};

TEST_F(CaptureTest, ElfcorehdrToTheConsole) {
  const std::string bootargs = "console=ttyAMA0 salvage.sink=uart";
  const std::vector<uint8_t> dtb = MakeDtb(bootargs, PhysRange{kHeaderAt, header_.size()});
  ASSERT_TRUE(Capture(Input(dtb, bootargs)).ok()) << testing::ConsoleText();
  const std::string text = testing::ConsoleText();
  EXPECT_NE(text.find("salvage: elfcorehdr from /chosen/linux,elfcorehdr"), std::string::npos) << text;
  EXPECT_NE(text.find("PT_LOAD shows memory an earlier PT_LOAD also shows"), std::string::npos) << text;
  EXPECT_EQ(text.find("FALLBACK"), std::string::npos);
  EXPECT_NE(text.find("salvage: dump complete"), std::string::npos);

  const Decoded d = Decode(testing::ConsoleBytes());
  ASSERT_EQ(d.headers.size(), 1u);
  const stream::DecodedHeader& h = d.headers[0];
  EXPECT_EQ(h.e_machine, EM_AARCH64);
  ASSERT_EQ(h.notes.size(), 2u);
  EXPECT_EQ(h.notes[0], prstatus_);
  EXPECT_EQ(h.notes[1], vmcoreinfo_);
  ASSERT_EQ(h.segments.size(), 3u);  // the kernel text view kept
  EXPECT_EQ(h.segments[0].vaddr, kTextVirt);
  EXPECT_NE(h.options.find("salvage.sink=uart"), std::string::npos) << h.options;
  EXPECT_TRUE(d.verdict.complete && d.verdict.intact) << d.verdict.problems;
  ExpectAllRamOutsideTheReservation(d);
}

TEST_F(CaptureTest, NoElfcorehdrFallsBackToAllMemoryMinusTheReservation) {
  const std::string bootargs = "salvage.sink=uart";
  ASSERT_TRUE(Capture(Input(MakeDtb(bootargs, std::nullopt), bootargs)).ok());
  const std::string text = testing::ConsoleText();
  EXPECT_NE(text.find("salvage: no elfcorehdr: neither"), std::string::npos) << text;
  EXPECT_NE(text.find("salvage: FALLBACK"), std::string::npos) << text;
  const Decoded d = Decode(testing::ConsoleBytes());
  ASSERT_EQ(d.headers.size(), 1u);
  EXPECT_TRUE(d.headers[0].notes.empty());
  EXPECT_TRUE(d.verdict.complete && d.verdict.intact);
  ExpectAllRamOutsideTheReservation(d);
}

TEST_F(CaptureTest, DamagedElfcorehdrFallsBackAndSaysWhy) {
  Old(kHeaderAt)[1] = 'X';  // no ELF magic
  const std::string bootargs = "salvage.sink=uart";
  ASSERT_TRUE(Capture(Input(MakeDtb(bootargs, PhysRange{kHeaderAt, header_.size()}), bootargs)).ok());
  const std::string text = testing::ConsoleText();
  EXPECT_NE(text.find("salvage: elfcorehdr unusable: elfcorehdr: no ELF magic"), std::string::npos) << text;
  EXPECT_NE(text.find("salvage: FALLBACK"), std::string::npos) << text;
  const Decoded d = Decode(testing::ConsoleBytes());
  EXPECT_TRUE(d.verdict.complete && d.verdict.intact);
  ExpectAllRamOutsideTheReservation(d);
}

TEST_F(CaptureTest, ElfcorehdrAddressWithoutSizeIsSizedFromItsElfHeader) {
  char args[96];
  std::snprintf(args, sizeof(args), "elfcorehdr=0x%llx salvage.sink=uart", static_cast<unsigned long long>(kHeaderAt));
  ASSERT_TRUE(Capture(Input(MakeDtb(args, std::nullopt), args)).ok());
  const std::string text = testing::ConsoleText();
  char want[96];
  std::snprintf(want, sizeof(want), "elfcorehdr from bootargs elfcorehdr=: 0x%llx size 0x%zx",
                static_cast<unsigned long long>(kHeaderAt), header_.size());
  EXPECT_NE(text.find(want), std::string::npos) << text;
  const Decoded d = Decode(testing::ConsoleBytes());
  ASSERT_EQ(d.headers.size(), 1u);
  EXPECT_EQ(d.headers[0].notes.size(), 2u);
  ExpectAllRamOutsideTheReservation(d);
}

TEST_F(CaptureTest, BlockSinkWithoutATargetIsRefusedBeforeAnyDevice) {
  const std::string bootargs = "salvage.sink=virtio-blk";
  const Status s = Capture(Input(MakeDtb(bootargs, PhysRange{kHeaderAt, header_.size()}), bootargs));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(testing::ConsoleText().find("salvage: refused:"), std::string::npos) << testing::ConsoleText();
  EXPECT_EQ(testing::ConsoleText().find("elfcorehdr from"), std::string::npos) << "planned before refusing";
}

TEST_F(CaptureTest, TargetTooSmallKeepsWhatFitsInAddressOrder) {
  const std::string bootargs = "salvage.sink=virtio-blk salvage.target=disk salvage.confirm=whole-disk";
  const CaptureInput in = Input(MakeDtb(bootargs, PhysRange{kHeaderAt, header_.size()}), bootargs);
  Result<const CapturePlan*> plan = PlanCapture(in);
  ASSERT_TRUE(plan.ok()) << plan.status().what();
  EXPECT_EQ((*plan)->total, kRam - kReservation.size);
  blockdump::test::RamDisk disk(2048);  // 1 MiB: a seventh of the stream
  ASSERT_TRUE(EmitToBlockDevice(disk, in, **plan).ok()) << testing::ConsoleText();
  EXPECT_NE(testing::ConsoleText().find("salvage: TRUNCATED: the target holds"), std::string::npos)
      << testing::ConsoleText();

  const Decoded d = Decode(disk.data);
  ASSERT_EQ(d.headers.size(), 1u);
  EXPECT_FALSE(d.verdict.complete);
  EXPECT_TRUE(d.verdict.problems & stream::kProblemStoppedEarly) << d.verdict.problems;
  ASSERT_GT(d.pages.size(), 100u);
  // What was kept is the beginning, in address order, byte for byte.
  uint64_t a = kBase;
  for (const auto& [phys, bytes] : d.pages) {
    EXPECT_EQ(phys, a);
    ASSERT_EQ(std::memcmp(bytes.data(), Old(phys), kPage), 0) << std::hex << phys;
    a += kPage;
  }
  EXPECT_EQ(d.verdict.not_sent_pages, (kRam - kReservation.size) / kPage - d.pages.size());
}

}  // namespace
}  // namespace salvage::capture
