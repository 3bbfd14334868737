// Writes the binary seed inputs of the fuzz targets (host-tests/fuzz.cmake) with the
// project's own encoder, block sink and partition-table layouts, so every seed is an
// input salvage really produces or reads: dump streams with every record type and
// encoding, disk images with MBR, GPT (512- and 4096-byte sectors) and extents holding
// complete, truncated and interrupted dumps, and extent maps of the SD dump file.
// Fuzz-only; run by tools/fuzz-seeds.py, which adds the seeds made by other programs
// (QEMU's DTBs, salvage load's elfcorehdrs, vmcores from salvage convert).
//
// Usage: salvage-fuzz-seeds OUT_DIR     (writes OUT_DIR/<target>/<name>)
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <salvage/blockdump/disk-format.h>
#include <salvage/blockdump/sink.h>
#include <salvage/blockdump/target.h>
#include <salvage/stream/encoder.h>
#include <salvage/stream/format.h>
#include <salvage/stream/lz4-compressor.h>

#include "runtime/blockdump/partition-builder.h"

namespace {

using salvage::PhysAddr;
using salvage::PhysRange;
using salvage::Status;
namespace stream = salvage::stream;
namespace bd = salvage::blockdump;
using Bytes = std::vector<uint8_t>;

std::string g_out;

void Die(const std::string& what) {
  std::fprintf(stderr, "salvage-fuzz-seeds: %s\n", what.c_str());
  std::exit(1);
}

void Save(const std::string& target, const std::string& name, const Bytes& b) {
  const std::string dir = g_out + "/" + target;
  mkdir(g_out.c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(b.data(), 1, b.size(), f) != b.size() || std::fclose(f) != 0) Die("cannot write " + path);
}

void Append(Bytes* out, std::string_view s) { out->insert(out->end(), s.begin(), s.end()); }

// ---- streams ---------------------------------------------------------------------------

struct VectorSink {
  Bytes* out;
  Status Write(std::span<const uint8_t> b) {
    out->insert(out->end(), b.begin(), b.end());
    return Status::Ok();
  }
};

class Lz4 {
 public:
  Lz4() : lz4_(state_) {}
  size_t Compress(std::span<const uint8_t> in, std::span<uint8_t> out) { return lz4_.Compress(in, out); }

