// The one map primitive: every mmap, munmap and mremap in the library goes through here, so the
// fault registry and page alignment live in a single place.
#pragma once

#include <sys/mman.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/syscall.hpp"
#include "mapping/registry.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/flags.hpp"
#include "mmapxx/mapping.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx::detail {

// The largest view: no object may exceed PTRDIFF_MAX (2^63 - 1), which also leaves room for
// page and huge-page rounding without wrapping. Larger sizes are invalid_argument before any
// syscall.
inline constexpr std::size_t max_view_size = static_cast<std::size_t>(PTRDIFF_MAX);

struct MapRequest {
  std::size_t length = 0;    // bytes of the view, > 0
  std::uint64_t offset = 0;  // file offset of the view's first byte; any alignment
  int prot = 0;              // PROT_*
  int flags = 0;             // MAP_SHARED or MAP_PRIVATE, plus MAP_ANONYMOUS etc.
  int fd = -1;
  bool populate = false;
  std::optional<Advice> advice{};
  bool locked = false;
  HugePages huge_pages = HugePages::None;
  bool no_reserve = false;
  Placement placement{};   // anywhere, inside a reservation, or at an address (NOREPLACE)
  const char* label = "";  // the path or name the fault registry reports
  // strlen(label) when the caller knows it (a std::string's size()), saving the registry a scan.
  std::size_t label_length = SIZE_MAX;
};

struct View {
  std::byte* data = nullptr;
  std::size_t size = 0;
  // Bytes of whole pages mapped under the view, from the page holding data; 0 means "the pages
  // covering size" (huge pages and rounded-up anonymous sizes set it).
  std::size_t mapped = 0;
};

[[gnu::visibility("hidden")]] Failure map_view(const MapRequest& request, View& out) noexcept;
// map_plain's failures, out of line: `code` 0 for a length past PTRDIFF_MAX, else mmap's errno.
[[gnu::visibility("hidden"), gnu::cold]] Failure map_plain_failure(std::size_t length,
                                                                   std::uint64_t offset,
                                                                   int code) noexcept;
// map_view for a request with no option beyond prot and flags (no populate, advice, lock, huge
// pages, no_reserve or placement): one mmap, then the registry. The common case, without building
// a MapRequest, inline in its callers (no call layer between mmap's return and the caller).
// label_length is strlen(label), or SIZE_MAX for "not known".
[[gnu::always_inline]] inline Failure map_plain(std::size_t length, std::uint64_t offset, int prot,
                                                int flags, int fd, const char* label,
                                                std::size_t label_length, View& out) noexcept {
  // No object may exceed PTRDIFF_MAX, and the rounding below (head < one page) must not wrap:
  // refused before any syscall.
  if (length > max_view_size) [[unlikely]]
    return map_plain_failure(length, offset, 0);
  const std::size_t page = page_size();
  const std::uint64_t aligned_offset = align_down(offset, std::uint64_t{page});
  const std::size_t head = static_cast<std::size_t>(offset - aligned_offset);
  const std::size_t mapped = align_up(head + length, page);
  const long result =
      sys::mmap(nullptr, mapped, prot, flags, fd, static_cast<off_t>(aligned_offset));
  if (sys::failed(result)) [[unlikely]]
    return map_plain_failure(length, offset, sys::error_of(result));
  void* const base = reinterpret_cast<void*>(result);
  if (label_length != SIZE_MAX)
    registry_add(static_cast<std::byte*>(base), mapped, label, label_length, aligned_offset);
  else
    registry_add(static_cast<std::byte*>(base), mapped, label, aligned_offset);
  out.data = static_cast<std::byte*>(base) + head;
  out.size = length;
  out.mapped = mapped;
  return {};
}
// Unmaps a view made by map_view (nothing for a null data); the three fields of View, passed in
// registers.
[[gnu::visibility("hidden")]] void unmap_view(std::byte* data, std::size_t size,
                                              std::size_t mapped) noexcept;
inline void unmap_view(View view) noexcept {
  unmap_view(view.data, view.size, view.mapped);
}
// Resizes a non-empty view to a non-zero size, moving it if it must. The mapped length is
// rounded up to `granule` (0: the page size; the huge page size for MAP_HUGETLB memory). Works
// whatever was done to parts of the view (protect, advise, write tracking split it into several
// kernel memory areas): see the comment on grow_split in primitive.cpp.
Failure remap_view(View& view, std::size_t new_size, const char* label, std::uint64_t file_offset,
                   std::size_t granule = 0) noexcept;

// The whole pages under a view: what munmap, mprotect, msync, madvise and mincore act on. `page`:
// the page size, for a caller that has it at hand.
inline PageSpan pages_of(const std::byte* data, std::size_t size,
                         std::uintptr_t page = page_size()) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  const auto begin = align_down(address, page);
  const auto end = align_up(address + size, page);
  return {reinterpret_cast<std::byte*>(begin), end - begin};
}
inline int to_prot(Protection protection) noexcept {
  return static_cast<int>(protection);  // Protection's values are the PROT_* bits
}
// The detail of a failed mlock: the range, and for ENOMEM/EPERM/EAGAIN the current
// RLIMIT_MEMLOCK, which is what usually refused it.
Failure lock_failure(int code, std::uint64_t offset, std::size_t length) noexcept;
int to_madvise(Advice advice) noexcept;

}  // namespace mmapxx::detail
