// Descriptor-level helpers shared by MappedFile and the shared-memory types (no public header:
// the errors they return surface through include/mmapxx/error.hpp).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "base/syscall.hpp"
#include "mmapxx/error.hpp"

namespace mmapxx::detail {

// The largest file size or offset the kernel takes (off_t is signed 64-bit).
inline constexpr std::uint64_t max_file_offset = std::numeric_limits<std::int64_t>::max();

// Refuses, before any syscall, a path that is empty or holds a NUL byte (the kernel would see only
// the part before it). `operation` names the call in the error.
Failure check_path(const char* operation, std::string_view path) noexcept;

// open(2) with O_CLOEXEC always added. The std::string form also refuses embedded NUL bytes.
Failure open_fd(const char* path, int flags, mode_t mode, int& fd) noexcept;
Failure open_fd(const std::string& path, int flags, mode_t mode, int& fd) noexcept;
// Closes and sets -1; ignores -1. Inline: a destructor with no descriptor makes no call.
inline void close_fd(int& fd) noexcept {
  if (fd >= 0) sys::close(fd);  // no retry on EINTR: on Linux the descriptor is gone either way
  fd = -1;
}

struct FileInfo {
  std::uint64_t size = 0;
  bool regular = false;
  bool directory = false;
  bool character_device = false;  // mappable with an explicit length (/dev/zero, /dev/mem, ...)
  bool block_device = false;
  dev_t device = 0;  // st_dev and st_ino: the file's identity
  ino_t inode = 0;
};
Failure stat_fd(int fd, FileInfo& out) noexcept;

// Extends the file to at least `size` bytes with real blocks (posix_fallocate), never shrinks.
// A size past max_file_offset is EOVERFLOW before any syscall.
Failure allocate_fd(int fd, std::uint64_t size) noexcept;
// ftruncate; a size past max_file_offset is EOVERFLOW before any syscall.
Failure truncate_fd(int fd, std::uint64_t size) noexcept;

}  // namespace mmapxx::detail
