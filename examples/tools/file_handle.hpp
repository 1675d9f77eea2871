// A descriptor that closes itself, and the one way the tools open their input: regular files only.
#pragma once

#include <sys/stat.h>

#include <string>
#include <utility>

namespace mmtools {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~UniqueFd();
  int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

// "directory", "FIFO", "character device", ...
const char* file_kind(mode_t mode) noexcept;

// Opens path read-only (O_CLOEXEC) and fills st. Anything but a regular file is refused with
// "PATH: not a regular file (KIND)" before it is opened, so a FIFO cannot block us and a device
// is never touched.
UniqueFd open_regular(const std::string& path, struct stat& st);

}  // namespace mmtools
