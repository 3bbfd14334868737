// Test helpers for loader/: a temporary directory per test, file reading, and an ELF
// core parser over <elf.h>'s structs (ELF64 and ELF32), independent of the code under
// test.
#pragma once

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace salvage::loader::test {

/// A fresh directory from mkdtemp, removed (with its files) when the test ends.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/salvage-loader-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back(0);
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    if (path_.empty()) return;
    for (const std::string& name : List()) unlink((path_ + "/" + name).c_str());
    rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  /// Names in the directory (without "." and ".."), sorted.
  std::vector<std::string> List() const {
    std::vector<std::string> out;
    DIR* d = opendir(path_.c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }
  /// Names that look like the receiver's temporary files (".NAME.partial-XXXXXX").
  std::vector<std::string> Partials() const {
    std::vector<std::string> out;
    for (const std::string& n : List()) {
      if (!n.empty() && n[0] == '.' && n.find(".partial-") != std::string::npos) out.push_back(n);
    }
    return out;
  }

 private:
  std::string path_;
};

inline bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  std::vector<uint8_t> out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "cannot open " << path << ": " << std::strerror(errno);
    return out;
  }
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  close(fd);
  return out;
}

inline void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes, mode_t mode = 0644) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<size_t>(n);
  }
  close(fd);
}

/// One program header, widened.
struct Phdr {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t paddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
};

/// An ELF core file as read back with <elf.h>.
struct Core {
  bool ok = false;
  int elf_class = 0;  // 32 or 64
  uint16_t type = 0;
  uint16_t machine = 0;
  uint64_t phoff = 0;
  uint16_t phentsize = 0;
  bool extended = false;  ///< e_phnum was PN_XNUM: the count came from shdr[0].sh_info.
  std::vector<Phdr> phdrs;

  std::vector<Phdr> Of(uint32_t type_wanted) const {
    std::vector<Phdr> out;
    for (const Phdr& p : phdrs) {
      if (p.type == type_wanted) out.push_back(p);
    }
    return out;
  }
  std::vector<Phdr> Loads() const { return Of(PT_LOAD); }
};

inline Core ParseCore(const std::vector<uint8_t>& f) {
  Core c;
  if (f.size() < EI_NIDENT || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0) {
    ADD_FAILURE() << "not an ELF file";
    return c;
  }
  EXPECT_EQ(f[EI_DATA], ELFDATA2LSB);
  EXPECT_EQ(f[EI_VERSION], EV_CURRENT);
  if (f[EI_CLASS] == ELFCLASS64) {
    Elf64_Ehdr eh;
    if (f.size() < sizeof(eh)) return c;
    std::memcpy(&eh, f.data(), sizeof(eh));
    c.elf_class = 64;
    c.type = eh.e_type;
    c.machine = eh.e_machine;
    c.phoff = eh.e_phoff;
    c.phentsize = eh.e_phentsize;
    EXPECT_EQ(eh.e_ehsize, sizeof(Elf64_Ehdr));
    EXPECT_EQ(eh.e_version, static_cast<uint32_t>(EV_CURRENT));
    uint64_t phnum = eh.e_phnum;
    if (eh.e_phnum == PN_XNUM) {
      // gABI extended numbering: the count is in section header 0's sh_info.
      Elf64_Shdr sh;
      if (eh.e_shentsize != sizeof(sh) || eh.e_shoff == 0 || eh.e_shoff > f.size() ||
          f.size() - eh.e_shoff < sizeof(sh)) {
        ADD_FAILURE() << "PN_XNUM without a readable section header 0";
        return c;
      }
      std::memcpy(&sh, f.data() + eh.e_shoff, sizeof(sh));
      phnum = sh.sh_info;
      c.extended = true;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > f.size() ||
        phnum > (f.size() - eh.e_phoff) / sizeof(Elf64_Phdr)) {
      ADD_FAILURE() << "bad program header table";
      return c;
    }
    for (uint64_t i = 0; i < phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, f.data() + eh.e_phoff + i * sizeof(ph), sizeof(ph));
      c.phdrs.push_back({ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz});
    }
  } else if (f[EI_CLASS] == ELFCLASS32) {
    Elf32_Ehdr eh;
    if (f.size() < sizeof(eh)) return c;
    std::memcpy(&eh, f.data(), sizeof(eh));
    c.elf_class = 32;
    c.type = eh.e_type;
    c.machine = eh.e_machine;
    c.phoff = eh.e_phoff;
    c.phentsize = eh.e_phentsize;
    EXPECT_EQ(eh.e_ehsize, sizeof(Elf32_Ehdr));
    EXPECT_EQ(eh.e_version, static_cast<uint32_t>(EV_CURRENT));
    uint64_t phnum = eh.e_phnum;
    if (eh.e_phnum == PN_XNUM) {
      // gABI extended numbering: the count is in section header 0's sh_info.
      Elf32_Shdr sh;
      if (eh.e_shentsize != sizeof(sh) || eh.e_shoff == 0 || eh.e_shoff > f.size() ||
          f.size() - eh.e_shoff < sizeof(sh)) {
        ADD_FAILURE() << "PN_XNUM without a readable section header 0";
        return c;
      }
      std::memcpy(&sh, f.data() + eh.e_shoff, sizeof(sh));
      phnum = sh.sh_info;
      c.extended = true;
    }
    if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phoff > f.size() ||
        phnum > (f.size() - eh.e_phoff) / sizeof(Elf32_Phdr)) {
      ADD_FAILURE() << "bad program header table";
      return c;
    }
    for (uint64_t i = 0; i < phnum; ++i) {
      Elf32_Phdr ph;
      std::memcpy(&ph, f.data() + eh.e_phoff + i * sizeof(ph), sizeof(ph));
      c.phdrs.push_back({ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz});
    }
  } else {
    ADD_FAILURE() << "bad EI_CLASS " << int{f[EI_CLASS]};
    return c;
  }
  c.ok = true;
  return c;
}

