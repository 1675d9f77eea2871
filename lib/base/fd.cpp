// Descriptor helpers: open, stat, allocate, truncate (lib/base/fd.hpp).
#include "base/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>

namespace mmapxx::detail {

Failure check_path(const char* operation, std::string_view path) noexcept {
  if (path.empty()) return invalid_argument(operation, "path is empty");
  if (const std::size_t at = path.find('\0'); at != std::string_view::npos)
    return invalid_argument(operation, "path holds a NUL byte at index %zu", at);
  return {};
}

Failure open_fd(const char* path, int flags, mode_t mode, int& fd) noexcept {
  if (path == nullptr) return invalid_argument("open", "path is a null pointer");
  if (path[0] == '\0') return invalid_argument("open", "path is empty");
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return make_failure("open", errno);
  return {};
}

Failure open_fd(const std::string& path, int flags, mode_t mode, int& fd) noexcept {
  if (Failure failure = check_path("open", path)) return failure;
  return open_fd(path.c_str(), flags, mode, fd);
}

Failure stat_fd(int fd, FileInfo& out) noexcept {
  struct stat st;  // fstat fills it: no need to clear it first
  if (::fstat(fd, &st) != 0) return make_failure("fstat", errno);
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.regular = S_ISREG(st.st_mode);
  out.directory = S_ISDIR(st.st_mode);
  out.character_device = S_ISCHR(st.st_mode);
  out.block_device = S_ISBLK(st.st_mode);
  out.device = st.st_dev;
  out.inode = st.st_ino;
  return {};
}

Failure allocate_fd(int fd, std::uint64_t size) noexcept {
  if (size == 0) return {};
  if (size > max_file_offset)
    return make_failure("posix_fallocate", EOVERFLOW,
                        "size=%" PRIu64 " is past the largest file size, 2^63-1", size);
  int code;
  do {
    code = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (code == EINTR);
  if (code != 0) return make_failure("posix_fallocate", code, "size=%" PRIu64, size);
  return {};
}

Failure truncate_fd(int fd, std::uint64_t size) noexcept {
  if (size > max_file_offset)
    return make_failure("ftruncate", EOVERFLOW,
                        "size=%" PRIu64 " is past the largest file size, 2^63-1", size);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    return make_failure("ftruncate", errno, "size=%" PRIu64, size);
  return {};
}

}  // namespace mmapxx::detail
