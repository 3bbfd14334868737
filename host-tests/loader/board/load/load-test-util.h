// Helpers for the tests of loader/board/load: scratch copies of the fixture trees in
// host-tests/data/proc-*-virt, a fake kernel (kexec_load recorded, not made), captured
// output, and the image and purgatory files (the build's when they exist, else fakes
// with valid parameter blocks).
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <salvage/base/byte-order.h>
#include <salvage/purgatory/params.h>

#include "board/load/dump-file.h"
#include "board/load/kexec.h"

#ifndef SALVAGE_TEST_SOURCE_DATA_DIR
#error "SALVAGE_TEST_SOURCE_DATA_DIR must name host-tests/data in the source tree"
#endif
#ifndef SALVAGE_TEST_DATA_DIR
#error "SALVAGE_TEST_DATA_DIR must name the directory holding the compiled fixtures"
#endif

namespace salvage::loader::load::testing {

namespace fs = std::filesystem;

inline std::string SourceTree(const std::string& name) { return std::string(SALVAGE_TEST_SOURCE_DATA_DIR) + "/" + name; }
inline std::string CompiledDtb(const std::string& name) { return std::string(SALVAGE_TEST_DATA_DIR) + "/" + name + ".dtb"; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  const std::string s = ReadFile(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

inline void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

inline void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// A scratch directory, removed at the end of the test; optionally a copy of a fixture tree.
class Scratch {
 public:
  explicit Scratch(const std::string& copy_of = "") {
    dir_ = fs::temp_directory_path() /
           ("salvage-load-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (!copy_of.empty()) fs::copy(SourceTree(copy_of), dir_, fs::copy_options::recursive);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  std::string path() const { return dir_.string(); }
  /// `p` ("/proc/iomem") inside.
  std::string At(const std::string& p) const { return (dir_ / p.substr(p.front() == '/' ? 1 : 0)).string(); }
  void Write(const std::string& p, const std::string& text) const { WriteFile(At(p), text); }
  std::string Read(const std::string& p) const { return ReadFile(At(p)); }
  bool Has(const std::string& p) const { return fs::exists(At(p)); }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
};

/// Output captured through a FILE*.
class Capture {
 public:
  Capture() : f_(open_memstream(&buf_, &len_)) {}
  ~Capture() {
    if (f_) std::fclose(f_);
    std::free(buf_);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
  std::FILE* f_;
};

/// A kernel that records kexec_load calls. On a successful load it writes 1 to
/// ROOT/sys/kernel/kexec_crash_loaded (and 0 on an unload), as the kernel would.
class FakeKernel final : public Kernel {
 public:
  struct Call {
    uint64_t entry = 0;
    unsigned long flags = 0;
    std::vector<KexecSegment> segments;
    std::vector<std::vector<uint8_t>> bytes;
  };

  explicit FakeKernel(std::string root = "") : root_(std::move(root)) {}
  bool root_user = true;
  std::string machine = "aarch64";
  uint64_t page_size = 4096;
  int result = 0;  ///< errno to fail with (0: succeed).
  /// On a failed load, write 0 to kexec_crash_loaded: the kernel frees the old crash
  /// image before it loads the new one.
  bool clears_on_failure = false;
  std::vector<Call> calls;
  /// The dump file's file operations (--sink sd-file); nullptr: the real ones.
  FileSystem* files = nullptr;

  FileSystem& Files() override { return files ? *files : LiveFileSystem(); }
  bool IsRoot() override { return root_user; }
  std::string Machine() override { return machine; }
  uint64_t PageSize() override { return page_size; }
  int KexecLoad(uint64_t entry, std::span<const KexecSegment> segments, unsigned long flags) override {
    Call c{entry, flags, {segments.begin(), segments.end()}, {}};
    for (const KexecSegment& s : segments) {
      const uint8_t* b = static_cast<const uint8_t*>(s.buf);
      c.bytes.emplace_back(b, b + s.bufsz);
    }
    calls.push_back(std::move(c));
    if (result != 0) {
      if (clears_on_failure && !root_.empty()) WriteFile(root_ + "/sys/kernel/kexec_crash_loaded", "0\n");
      return result;
    }
    if (!root_.empty()) WriteFile(root_ + "/sys/kernel/kexec_crash_loaded", segments.empty() ? "0\n" : "1\n");
    return 0;
  }

 private:
  std::string root_;
};

inline void Put32(std::vector<uint8_t>& b, size_t off, uint32_t v) { StoreLe32(&b[off], v); }

/// A fake salvage image for `arch` ("aarch64", "arm", "riscv64"): the Linux header magic,
/// the boot parameter block, `file_bytes` long, with footprint `footprint`.
inline std::vector<uint8_t> FakeImage(const std::string& arch, size_t file_bytes = 0x3000, uint32_t footprint = 0x9000) {
  std::vector<uint8_t> b(file_bytes, 0);
  for (size_t i = 0x80; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7);
  if (arch == "aarch64") std::memcpy(&b[0x38], "ARM\x64", 4);
  if (arch == "riscv64") std::memcpy(&b[0x38], "RSC\x05", 4);
  if (arch == "arm") Put32(b, 0x24, 0x016f2818);
  std::memcpy(&b[0x40], "SLVGBOOT", 8);
  Put32(b, 0x48, 1);
  Put32(b, 0x4c, 64);
  Put32(b, 0x64, footprint);
  return b;
}

/// A fake purgatory: the branch `arch`'s starts with, the "SLVGPURG" block.
inline std::vector<uint8_t> FakePurgatory(const std::string& arch) {
  std::vector<uint8_t> b(0x1000, 0);
  if (arch == "aarch64") Put32(b, 0, 0x140000e0);
  if (arch == "arm") Put32(b, 0, 0xea0000de);
  if (arch == "riscv64") Put32(b, 0, 0x3800006f);
  std::memcpy(&b[purgatory::kParamsOffset], purgatory::kMagic.data(), purgatory::kMagic.size());
  return b;
}

/// The build's image / purgatory for `arch` when it was built, else "".
inline std::string BuiltImage(const std::string& arch) {
  std::string p;
#ifdef SALVAGE_TEST_IMAGE_aarch64
  if (arch == "aarch64") p = SALVAGE_TEST_IMAGE_aarch64;
#endif
#ifdef SALVAGE_TEST_IMAGE_arm
  if (arch == "arm") p = SALVAGE_TEST_IMAGE_arm;
#endif
#ifdef SALVAGE_TEST_IMAGE_riscv64
  if (arch == "riscv64") p = SALVAGE_TEST_IMAGE_riscv64;
#endif
  return !p.empty() && fs::exists(p) ? p : "";
}

inline std::string BuiltPurgatory(const std::string& arch) {
  std::string p;
#ifdef SALVAGE_TEST_PURGATORY_aarch64
  if (arch == "aarch64") p = SALVAGE_TEST_PURGATORY_aarch64;
#endif
#ifdef SALVAGE_TEST_PURGATORY_arm
  if (arch == "arm") p = SALVAGE_TEST_PURGATORY_arm;
#endif
#ifdef SALVAGE_TEST_PURGATORY_riscv64
  if (arch == "riscv64") p = SALVAGE_TEST_PURGATORY_riscv64;
#endif
  return !p.empty() && fs::exists(p) ? p : "";
}

inline std::string BuiltPurgatoryElf(const std::string& arch) {
  std::string p;
#ifdef SALVAGE_TEST_PURGATORY_ELF_aarch64
  if (arch == "aarch64") p = SALVAGE_TEST_PURGATORY_ELF_aarch64;
#endif
#ifdef SALVAGE_TEST_PURGATORY_ELF_arm
  if (arch == "arm") p = SALVAGE_TEST_PURGATORY_ELF_arm;
#endif
#ifdef SALVAGE_TEST_PURGATORY_ELF_riscv64
  if (arch == "riscv64") p = SALVAGE_TEST_PURGATORY_ELF_riscv64;
#endif
  return !p.empty() && fs::exists(p) ? p : "";
}

/// The image and purgatory files a test loads: the build's, or fakes written into `dir`.
struct Blobs {
  std::string image, purgatory;
  bool built = false;
};

inline Blobs BlobsFor(const std::string& arch, const Scratch& dir) {
  Blobs b;
  b.image = BuiltImage(arch);
  b.purgatory = BuiltPurgatory(arch);
  b.built = !b.image.empty() && !b.purgatory.empty();
  if (!b.built) {
    b.image = dir.At("/blobs/salvage-" + arch + ".img");
    b.purgatory = dir.At("/blobs/purgatory-" + arch + ".bin");
    WriteBytes(b.image, FakeImage(arch));
    WriteBytes(b.purgatory, FakePurgatory(arch));
  }
  return b;
}

}  // namespace salvage::loader::load::testing
