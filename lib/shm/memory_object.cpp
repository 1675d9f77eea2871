#include "mmapxx/memory_object.hpp"

#include <cerrno>
#include <utility>

#include "base/fd.hpp"

namespace mmapxx::detail {

namespace {

Failure set_size(int fd, std::uint64_t size) noexcept {
  if (fd < 0) return make_failure("resize", EBADF, "nothing is open");
  FileInfo info;
  if (Failure failure = stat_fd(fd, info)) return failure;
  if (size > info.size) return allocate_fd(fd, size);
  if (size < info.size) return truncate_fd(fd, size);
  return {};
}

}  // namespace

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
