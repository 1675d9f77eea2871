// MemoryObject: resize and size of shared memory objects and memfds
// (include/mmapxx/memory_object.hpp).
#include "mmapxx/memory_object.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "base/fd.hpp"
#include "shm/memory_size.hpp"

namespace mmapxx::detail {

namespace {

// off_t is signed 64-bit: a larger size would wrap to a negative length in the syscall.
constexpr std::uint64_t max_size = INT64_MAX;

// ENOSPC when the filesystem holding `fd` (a size-limited tmpfs such as /dev/shm) has less than
// `bytes` free. tmpfs without a size limit (memfd's internal mount) reports no blocks at all.
Failure check_space(int fd, std::uint64_t bytes) noexcept {
  struct statvfs fs {};
  if (::fstatvfs(fd, &fs) != 0 || fs.f_blocks == 0) return {};
  const std::uint64_t free = std::uint64_t(fs.f_bavail) * fs.f_frsize;
  if (bytes <= free) return {};
  return make_failure("resize", ENOSPC, "needs %llu more bytes, its filesystem has %llu free",
                      static_cast<unsigned long long>(bytes),
                      static_cast<unsigned long long>(free));
}

}  // namespace

Failure check_size(std::uint64_t size) noexcept {
  if (size <= max_size) return {};
  return make_failure("resize", EOVERFLOW, "size %llu is past 2^63-1, the largest object size",
                      static_cast<unsigned long long>(size));
}

Failure set_size(int fd, std::uint64_t size) noexcept {
  if (Failure failure = check_size(size)) return failure;
  if (fd < 0) return make_failure("resize", EBADF, "nothing is open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_failure("fstat", errno);
  const auto current = static_cast<std::uint64_t>(st.st_size);
  if (size > current) {
    // posix_fallocate on tmpfs or a memfd takes real pages at once, and the kernel answers a
    // request it cannot back with the OOM killer, not an error: measure before asking. Blocks
    // already allocated (st_blocks, 512-byte units) cost nothing more.
    const auto allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
    if (size > allocated) {
      // Memory first: a growth that no memory could back is ENOMEM whatever the filesystem.
      if (Failure failure = check_memory_budget("resize", size - allocated)) return failure;
      if (Failure failure = check_space(fd, size - allocated)) return failure;
    }
    return allocate_fd(fd, size);
  }
  if (size < current) return truncate_fd(fd, size);
  return {};
}

namespace {}  // namespace

MemoryObject::MemoryObject(MemoryObject&& other) noexcept
    : name_(std::move(other.name_)), fd_(std::exchange(other.fd_, -1)) {}

MemoryObject& MemoryObject::operator=(MemoryObject&& other) noexcept {
  if (this != &other) {
    close_fd(fd_);
    name_ = std::move(other.name_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

MemoryObject::~MemoryObject() {
  close_fd(fd_);
}

void MemoryObject::resize(std::uint64_t size) {
  if (Failure failure = set_size(fd_, size)) raise(failure, name_);
}

void MemoryObject::resize(std::uint64_t size, std::error_code& ec) noexcept {
  report(set_size(fd_, size), ec);
}

std::uint64_t MemoryObject::size() const {
  FileInfo info;
  if (Failure failure = stat_fd(fd_, info)) raise(failure, name_);
  return info.size;
}

std::uint64_t MemoryObject::size(std::error_code& ec) const noexcept {
  FileInfo info;
  report(stat_fd(fd_, info), ec);
  return info.size;
}

}  // namespace mmapxx::detail
