// AnonymousRegion (include/mmapxx/anonymous_region.hpp): private or shared zero-filled memory.
#include "mmapxx/anonymous_region.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fd.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx {

namespace {
constexpr std::size_t huge_page_size = std::size_t{2} << 20;  // x86-64 and arm64 default
}  // namespace

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
  if (size == 0) {
    if (options_.placement.reservation || options_.placement.address)
      return detail::invalid_argument("mmap", "an empty region cannot be placed: give it a size");
    return {};
  }
  if (options_.dev_zero && options_.huge_pages == HugePages::Explicit)
    return detail::invalid_argument("mmap", "huge_pages: Explicit cannot be backed by /dev/zero");
  detail::MapRequest request;
  request.length = size;
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
  mapped_ = view.mapped;
  return {};
}

std::size_t AnonymousRegion::capacity() const noexcept {
  return mapped_;
}

detail::Failure AnonymousRegion::resize_to(std::size_t new_size) noexcept {
  if (new_size > detail::max_view_size)
    return detail::invalid_argument(
        "mremap", "size %zu is larger than any mapping can be (PTRDIFF_MAX)", new_size);
  if (new_size == 0) {
    reset();
    return {};
  }
  if (data_ == nullptr) return map(new_size);
  const std::size_t granule =
      options_.huge_pages == HugePages::Explicit ? huge_page_size : page_size();
  // The shmem object behind shared anonymous memory keeps its creation size: mremap could make
  // the mapping larger, but touching the new pages would raise SIGBUS. Growing within the
  // capacity needs no syscall at all.
  if (options_.shared && new_size > mapped_)
    return detail::make_failure("mremap", ENOTSUP,
                                "shared anonymous memory cannot grow; use a SharedMemoryObject or "
                                "a sealed memfd for growable shared memory");
  std::error_code ignored;  // new_size < size_ here: a valid offset
  if (!options_.shared && new_size < size_ &&
      has(protection_at(new_size, ignored), Protection::Write)) {
    // The bytes past the new size that stay mapped (the rest of the last page) must read as
    // zero if the region grows again, as new pages do. Shared memory is left alone: other
    // processes may still see those bytes in their views.
    const std::size_t kept = std::min(size_, align_up(new_size, granule));
    std::memset(data_ + new_size, 0, kept - new_size);
  }
  detail::View view{data_, size_, mapped_};
  if (detail::Failure failure = detail::remap_view(view, new_size, label(), 0, granule))
    return failure;
  const std::size_t old_size = size_;
  data_ = view.data;
  size_ = view.size;
  mapped_ = view.mapped;
  resized(old_size);
  return {};
}

void AnonymousRegion::resize(std::size_t new_size) {
  if (detail::Failure failure = resize_to(new_size)) detail::raise(failure, label());
}

void AnonymousRegion::resize(std::size_t new_size, std::error_code& ec) noexcept {
  detail::report(resize_to(new_size), ec);
}

}  // namespace mmapxx
