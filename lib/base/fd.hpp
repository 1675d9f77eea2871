// Descriptor-level helpers shared by MappedFile and the shared-memory types.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

// open(2) with O_CLOEXEC always added.
Failure open_fd(const std::string& path, int flags, mode_t mode, int& fd) noexcept;
void close_fd(int& fd) noexcept;  // closes and sets -1; ignores -1

struct FileInfo {
  std::uint64_t size = 0;
  bool regular = false;
  bool directory = false;
};
Failure stat_fd(int fd, FileInfo& out) noexcept;

// Extends the file to at least `size` bytes with real blocks (posix_fallocate), never shrinks.
Failure allocate_fd(int fd, std::uint64_t size) noexcept;
Failure truncate_fd(int fd, std::uint64_t size) noexcept;

}  // namespace mmapxx::detail
