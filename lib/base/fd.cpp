#include "base/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace mmapxx::detail {

Failure open_fd(const std::string& path, int flags, mode_t mode, int& fd) noexcept {
  if (path.empty()) return invalid_argument("open", "path is empty");
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return make_failure("open", errno);
  return {};
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);  // no retry on EINTR: on Linux the descriptor is gone either way
  fd = -1;
}

Failure stat_fd(int fd, FileInfo& out) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_failure("fstat", errno);
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.regular = S_ISREG(st.st_mode);
  out.directory = S_ISDIR(st.st_mode);
  return {};
}

Failure allocate_fd(int fd, std::uint64_t size) noexcept {
  if (size == 0) return {};
  int code;
  do {
    code = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (code == EINTR);
  if (code != 0) return make_failure("posix_fallocate", code, "size=" + std::to_string(size));
  return {};
}

Failure truncate_fd(int fd, std::uint64_t size) noexcept {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    return make_failure("ftruncate", errno, "size=" + std::to_string(size));
  return {};
}

}  // namespace mmapxx::detail
