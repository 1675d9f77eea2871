#include "mmapxx/anonymous_region.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>

#include "base/fd.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx {

AnonymousRegion::AnonymousRegion(std::size_t size, const AnonymousOptions& options)
    : options_(options) {
  if (detail::Failure failure = map(size)) detail::raise(failure, label());
}

AnonymousRegion AnonymousRegion::create(std::size_t size, const AnonymousOptions& options,
                                        std::error_code& ec) noexcept {
  AnonymousRegion region;
  region.options_ = options;
  if (detail::report(region.map(size), ec)) return {};
  return region;
}

const char* AnonymousRegion::label() const noexcept {
  if (options_.dev_zero) return "/dev/zero";
  return options_.shared ? "anonymous shared memory" : "anonymous memory";
}

detail::Failure AnonymousRegion::map(std::size_t size) noexcept {
  protection_ = Protection::Read | Protection::Write;
  if (size == 0) return {};
  if (options_.dev_zero && options_.huge_pages == HugePages::Explicit)
    return detail::invalid_argument("mmap", "huge_pages: Explicit cannot be backed by /dev/zero");
  if (size > SIZE_MAX - 2 * (std::size_t{2} << 20))
    return detail::invalid_argument("mmap", "size " + std::to_string(size) + " is too large");

  detail::MapRequest request;
  request.length = align_up(size, page_size());
  request.prot = detail::to_prot(protection_);
  request.flags = options_.shared ? MAP_SHARED : MAP_PRIVATE;
  request.populate = options_.populate;
  request.locked = options_.locked;
  request.huge_pages = options_.huge_pages;
  request.no_reserve = options_.no_reserve;
  request.placement = options_.placement;
  request.label = label();

  int fd = -1;
  if (options_.dev_zero) {
    if (detail::Failure failure = detail::open_fd("/dev/zero", O_RDWR, 0, fd)) return failure;
    request.fd = fd;
  } else {
    request.flags |= MAP_ANONYMOUS;
  }
  detail::View view;
  detail::Failure failure = detail::map_view(request, view);
  detail::close_fd(fd);  // the mapping keeps /dev/zero's memory alive, not the descriptor
  if (failure) return failure;
  data_ = view.data;
  size_ = view.size;
  return {};
}

detail::Failure AnonymousRegion::resize_to(std::size_t new_size) noexcept {
  if (new_size == 0) {
    reset();
    return {};
  }
  if (data_ == nullptr) return map(new_size);
  std::size_t rounded = align_up(new_size, page_size());
  if (options_.huge_pages == HugePages::Explicit) rounded = align_up(rounded, std::size_t{2} << 20);
  // The shmem object behind shared anonymous memory keeps its creation size: mremap could make
  // the mapping larger, but touching the new pages would raise SIGBUS.
  if (options_.shared && rounded > size_)
    return detail::make_failure("mremap", ENOTSUP,
                                "shared anonymous memory cannot grow; use a SharedMemoryObject or "
                                "a sealed memfd for growable shared memory");
  detail::View view{data_, size_};
  if (detail::Failure failure = detail::remap_view(view, rounded, label(), 0)) return failure;
  data_ = view.data;
  size_ = view.size;
  return {};
}

void AnonymousRegion::resize(std::size_t new_size) {
  if (detail::Failure failure = resize_to(new_size)) detail::raise(failure, label());
}

void AnonymousRegion::resize(std::size_t new_size, std::error_code& ec) noexcept {
  detail::report(resize_to(new_size), ec);
}

}  // namespace mmapxx
