#include "workstation/recv/source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace salvage::loader {
namespace {

speed_t BaudConstant(unsigned baud) {
  switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 500000: return B500000;
    case 576000: return B576000;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    case 3000000: return B3000000;
    case 4000000: return B4000000;
  }
  return 0;
}

}  // namespace

Source::~Source() {
  if (owns_fd_ && fd_ >= 0) close(fd_);
}

Expected<void> Source::Open(const std::string& spec, unsigned baud, int connect_timeout_s) {
  if (spec == "-") {
    fd_ = 0;
    description_ = "standard input";
    return {};
  }
  if (spec.rfind("tcp:", 0) == 0) {
    const std::string rest = spec.substr(4);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Fail("'" + spec + "' is not tcp:HOST:PORT (for QEMU: -serial tcp:127.0.0.1:4444,server=on,wait=on)");
    }
    const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return Fail("cannot resolve " + host + ":" + port + ": " + gai_strerror(rc));
    }
    const time_t deadline = time(nullptr) + connect_timeout_s;
    int last_errno = 0;
    for (;;) {
      for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
          fd_ = fd;
          break;
        }
        last_errno = errno;
        close(fd);
      }
      if (fd_ >= 0 || time(nullptr) >= deadline) break;
      usleep(100 * 1000);
    }
    freeaddrinfo(res);
    if (fd_ < 0) {
      return Fail("cannot connect to " + host + ":" + port + ": " + std::strerror(last_errno) +
               " (is QEMU running with -serial tcp:" + host + ":" + port + ",server=on?)");
    }
    owns_fd_ = true;
    description_ = "tcp " + host + ":" + port;
    return {};
  }
  fd_ = open(spec.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd_ < 0) {
    return Fail("cannot open " + spec + ": " + std::strerror(errno));
  }
  owns_fd_ = true;
  struct stat st {};
  fstat(fd_, &st);
  if (S_ISCHR(st.st_mode) && isatty(fd_)) {
    const speed_t speed = BaudConstant(baud);
    if (speed == 0) {
      return Fail("unsupported baud rate " + std::to_string(baud) + " (try 115200, 921600, 1500000, 3000000)");
    }
    termios t{};
    if (tcgetattr(fd_, &t) != 0) {
      return Fail("cannot read the settings of " + spec + ": " + std::strerror(errno));
    }
    cfmakeraw(&t);
    cfsetispeed(&t, speed);
    cfsetospeed(&t, speed);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(CRTSCTS | CSTOPB);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd_, TCSANOW, &t) != 0) {
      return Fail("cannot set " + spec + " to raw " + std::to_string(baud) + " baud: " + std::strerror(errno));
    }
    description_ = "serial " + spec + " at " + std::to_string(baud) + " baud";
  } else {
    regular_file_ = S_ISREG(st.st_mode);
    size_hint_ = regular_file_ ? static_cast<uint64_t>(st.st_size) : 0;
    description_ = spec;
  }
  return {};
}

Expected<Source::Got> Source::Read(uint8_t* buf, size_t len, int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  int rc = poll(&p, 1, timeout_ms);
  if (rc == 0) return Got{};
  if (rc < 0) {
    if (errno == EINTR) return Got{};
    return Fail("poll on " + description_ + ": " + std::strerror(errno));
  }
  ssize_t n = read(fd_, buf, len);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return Got{};
    return Fail("read from " + description_ + ": " + std::strerror(errno));
  }
  return Got{static_cast<size_t>(n), n == 0};
}

}  // namespace salvage::loader
