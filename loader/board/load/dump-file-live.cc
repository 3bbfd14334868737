// salvage::loader::load — the real FileSystem of the dump file (see dump-file.h): the only
// code of `salvage load --sink sd-file` that makes system calls. The 64-bit file calls
// (open64, fstat64, pwrite64, fallocate64, ...) are used by name, so that a 32-bit
// salvage (armhf) handles files of 2 GiB and more whatever _FILE_OFFSET_BITS is.
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "board/load/dump-file.h"

namespace salvage::loader::load {
namespace {

static_assert(fiemap::kLast == FIEMAP_EXTENT_LAST && fiemap::kUnknown == FIEMAP_EXTENT_UNKNOWN &&
              fiemap::kDelalloc == FIEMAP_EXTENT_DELALLOC && fiemap::kEncoded == FIEMAP_EXTENT_ENCODED &&
              fiemap::kDataEncrypted == FIEMAP_EXTENT_DATA_ENCRYPTED &&
              fiemap::kNotAligned == FIEMAP_EXTENT_NOT_ALIGNED && fiemap::kDataInline == FIEMAP_EXTENT_DATA_INLINE &&
              fiemap::kDataTail == FIEMAP_EXTENT_DATA_TAIL && fiemap::kUnwritten == FIEMAP_EXTENT_UNWRITTEN &&
              fiemap::kMerged == FIEMAP_EXTENT_MERGED && fiemap::kShared == FIEMAP_EXTENT_SHARED);

std::string Errno(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) msg += " (run salvage load as root)";
  return msg;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  /// close(2) with its result (a write error may show only here).
  int Close() {
    const int r = ::close(fd_);
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

class Live final : public FileSystem {
 public:
  Expected<FileStatus> Stat(const std::string& path) override {
    struct stat64 st;
    FileStatus s;
    if (::stat64(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return s;
      return Fail(Errno("cannot stat", path, errno));
    }
    s.exists = true;
    s.regular = S_ISREG(st.st_mode);
    s.size = static_cast<uint64_t>(st.st_size);
    s.dev_major = major(st.st_dev);
    s.dev_minor = minor(st.st_dev);
    return s;
  }

  Expected<FsStatus> StatFs(const std::string& path) override {
    struct statfs64 sf;
    struct statvfs64 sv;
    if (::statfs64(path.c_str(), &sf) != 0) return Fail(Errno("cannot statfs", path, errno));
    if (::statvfs64(path.c_str(), &sv) != 0) return Fail(Errno("cannot statvfs", path, errno));
    FsStatus s;
    s.magic = static_cast<uint32_t>(sf.f_type);
    s.free_bytes = static_cast<uint64_t>(sv.f_bavail) * static_cast<uint64_t>(sv.f_frsize);
    return s;
  }

  Expected<void> MakeDirectories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Fail("cannot create " + path + ": " + ec.message());
    return {};
  }

  Expected<FillResult> Fill(const std::string& path, uint64_t size, std::span<const ByteRange> zero) override {
    FillResult r;
    // An immutable file (salvage made it so) cannot be opened for writing: clear the flag.
    {
      Fd ro(::open64(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
      int flags = 0;
      if (ro.get() >= 0 && ::ioctl(ro.get(), FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL) != 0) {
        flags &= ~FS_IMMUTABLE_FL;
        if (::ioctl(ro.get(), FS_IOC_SETFLAGS, &flags) != 0)
          return Fail(Errno("cannot clear the immutable flag of", path, errno));
        r.was_immutable = true;
      }
    }
    Fd fd(::open64(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Fail(Errno("cannot open", path, errno));
    struct stat64 st;
    if (::fstat64(fd.get(), &st) != 0) return Fail(Errno("cannot stat", path, errno));
    const uint64_t have = static_cast<uint64_t>(st.st_size);
    if (size > have) {
      if (::fallocate64(fd.get(), 0, static_cast<off64_t>(have), static_cast<off64_t>(size - have)) == 0) {
        r.fallocated = true;
      } else if (errno == ENOSPC) {
        return Fail("no space left for " + path + " (" + std::to_string(size >> 20) + " MiB)");
      } else if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL) {
        return Fail(Errno("cannot allocate", path, errno));
      }
      // vfat (mode 0 unsupported): the zeros below allocate as they extend the file.
    }
    uint64_t total = 0;
    for (const ByteRange& z : zero) total += z.length;
    if (total >= (uint64_t{64} << 20))
      std::fprintf(stderr, "salvage load: writing %llu MiB of zeros to %s (once: later loads reuse the file)\n",
                   static_cast<unsigned long long>((total + (1 << 20) - 1) >> 20), path.c_str());
    std::vector<uint8_t> zeros(1 << 20, 0);
    for (const ByteRange& z : zero) {
      for (uint64_t done = 0; done < z.length;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), z.length - done));
        const ssize_t w = ::pwrite64(fd.get(), zeros.data(), n, static_cast<off64_t>(z.offset + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          const int e = w < 0 ? errno : ENOSPC;
          if (e == ENOSPC) return Fail("no space left for " + path + " (" + std::to_string(size >> 20) + " MiB)");
          return Fail(Errno("cannot write", path, e));
        }
        done += static_cast<uint64_t>(w);
        r.zero_bytes += static_cast<uint64_t>(w);
      }
    }
    if (::fsync(fd.get()) != 0) return Fail(Errno("cannot sync", path, errno));
    if (fd.Close() != 0) return Fail(Errno("cannot close", path, errno));
    return r;
  }

  FileMap Map(const std::string& path) override {
    FileMap m;
    Fd fd(::open64(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      m.error = errno;
      return m;
    }
    constexpr uint32_t kBatch = 256;
    // struct fiemap with kBatch extents after it; uint64_t storage for the alignment.
    std::vector<uint64_t> buf((sizeof(struct fiemap) + kBatch * sizeof(struct fiemap_extent) + 7) / 8);
    auto* fm = reinterpret_cast<struct fiemap*>(buf.data());
    uint64_t start = 0;
    for (int round = 0; round < 100000; ++round) {
      std::memset(buf.data(), 0, buf.size() * sizeof(uint64_t));
      fm->fm_start = start;
      fm->fm_length = FIEMAP_MAX_OFFSET - start;
      fm->fm_flags = FIEMAP_FLAG_SYNC;
      fm->fm_extent_count = kBatch;
      if (::ioctl(fd.get(), FS_IOC_FIEMAP, fm) != 0) {
        // No FIEMAP (vfat): FIBMAP, block by block.
        if ((errno == EOPNOTSUPP || errno == ENOTTY) && round == 0) return MapWithFibmap(path);
        m.error = errno;
        m.extents.clear();
        return m;
      }
      if (fm->fm_mapped_extents == 0) return m;
      bool last = false;
      for (uint32_t i = 0; i < fm->fm_mapped_extents && i < kBatch; ++i) {
        const struct fiemap_extent& e = fm->fm_extents[i];
        m.extents.push_back({e.fe_logical, e.fe_physical, e.fe_length, e.fe_flags});
        last = last || (e.fe_flags & FIEMAP_EXTENT_LAST) != 0;
      }
      const FileExtent& end = m.extents.back();
      if (last || fm->fm_mapped_extents < kBatch || end.logical + end.length <= start) return m;
      start = end.logical + end.length;
    }
    return m;
  }

  Expected<std::vector<uint8_t>> Read(const std::string& path, uint64_t offset, size_t length) override {
    Fd fd(::open64(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Fail(Errno("cannot open", path, errno));
    std::vector<uint8_t> b(length);
    size_t got = 0;
    while (got < length) {
      const ssize_t r = ::pread64(fd.get(), b.data() + got, length - got, static_cast<off64_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Fail(Errno("cannot read", path, errno));
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    b.resize(got);
    return b;
  }

  Expected<bool> SetImmutable(const std::string& path) override {
    Fd fd(::open64(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) return Fail(Errno("cannot open", path, errno));
    int flags = 0;
    if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) {
      if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return false;
      return Fail(Errno("cannot read the flags of", path, errno));
    }
    if (flags & FS_IMMUTABLE_FL) return true;
    flags |= FS_IMMUTABLE_FL;
    if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) != 0) {
      if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return false;
      return Fail(Errno("cannot make immutable:", path, errno));
    }
    return true;
  }
};

}  // namespace

FileMap MapWithFibmap(const std::string& path) {
  FileMap m;
  m.fibmap = true;
  Fd fd(::open64(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    m.error = errno;
    return m;
  }
  int block_size = 0;
  struct stat64 st;
  struct statfs64 sf;
  if (::ioctl(fd.get(), FIGETBSZ, &block_size) != 0 || block_size <= 0 || ::fstat64(fd.get(), &st) != 0 ||
      ::fstatfs64(fd.get(), &sf) != 0) {
    m.error = errno != 0 ? errno : EINVAL;
    return m;
  }
  (void)::fsync(fd.get());  // FIBMAP sees allocated blocks only
  // FAT allocates whole clusters (statfs's f_bsize there): one run per cluster.
  const uint64_t bsize = static_cast<uint64_t>(sf.f_bsize);
  const uint32_t bs = static_cast<uint32_t>(block_size);
  const uint32_t step = bsize >= bs && bsize % bs == 0 && bsize / bs <= 4096 ? static_cast<uint32_t>(bsize / bs) : 1;
  const uint64_t blocks = (static_cast<uint64_t>(st.st_size) + bs - 1) / bs;
  const int f = fd.get();
  return ExtentsFromBlocks(
      [f](uint64_t i, uint64_t* phys) -> int {
        if (i > static_cast<uint64_t>(INT_MAX)) return EFBIG;
        int b = static_cast<int>(i);
        if (::ioctl(f, FIBMAP, &b) != 0) return errno == EINVAL || errno == ENOTTY ? EOPNOTSUPP : errno;
        *phys = static_cast<uint32_t>(b);
        return 0;
      },
      blocks, bs, step);
}

FileSystem& LiveFileSystem() {
  static Live live;
  return live;
}

}  // namespace salvage::loader::load
