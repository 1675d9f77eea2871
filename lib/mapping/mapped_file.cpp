#include "mmapxx/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "base/fd.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx {

namespace {

constexpr Protection protection_of(Access access) noexcept {
  return access == Access::Read ? Protection::Read : Protection::Read | Protection::Write;
}

constexpr int open_flags(Access access) noexcept {
  return access == Access::Write ? O_RDWR : O_RDONLY;
}

int to_msync(SyncPolicy policy) noexcept {
  switch (policy) {
    case SyncPolicy::Sync:
      return MS_SYNC;
    case SyncPolicy::Async:
      return MS_ASYNC;
    case SyncPolicy::Invalidate:
      return MS_SYNC | MS_INVALIDATE;
  }
  return MS_SYNC;
}

std::string fd_name(int fd) {
  return "fd " + std::to_string(fd);
}

}  // namespace

template <Access A>
MappedFile<A>::MappedFile(const std::string& path, const MapOptions& options) : path_(path) {
  if (detail::Failure failure = map_path(options)) detail::raise(failure, path_);
}

template <Access A>
MappedFile<A>::MappedFile(int fd, const MapOptions& options, std::string name)
    : path_(name.empty() ? fd_name(fd) : std::move(name)) {
  if (detail::Failure failure = map(fd, options, /*adopt=*/false)) detail::raise(failure, path_);
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const std::string& path, const MapOptions& options,
                                  std::error_code& ec) noexcept {
  MappedFile file;
  file.path_ = path;
  if (detail::report(file.map_path(options), ec)) return {};
  return file;
}

template <Access A>
MappedFile<A> MappedFile<A>::open(int fd, const MapOptions& options, std::error_code& ec,
                                  std::string name) noexcept {
  MappedFile file;
  file.path_ = name.empty() ? fd_name(fd) : std::move(name);
  if (detail::report(file.map(fd, options, /*adopt=*/false), ec)) return {};
  return file;
}

template <Access A>
MappedFile<A>::MappedFile(MappedFile&& other) noexcept
    : detail::Mapping<writable>(std::move(other)),
      path_(std::move(other.path_)),
      offset_(other.offset_),
      fd_(std::exchange(other.fd_, -1)) {}

template <Access A>
MappedFile<A>& MappedFile<A>::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    close_fd();
    detail::Mapping<writable>::operator=(std::move(other));
    path_ = std::move(other.path_);
    offset_ = other.offset_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

template <Access A>
MappedFile<A>::~MappedFile() {
  close_fd();
}

template <Access A>
void MappedFile<A>::close_fd() noexcept {
  detail::close_fd(fd_);
}

template <Access A>
detail::Failure MappedFile<A>::map_path(const MapOptions& options) noexcept {
  if (options.create_size && A != Access::Write)
    return detail::invalid_argument("open", "create_size needs Access::Write");
  int fd = -1;
  const int flags = open_flags(A) | (options.create_size ? O_CREAT : 0);
  if (detail::Failure failure = detail::open_fd(path_, flags, 0666, fd)) return failure;
  detail::Failure failure = map(fd, options, /*adopt=*/true);
  if (failure || A != Access::Write) detail::close_fd(fd);
  return failure;
}

