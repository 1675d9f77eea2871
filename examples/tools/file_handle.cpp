#include "file_handle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "tool_main.hpp"

namespace mmtools {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

const char* file_kind(mode_t mode) noexcept {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "regular file";
    case S_IFDIR:
      return "directory";
    case S_IFIFO:
      return "FIFO";
    case S_IFCHR:
      return "character device";
    case S_IFBLK:
      return "block device";
    case S_IFSOCK:
      return "socket";
    case S_IFLNK:
      return "symbolic link";
  }
  return "unknown file type";
}

UniqueFd open_regular(const std::string& path, struct stat& st) {
  if (::stat(path.c_str(), &st) != 0) fail_errno(path, errno);
  if (!S_ISREG(st.st_mode))
    throw Failure(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) fail_errno(path, errno);
  // The path may have been replaced between stat and open.
  if (::fstat(fd.get(), &st) != 0) fail_errno(path, errno);
  if (!S_ISREG(st.st_mode))
    throw Failure(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  return fd;
}

}  // namespace mmtools