 private:
  alignas(8) uint8_t state_[stream::kLz4StateSize] = {};
  stream::Lz4Compressor lz4_;
};

// One ELF note as the kernel lays it out (names and descs padded to 4 bytes).
void Note(Bytes* out, std::string_view name, uint32_t type, std::span<const uint8_t> desc) {
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  u32(static_cast<uint32_t>(name.size() + 1));
  u32(static_cast<uint32_t>(desc.size()));
  u32(type);
  Append(out, name);
  out->push_back(0);
  while (out->size() % 4) out->push_back(0);
  out->insert(out->end(), desc.begin(), desc.end());
  while (out->size() % 4) out->push_back(0);
}

Bytes CpuNotes(int cpus, size_t prstatus_bytes) {
  Bytes n;
  for (int c = 0; c < cpus; ++c) {
    Bytes desc(prstatus_bytes);
    for (size_t i = 0; i < desc.size(); ++i) desc[i] = static_cast<uint8_t>(i * 7 + c);
    Note(&n, "CORE", 1 /* NT_PRSTATUS */, desc);
  }
  return n;
}

Bytes VmcoreinfoNote(std::string_view osrelease, uint32_t page_size) {
  const std::string text = "OSRELEASE=" + std::string(osrelease) + "\nPAGESIZE=" + std::to_string(page_size) +
                           "\nSYMBOL(swapper_pg_dir)=ffff800081b1a000\nOFFSET(list_head.next)=0\n"
                           "NUMBER(VA_BITS)=48\nKERNELOFFSET=0\nCRASHTIME=1733500000\n";
  Bytes n;
  Note(&n, "VMCOREINFO", 0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return n;
}

enum class Page { kZero, kText, kRandom, kPattern, kSkip };

Bytes PageBytes(Page kind, uint32_t page_size, std::mt19937_64& rng) {
  Bytes p(page_size, 0);
  switch (kind) {
    case Page::kZero:
    case Page::kSkip: break;
    case Page::kText: {
      static const char kLog[] = "[    1.234567] Kernel panic - not syncing: sysrq triggered crash\n";
      for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(kLog[i % (sizeof(kLog) - 1)]);
      break;
    }
    case Page::kRandom:
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      break;
    case Page::kPattern:
      for (size_t i = 0; i + 8 <= p.size(); i += 8) {
        const uint64_t v = 0xffff000008000000ull + i * 0x40;
        std::memcpy(&p[i], &v, 8);
      }
      break;
  }
  return p;
}

struct StreamSpec {
  uint16_t machine = stream::kEmAarch64;
  uint8_t elf_class = stream::kElfClass64;
  uint32_t page_size = 4096;
  uint32_t flags = stream::kHeaderFromElfCoreHdr | stream::kHeaderLz4;
  std::vector<PhysRange> ranges;
  std::vector<stream::LoadSegment> segments;
  std::vector<Bytes> notes;
  std::string options = "salvage.sink=uart";
  std::vector<Page> pages;        // one per page of the ranges, in order; fewer: stop there
  bool trailer = true;
  bool lz4 = true;
};

// The stream the image would send for `s` (nothing around it).
Bytes Encode(const StreamSpec& s, stream::Encoder** keep = nullptr) {
  (void)keep;
  Bytes out;
  VectorSink sink{&out};
  Lz4 lz4;
  stream::NoCompression none;
  Bytes scratch(s.page_size);
  std::mt19937_64 rng(s.page_size + s.ranges.size());
  auto run = [&](auto& compressor) {
    stream::Encoder enc(sink, compressor, scratch);
    std::vector<std::span<const uint8_t>> notes;
    for (const Bytes& n : s.notes) notes.emplace_back(n);
    stream::HeaderInfo info;
    info.e_machine = s.machine;
    info.elf_class = s.elf_class;
    info.page_size = s.page_size;
    info.flags = s.flags;
    info.ranges = s.ranges;
    info.segments = s.segments;
    info.notes = notes;
    info.options = s.options;
    if (!enc.WriteHeader(info).ok()) Die("WriteHeader");
    size_t i = 0;
    for (const PhysRange& r : s.ranges) {
      for (uint64_t a = r.base; a < r.base + r.size && i < s.pages.size(); a += s.page_size, ++i) {
        if (s.pages[i] == Page::kSkip) {
          if (!enc.SkipPages(PhysAddr{a}, 1).ok()) Die("SkipPages");
        } else {
          const Bytes p = PageBytes(s.pages[i], s.page_size, rng);
          if (!enc.WritePage(PhysAddr{a}, p).ok()) Die("WritePage");
        }
      }
    }
    if (s.trailer && !enc.WriteTrailer().ok()) Die("WriteTrailer");
  };
  if (s.lz4) {
    run(lz4);
  } else {
    run(none);
  }
  return out;
}

// A record the encoder never sends (a reserved type), with valid CRCs.
Bytes Record(stream::RecordType type, uint32_t tag, std::span<const uint8_t> payload) {
  stream::RecordHeader h;
  h.type = type;
  h.stream_tag = tag;
  h.payload_len = static_cast<uint32_t>(payload.size());
  std::array<uint8_t, stream::kRecordHeaderSize> head{};
  stream::EncodeRecordHeader(h, payload, head);
  Bytes r(head.begin(), head.end());
  r.insert(r.end(), payload.begin(), payload.end());
  return r;
}

StreamSpec Aarch64() {
  StreamSpec s;
  s.ranges = {{0x40000000, 8 * 4096}, {0x48000000, 4 * 4096}};
  s.segments = {{PhysAddr{0x40000000}, 0xffff800080000000ull, 8 * 4096}, {PhysAddr{0x40000000}, 0xffff000000000000ull, 8 * 4096},
                {PhysAddr{0x48000000}, 0xffff000008000000ull, 4 * 4096}};
  s.notes = {CpuNotes(2, 392), VmcoreinfoNote("6.1.0-28-arm64", 4096)};
  s.pages = {Page::kZero, Page::kZero, Page::kText, Page::kPattern, Page::kZero, Page::kRandom, Page::kText, Page::kZero,
             Page::kZero, Page::kText, Page::kZero, Page::kZero};
  return s;
}

StreamSpec Arm32() {
  StreamSpec s;
  s.machine = stream::kEmArm;
  s.elf_class = stream::kElfClass32;
  s.ranges = {{0x60000000, 6 * 4096}};
  s.segments = {{PhysAddr{0x60000000}, 0xc0000000ull, 6 * 4096}};
  s.notes = {CpuNotes(1, 148), VmcoreinfoNote("6.1.0-28-armmp-lpae", 4096)};
  s.options = "salvage.sink=uart salvage.after=reboot";
  s.pages = {Page::kText, Page::kSkip, Page::kSkip, Page::kZero, Page::kPattern, Page::kZero};
  return s;
}

StreamSpec Riscv64k() {
  StreamSpec s;
  s.machine = stream::kEmRiscv;
  s.page_size = 65536;
  s.ranges = {{0x80200000, 3 * 65536}};
  s.notes = {VmcoreinfoNote("6.12.0-riscv64", 65536)};
  s.flags = stream::kHeaderLz4;  // no elfcorehdr: all of /memory
  s.pages = {Page::kText, Page::kZero, Page::kPattern};
  return s;
}

const char kBootReport[] =
    "\r\nsalvage 0.1.0 (git 1a2b3c4d5e, Clang 16.0.6, Release): kdump capture runtime\r\n"
    "salvage: arch aarch64 EL1\r\nsalvage: elfcorehdr 0x405ff000 size 0x238\r\nsalvage: boot report end\r\n";

void Streams() {
  // Whole, as received over a serial line: console text, the stream, the summary.
  Bytes a;
  Append(&a, kBootReport);
  const Bytes a_stream = Encode(Aarch64());
  a.insert(a.end(), a_stream.begin(), a_stream.end());
  Append(&a, "\r\nsalvage: dump complete: 12 pages\r\n");
  Save("stream", "aarch64-lz4-serial", a);
  Save("stream", "aarch64-lz4", a_stream);
  Save("stream", "arm-elf32-skipped", Encode(Arm32()));
  Save("stream", "riscv64-64k-no-elfcorehdr", Encode(Riscv64k()));
  StreamSpec raw = Aarch64();
  raw.lz4 = false;
  raw.flags = stream::kHeaderFromElfCoreHdr;
  raw.options = "salvage.sink=virtio-blk salvage.target=gpt-name:salvage-dump salvage.lz4=off";
  Save("stream", "aarch64-raw", Encode(raw));
  StreamSpec early = Aarch64();
  early.pages.resize(5);
  Save("stream", "stopped-early", Encode(early));
  StreamSpec cut = Arm32();
  cut.trailer = false;
  Save("stream", "no-trailer", Encode(cut));

  // A damaged line: a frame with a flipped byte (record CRC), one sent twice, a header
  // with a flipped byte (header CRC), and the reserved request/resume records.
  Bytes d = Encode(Aarch64());
  const uint32_t tag = salvage::LoadLe32(d.data() + stream::rec::kStreamTag);
  std::vector<size_t> at;  // record starts
  for (size_t i = 0; i + stream::kRecordHeaderSize <= d.size(); ++i) {
    if (stream::HasSync(std::span<const uint8_t>(d).subspan(i))) at.push_back(i);
  }
  if (at.size() < 6) Die("too few records");
  Bytes damaged(d.begin(), d.begin() + static_cast<long>(at[3]));
  const Bytes dup(d.begin() + static_cast<long>(at[2]), d.begin() + static_cast<long>(at[3]));
  damaged.insert(damaged.end(), dup.begin(), dup.end());
  const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const Bytes req = Record(stream::RecordType::kReservedRequest, tag, ping);
  const Bytes res = Record(stream::RecordType::kReservedResume, tag, {});
  damaged.insert(damaged.end(), req.begin(), req.end());
  damaged.insert(damaged.end(), res.begin(), res.end());
  Bytes rest(d.begin() + static_cast<long>(at[3]), d.end());
  rest[stream::kRecordHeaderSize + 5] ^= 0x40;  // inside record 3's payload, if any; else the next header
  damaged.insert(damaged.end(), rest.begin(), rest.end());
  Save("stream", "damaged-line", damaged);
  Bytes no_header(d.begin() + static_cast<long>(at[1]), d.end());
  Bytes text;
  Append(&text, kBootReport);
  no_header.insert(no_header.begin(), text.begin(), text.end());
  Save("stream", "header-lost", no_header);
}

// ---- disks -----------------------------------------------------------------------------

// A block device in memory that completes every write at once.
struct MemDisk {
  Bytes bytes;
  uint32_t ss = 512;
  uint32_t next_ticket = 1;
  static const char* Name() { return "seed-disk"; }
  uint32_t SectorSize() const { return ss; }
  uint64_t SectorCount() const { return bytes.size() / ss; }
  uint32_t MaxTransfer() const { return 64 * 1024; }
  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    if ((lba + dst.size() / ss) * ss > bytes.size()) return {salvage::Error::kOutOfRange, "seed-disk: read past the end"};
    std::memcpy(dst.data(), bytes.data() + lba * ss, dst.size());
    return Status::Ok();
  }
  salvage::Result<uint32_t> StartWrite(uint64_t lba, std::span<const uint8_t> src) {
    if ((lba + src.size() / ss) * ss > bytes.size()) return Status{salvage::Error::kOutOfRange, "seed-disk: write past the end"};
    std::memcpy(bytes.data() + lba * ss, src.data(), src.size());
    return next_ticket++;
  }
  Status Wait(uint32_t) { return Status::Ok(); }
  Status WaitAll() { return Status::Ok(); }
  Status Flush() { return Status::Ok(); }
};

enum class Ending { kComplete, kInterrupted };

// Writes a dump of `spec` with the block sink into the area `target` names on `disk`, as
// the image's capture loop does (RoomForPage before each page; a full target ends the
// stream early and is marked truncated).
void Dump(MemDisk& disk, std::string_view target, const StreamSpec& spec, Ending ending) {
  auto parsed = bd::ParseTarget(target);
  if (!parsed.ok()) Die("ParseTarget " + std::string(target));
  Bytes scratch(2 * disk.ss);
  auto extents = bd::ResolveTarget(disk, *parsed, scratch);
  if (!extents.ok()) Die("ResolveTarget " + std::string(target) + ": " + extents.status().what());
  const uint32_t buffer = 4096;  // small: an interrupted dump has written something
  uint8_t* mem = static_cast<uint8_t*>(std::aligned_alloc(4096, bd::BlockSinkMemoryBytes(2, buffer)));
  {
    bd::BlockSink sink(disk, *extents, std::span<uint8_t>(mem, bd::BlockSinkMemoryBytes(2, buffer)), buffer);
    if (!sink.Begin().ok()) Die("Begin");
    Lz4 lz4;
    Bytes page_scratch(spec.page_size);
    stream::Encoder enc(sink, lz4, page_scratch);
    std::vector<std::span<const uint8_t>> notes;
    for (const Bytes& n : spec.notes) notes.emplace_back(n);
    stream::HeaderInfo info;
    info.e_machine = spec.machine;
    info.elf_class = spec.elf_class;
    info.page_size = spec.page_size;
    info.flags = spec.flags;
    info.ranges = spec.ranges;
    info.segments = spec.segments;
    info.notes = notes;
    info.options = spec.options;
    if (!enc.WriteHeader(info).ok()) Die("WriteHeader");
    std::mt19937_64 rng(7);
    bool full = false;
    size_t i = 0;
    for (const PhysRange& r : spec.ranges) {
      for (uint64_t a = r.base; a < r.base + r.size && i < spec.pages.size() && !full; a += spec.page_size, ++i) {
        if (!sink.RoomForPage(spec.page_size)) {
          full = true;
          break;
        }
        const Bytes p = PageBytes(spec.pages[i], spec.page_size, rng);
        if (!enc.WritePage(PhysAddr{a}, p).ok()) Die("WritePage");
      }
    }
    if (ending == Ending::kComplete) {
      if (!enc.WriteTrailer().ok()) Die("WriteTrailer");
      if (!sink.Finish(full).ok()) Die("Finish");
    } else {
      // Power lost mid-way: what reached the device stays, nothing more.
      (void)enc.WriteTrailer();
    }
  }
  std::free(mem);
}

StreamSpec DiskStream() {
  StreamSpec s = Aarch64();
  s.options = "salvage.sink=virtio-blk salvage.target=gpt-name:salvage-dump";
  s.pages = {Page::kZero, Page::kText, Page::kZero, Page::kPattern, Page::kZero, Page::kZero, Page::kText, Page::kZero,
             Page::kZero, Page::kText, Page::kZero, Page::kZero};
  return s;
}

// extract's input: byte 0 (extract-fuzz.cc kTargets index | sector size << 3), the disk.
void SaveExtract(const std::string& name, uint8_t choice, const MemDisk& d) {
  Bytes b{choice};
  b.insert(b.end(), d.bytes.begin(), d.bytes.end());
  Save("extract", name, b);
}

// blockdump's input: byte 0 (bit 0: 4096-byte sectors), a target of up to 64 bytes
// (NUL-padded), the disk.
void SaveBlockdump(const std::string& name, std::string_view target, const MemDisk& d) {
  Bytes b{static_cast<uint8_t>(d.ss == 4096 ? 1 : 0)};
  Bytes t(64, 0);
  std::memcpy(t.data(), target.data(), std::min<size_t>(target.size(), 64));
  b.insert(b.end(), t.begin(), t.end());
  b.insert(b.end(), d.bytes.begin(), d.bytes.end());
  Save("blockdump", name, b);
}

namespace pt = salvage::blockdump::test;

void Disks() {
  const StreamSpec s = DiskStream();
  {  // The whole source is the dump area (a partition, or the dump file).
    MemDisk d;
    d.bytes.assign(64 * 512, 0);
    Dump(d, "disk", s, Ending::kComplete);
    SaveExtract("area-complete", 0, d);
    SaveBlockdump("area-complete", "disk", d);
    MemDisk small;
    small.bytes.assign(26 * 512, 0);  // too small for every page: truncated
    Dump(small, "disk", s, Ending::kComplete);
    SaveExtract("area-truncated", 1, small);
    MemDisk cut;
    cut.bytes.assign(64 * 512, 0);
    Dump(cut, "disk", s, Ending::kInterrupted);
    SaveExtract("area-interrupted", 0, cut);
    SaveBlockdump("area-interrupted", "disk", cut);
  }
  {  // MBR: partition 1 and 2.
    MemDisk d;
    d.bytes.assign(160 * 512, 0);
    pt::WriteMbr(d.bytes, {pt::MbrPart{0x83, 8, 64}, pt::MbrPart{0xda, 80, 72}, pt::MbrPart{}, pt::MbrPart{}});
    Dump(d, "mbr:1", s, Ending::kComplete);
    SaveExtract("mbr1-complete", 2, d);
    SaveBlockdump("mbr1-complete", "mbr:1", d);
    MemDisk d2 = d;
    Dump(d2, "mbr:2", s, Ending::kComplete);
    SaveExtract("mbr2-complete", 3, d2);
    SaveBlockdump("mbr2-complete", "mbr:2", d2);
  }
  {  // GPT, 512-byte sectors: name and unique GUID.
    MemDisk d;
    d.bytes.assign(160 * 512, 0);
    pt::WriteGpt(d.bytes, {pt::GptPart{pt::kLinuxFsType, "0b3c1a52-7d6e-4f10-9a2b-3c4d5e6f7081", 34, 39, "boot"},
                           pt::GptPart{pt::kLinuxFsType, "6a1b2c3d-4e5f-4061-8899-aabbccddeeff", 40, 103, "salvage-dump"}});
    Dump(d, "gpt-name:salvage-dump", s, Ending::kComplete);
    SaveExtract("gpt512-name", 4, d);
    SaveExtract("gpt512-uuid", 5, d);
    SaveBlockdump("gpt512-name", "gpt-name:salvage-dump", d);
    SaveBlockdump("gpt512-uuid", "gpt-uuid:6a1b2c3d-4e5f-4061-8899-aabbccddeeff", d);
  }
  {  // GPT, 4096-byte sectors (16 entries: the array fits one sector).
    MemDisk d;
    d.ss = 4096;
    d.bytes.assign(16 * 4096, 0);
    pt::GptGeometry g;
    g.sector_size = 4096;
    g.entries = 16;
    pt::WriteGpt(d.bytes, {pt::GptPart{pt::kLinuxFsType, "6a1b2c3d-4e5f-4061-8899-aabbccddeeff", 4, 11, "salvage-dump"}}, g);
    Dump(d, "gpt-name:salvage-dump", s, Ending::kComplete);
    SaveExtract("gpt4096-name", 4, d);
    SaveBlockdump("gpt4096-name", "gpt-name:salvage-dump", d);
  }
  {  // Extents: the area in two pieces (the SD dump file's shape).
    MemDisk d;
    d.bytes.assign(144 * 512, 0);
    Dump(d, "extents:8+40,64+72", s, Ending::kComplete);
    SaveExtract("extents-two", 6, d);
    SaveExtract("extents-follow-header", 7, d);
    SaveBlockdump("extents-two", "extents:8+40,64+72", d);
  }
}

// ---- the SD dump file's extent maps (dump-file-fuzz.cc's layout) ------------------------

struct Le {
  Bytes b;
  Le& U(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Le& Text(std::string_view s) {
    Append(&b, s);
    return *this;
  }
};

void DumpFileMaps() {
  const uint64_t mib = 1 << 20;
  // ext4: two extents, 8 MiB, a partition at sector 532480 of a 16 GB card.
  Le ext4;
  ext4.U(532480, 8).U(31116288, 8).U(8 * mib, 8).U(8 * mib, 8).U(2, 1);
  ext4.U(0, 8).U(0x10000000, 8).U(4 * mib, 8).U(0, 4);
  ext4.U(4 * mib, 8).U(0x2a000000, 8).U(4 * mib, 8).U(0x1 /* LAST */, 4);
  ext4.U(3, 4).U(1, 4).U(0, 2);
  ext4.Text("8M\n36 25 179:2 / / rw,relatime shared:1 - ext4 /dev/mmcblk0p2 rw,errors=remount-ro\n");
  Save("dump-file", "ext4-two-extents", ext4.b);
  // ext4 after fallocate: unwritten extents to zero first, a hole, a shared one.
  Le unwritten;
  unwritten.U(2048, 8).U(1000000, 8).U(4 * mib, 8).U(6 * mib, 8).U(3, 1);
  unwritten.U(0, 8).U(0x800000, 8).U(mib, 8).U(0, 4);
  unwritten.U(2 * mib, 8).U(0x1000000, 8).U(mib, 8).U(0x800 /* UNWRITTEN */, 4);
  unwritten.U(3 * mib, 8).U(0x2000000, 8).U(mib, 8).U(0x2000 | 0x1 /* SHARED, LAST */, 4);
  unwritten.U(3, 4).U(1, 4).U(0, 2);
  unwritten.Text("auto\n29 1 179:2 / / rw,relatime - ext4 /dev/mmcblk0p2 rw,data=ordered\n");
  Save("dump-file", "ext4-unwritten-hole-shared", unwritten.b);
  // vfat: FIBMAP, 2 KiB clusters of four 512-byte blocks, a fragmented file, a hole.
  Le vfat;
  vfat.U(8192, 8).U(524288, 8).U(8192, 8).U(16384, 8).U(0, 1);
  vfat.U(0, 4).U(4, 4).U(24, 2);
  const uint32_t blocks[24] = {100, 101, 102, 103, 104, 105, 106, 107, 300, 301, 302, 303,
                               0,   0,   0,   0,   500, 501, 502, 503, 200, 201, 202, 0xffffffff};
  for (uint32_t b : blocks) vfat.U(b, 4);
  vfat.Text("1536M\n31 25 179:1 / /boot/firmware rw,relatime - vfat /dev/mmcblk0p1 rw,fmask=0022\n");
  Save("dump-file", "vfat-fibmap-clusters", vfat.b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) Die("usage: salvage-fuzz-seeds OUT_DIR");
  g_out = argv[1];
  Streams();
  Disks();
  DumpFileMaps();
  return 0;
}