template <Access A>
detail::Failure MappedFile<A>::map(int fd, const MapOptions& options, bool adopt) noexcept {
  if (fd < 0) return detail::make_failure("mmap", EBADF, "fd=" + std::to_string(fd));
  if (options.create_size && A != Access::Write)
    return detail::invalid_argument("mmap", "create_size needs Access::Write");
  detail::FileInfo info;
  if (detail::Failure failure = detail::stat_fd(fd, info)) return failure;
  if (info.directory) return detail::make_failure("mmap", EISDIR);
  if (options.create_size && info.size < *options.create_size) {
    if (detail::Failure failure = detail::allocate_fd(fd, *options.create_size)) return failure;
    info.size = *options.create_size;
  }

  const std::uint64_t offset = options.offset;
  std::size_t length = 0;
  if (info.regular) {
    if (offset > info.size)
      return detail::invalid_argument("mmap", "offset " + std::to_string(offset) +
                                                  " is past end of file (size " +
                                                  std::to_string(info.size) + ")");
    const std::uint64_t available = info.size - offset;
    length = options.length.value_or(static_cast<std::size_t>(available));
    if (length > available)
      return detail::invalid_argument(
          "mmap", "length " + std::to_string(length) + " at offset " + std::to_string(offset) +
                      " runs past end of file (size " + std::to_string(info.size) + ")");
  } else if (options.length) {
    length = *options.length;
  } else {
    return detail::make_failure("mmap", ENODEV, "not a regular file: give a length");
  }

  offset_ = offset;
  this->protection_ = protection_of(A);
  // Write keeps a descriptor for resize(). A caller's is duplicated, so closing theirs (or the
  // SharedMemoryObject that lent it) cannot leave us resizing whatever reuses that number.
  int kept = -1;
  if (A == Access::Write) {
    kept = adopt ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (kept < 0) return detail::make_failure("fcntl", errno, "F_DUPFD_CLOEXEC");
  }
  const auto keep = [&] {
    if (A == Access::Write) fd_ = kept;
  };
  if (length == 0) {
    keep();
    return {};
  }

  detail::MapRequest request;
  request.length = length;
  request.offset = offset;
  request.prot = detail::to_prot(this->protection_);
  request.flags = A == Access::CopyOnWrite ? MAP_PRIVATE : MAP_SHARED;
  request.fd = fd;
  request.populate = options.populate;
  request.advice = options.advice;
  request.locked = options.locked;
  request.huge_pages = options.huge_pages;
  request.no_reserve = options.no_reserve;
  request.placement = options.placement;
  request.label = path_.c_str();
  detail::View view;
  if (detail::Failure failure = detail::map_view(request, view)) {
    if (!adopt) detail::close_fd(kept);
    return failure;
  }
  keep();
  this->data_ = view.data;
  this->size_ = view.size;
  return {};
}

template <Access A>
void MappedFile<A>::flush(SyncPolicy policy, std::size_t offset, std::size_t length) const
    requires(A == Access::Write) {
  if (detail::Failure failure = this->flush_range(to_msync(policy), offset, length))
    detail::raise(failure, path_);
}

template <Access A>
void MappedFile<A>::flush(SyncPolicy policy, std::size_t offset, std::size_t length,
                          std::error_code& ec) const noexcept requires(A == Access::Write) {
  detail::report(this->flush_range(to_msync(policy), offset, length), ec);
}

template <Access A>
detail::Failure MappedFile<A>::resize_to(std::size_t new_size) noexcept {
  if (fd_ < 0) return detail::make_failure("resize", EBADF, "nothing is mapped");
  detail::FileInfo info;
  if (detail::Failure failure = detail::stat_fd(fd_, info)) return failure;
  const std::uint64_t new_end = offset_ + new_size;
  if (new_end > info.size)
    if (detail::Failure failure = detail::allocate_fd(fd_, new_end)) return failure;

  detail::View view{this->data_, this->size_};
  detail::Failure failure;
  if (new_size == 0) {
    this->reset();
    view = {};
  } else if (view.data == nullptr) {
    detail::MapRequest request;
    request.length = new_size;
    request.offset = offset_;
    request.prot = detail::to_prot(this->protection_);
    request.flags = MAP_SHARED;
    request.fd = fd_;
    request.label = path_.c_str();
    failure = detail::map_view(request, view);
  } else {
    failure = detail::remap_view(view, new_size, path_.c_str(), offset_);
  }
  if (failure) {
    if (new_end > info.size) detail::truncate_fd(fd_, info.size);  // undo the growth
    return failure;
  }
  this->data_ = view.data;
  this->size_ = view.size;
  // Shrink the file only once no mapped page lies past its new end.
  if (new_end < info.size) return detail::truncate_fd(fd_, new_end);
  return {};
}

template <Access A>
void MappedFile<A>::resize(std::size_t new_size) requires(A == Access::Write) {
  if (detail::Failure failure = resize_to(new_size)) detail::raise(failure, path_);
}

template <Access A>
void MappedFile<A>::resize(std::size_t new_size, std::error_code& ec) noexcept
    requires(A == Access::Write) {
  detail::report(resize_to(new_size), ec);
}

template class MappedFile<Access::Read>;
template class MappedFile<Access::Write>;
template class MappedFile<Access::CopyOnWrite>;

}  // namespace mmapxx