/// The bytes a program header points at (empty, with a failure, when out of the file).
inline std::vector<uint8_t> Bytes(const std::vector<uint8_t>& f, uint64_t offset, uint64_t size) {
  if (offset > f.size() || size > f.size() - offset) {
    ADD_FAILURE() << "bytes [" << offset << ", +" << size << ") are past the end of the file (" << f.size() << ")";
    return {};
  }
  return std::vector<uint8_t>(f.begin() + static_cast<long>(offset), f.begin() + static_cast<long>(offset + size));
}

/// One ELF note, parsed independently of runtime/elfcore.
struct Note {
  std::string name;
  uint32_t type = 0;
  std::vector<uint8_t> desc;
};

inline std::vector<Note> ParseNotes(const std::vector<uint8_t>& b) {
  std::vector<Note> out;
  size_t pos = 0;
  auto le32 = [&](size_t at) {
    return static_cast<uint32_t>(b[at]) | static_cast<uint32_t>(b[at + 1]) << 8 |
           static_cast<uint32_t>(b[at + 2]) << 16 | static_cast<uint32_t>(b[at + 3]) << 24;
  };
  while (pos + 12 <= b.size()) {
    const uint32_t namesz = le32(pos), descsz = le32(pos + 4), type = le32(pos + 8);
    if (namesz == 0) break;
    const size_t name_at = pos + 12;
    const size_t desc_at = (name_at + namesz + 3) & ~size_t{3};
    if (desc_at + descsz > b.size()) {
      ADD_FAILURE() << "note at " << pos << " runs past the end";
      break;
    }
    Note n;
    n.name.assign(reinterpret_cast<const char*>(b.data() + name_at), namesz);
    while (!n.name.empty() && n.name.back() == '\0') n.name.pop_back();
    n.type = type;
    n.desc.assign(b.begin() + static_cast<long>(desc_at), b.begin() + static_cast<long>(desc_at + descsz));
    out.push_back(std::move(n));
    pos = (desc_at + descsz + 3) & ~size_t{3};
  }
  return out;
}

inline std::string Hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof(b), "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace salvage::loader::test
