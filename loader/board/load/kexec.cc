// salvage::loader::load — the running kernel (see kexec.h). Everything Linux-only that
// `salvage load`, `unload` and `status` do is in this file.
#include "board/load/kexec.h"

#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "board/load/dump-file.h"

namespace salvage::loader::load {

FileSystem& Kernel::Files() { return LiveFileSystem(); }

namespace {

constexpr ArchInfo kAarch64{"aarch64", 183, kKexecArchAarch64};
constexpr ArchInfo kArm{"arm", 40, kKexecArchArm};
constexpr ArchInfo kRiscv64{"riscv64", 243, kKexecArchRiscv};

// include/uapi/linux/kexec.h, with the pointer and size_t widths of this process (the
// kernel's compat entry point converts a 32-bit process's list).
struct LinuxKexecSegment {
  const void* buf;
  size_t bufsz;
  const void* mem;
  size_t memsz;
};

class Live final : public Kernel {
 public:
  bool IsRoot() override { return ::geteuid() == 0; }

  std::string Machine() override {
    struct utsname u;
    if (::uname(&u) != 0) return "";
    return u.machine;
  }

  uint64_t PageSize() override {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<uint64_t>(p) : 4096;
  }

  int KexecLoad(uint64_t entry, std::span<const KexecSegment> segments, unsigned long flags) override {
    std::vector<LinuxKexecSegment> list;
    for (const KexecSegment& s : segments) {
      if (s.mem > ULONG_MAX || s.memsz > SIZE_MAX || s.mem + s.memsz - 1 > ULONG_MAX) return EOVERFLOW;
      list.push_back({s.buf, s.bufsz, reinterpret_cast<const void*>(static_cast<uintptr_t>(s.mem)),
                      static_cast<size_t>(s.memsz)});
    }
    if (entry > ULONG_MAX) return EOVERFLOW;
    const long r = ::syscall(SYS_kexec_load, static_cast<unsigned long>(entry), static_cast<unsigned long>(list.size()),
                             list.empty() ? nullptr : list.data(), flags);
    return r == 0 ? 0 : errno;
  }
};

}  // namespace

std::optional<ArchInfo> ArchFromName(std::string_view name) {
  if (name == "aarch64" || name == "arm64") return kAarch64;
  if (name == "arm" || name == "armhf" || name == "armel" ||
      (name.size() >= 5 && name.substr(0, 4) == "armv" && name.back() == 'l'))
    return kArm;
  if (name == "riscv64") return kRiscv64;
  return std::nullopt;
}

std::optional<ArchInfo> BuildArch() {
#if defined(__aarch64__)
  return kAarch64;
#elif defined(__arm__)
  return kArm;
#elif defined(__riscv) && __riscv_xlen == 64
  return kRiscv64;
#else
  return std::nullopt;
#endif
}

Kernel& LiveKernel() {
  static Live live;
  return live;
}

}  // namespace salvage::loader::load
