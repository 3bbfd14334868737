// Helpers for the libFuzzer targets whose code under test reads and writes files (the
// receiver, inspect, extract): a private scratch directory, the input written to a file
// in it, and everything the code left there removed after each input. Fuzz-only.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace salvage::fuzz {

/// Traps: a promise of the code under test was broken (not the input's fault).
inline void Check(bool ok) {
  if (!ok) __builtin_trap();
}

/// A directory of this process's own (on /dev/shm when there is one: files cost no disk),
/// made once.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    std::string t = std::string(base) + "/salvage-fuzz-XXXXXX";
    Check(mkdtemp(t.data()) != nullptr);
    return t;
  }();
  return dir;
}

/// Writes `data` to ScratchDir()/name and returns the path.
inline std::string WriteInput(const char* name, const uint8_t* data, size_t size) {
  const std::string path = ScratchDir() + "/" + name;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  Check(fd >= 0);
  for (size_t done = 0; done < size;) {
    const ssize_t w = write(fd, data + done, size - done);
    Check(w > 0);
    done += static_cast<size_t>(w);
  }
  close(fd);
  return path;
}

/// Removes every file in ScratchDir() (the input, the vmcore, temporary files the code
/// under test left behind).
inline void ClearScratch() {
  DIR* d = opendir(ScratchDir().c_str());
  Check(d != nullptr);
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    unlink((ScratchDir() + "/" + n).c_str());
  }
  closedir(d);
}

/// Removes the scratch directory at exit. Makes it first, so that its name is destroyed
/// after the handler ran.
inline void RemoveScratchAtExit() {
  (void)ScratchDir();
  std::atexit([] {
    ClearScratch();
    rmdir(ScratchDir().c_str());
  });
}

}  // namespace salvage::fuzz
