// fdatasync of a file and fsync of a directory (include/mmapxx/durability.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "durability/durability_internal.hpp"
#include "mmapxx/durability.hpp"

namespace mmapxx {

namespace detail {

Failure sync_data_fd(int fd) noexcept {
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return make_failure("fdatasync", errno);
  return {};
}

Failure sync_directory_fd(int fd) noexcept {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return make_failure("fsync", errno);
  return {};
}

Failure check_path(const char* operation, const std::string& path) noexcept {
  if (path.empty()) return invalid_argument(operation, "path is empty");
  if (path.find('\0') != std::string::npos)
    return invalid_argument(operation, "path holds a NUL byte");
  return {};
}

Failure open_directory(const std::string& path, int& fd) noexcept {
  if (Failure f = check_path("open", path)) return f;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return make_failure("open", errno);
  return {};
}

}  // namespace detail

namespace {

detail::Failure sync_directory_path(const std::string& path) noexcept {
  int fd = -1;
  if (detail::Failure f = detail::open_directory(path, fd)) return f;
  detail::Failure f = detail::sync_directory_fd(fd);
  ::close(fd);
  return f;
}

}  // namespace

void sync_data(int fd, const std::string& label) {
  if (const detail::Failure f = detail::sync_data_fd(fd)) detail::raise(f, label);
}

void sync_data(int fd, std::error_code& ec) noexcept {
  detail::report(detail::sync_data_fd(fd), ec);
}

void sync_directory(const std::filesystem::path& directory) {
  if (const detail::Failure f = sync_directory_path(directory.string()))
    detail::raise(f, directory.string());
}

void sync_directory(const std::filesystem::path& directory, std::error_code& ec) noexcept {
  try {
    detail::report(sync_directory_path(directory.string()), ec);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
}

}  // namespace mmapxx
