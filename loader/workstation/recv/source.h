// Where `salvage recv` reads a dump stream from: a serial device (baud rate set), a TCP
// socket (QEMU's -serial tcp:...), a file, or standard input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/expected.h"

namespace salvage::loader {

class Source {
 public:
  /// Opens `spec`:
  ///   "-"                      standard input
  ///   "tcp:HOST:PORT"          connect to a TCP server (retries for `connect_timeout_s`)
  ///   "/dev/tty..." or a char device   a serial line, set raw at `baud`
  ///   anything else            a regular file
  /// Fails with a message that says what to do.
  Expected<void> Open(const std::string& spec, unsigned baud, int connect_timeout_s);
  ~Source();

  /// What one Read got: `count` bytes (> 0); or the end of the input (`end`); or, with
  /// count 0 and not end, nothing within the timeout.
  struct Got {
    size_t count = 0;
    bool end = false;
    bool timed_out() const { return count == 0 && !end; }
  };

  /// Reads up to `len` bytes, waiting at most `timeout_ms` (-1: forever). Fails with a
  /// message naming the source when poll or read fails.
  Expected<Got> Read(uint8_t* buf, size_t len, int timeout_ms);

  /// A short description for messages: "tcp 127.0.0.1:4444", "serial /dev/ttyUSB0 at 115200".
  const std::string& Describe() const { return description_; }
  bool IsSeekableFile() const { return regular_file_; }
  /// For regular files: the size, for the progress display; 0 when unknown.
  uint64_t SizeHint() const { return size_hint_; }

 private:
  int fd_ = -1;
  bool owns_fd_ = false;
  bool regular_file_ = false;
  uint64_t size_hint_ = 0;
  std::string description_;
};

}  // namespace salvage::loader
