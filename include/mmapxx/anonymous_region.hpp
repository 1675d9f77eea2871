/// @file
/// AnonymousRegion: zero-filled memory with no file behind it, private or shared across fork.
#pragma once

#include <cstddef>
#include <system_error>

#include "mmapxx/mapping.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx {

/// Zero-filled memory with no file behind it: private (MAP_PRIVATE|MAP_ANONYMOUS), shared with
/// children after fork (.shared = true), or mapped from /dev/zero (.dev_zero = true).
/// size() is the size asked for, exactly, as for every other view. The mapping itself is whole
/// pages (whole huge pages with HugePages::Explicit): capacity() reports that rounded length. The
/// bytes between size() and capacity() are mapped but outside the view. A size of zero gives an
/// empty region without mmap.
class AnonymousRegion final : public detail::Mapping<true> {
 public:
  AnonymousRegion() noexcept = default;
  explicit AnonymousRegion(std::size_t size, const AnonymousOptions& options = {});
  static AnonymousRegion create(std::size_t size, const AnonymousOptions& options,
                                std::error_code& ec) noexcept;

  AnonymousRegion(AnonymousRegion&&) noexcept = default;
  AnonymousRegion& operator=(AnonymousRegion&&) noexcept = default;

  bool shared() const noexcept { return options_.shared; }
  /// The bytes actually mapped: size() rounded up to the page size (to 2 MiB with
  /// HugePages::Explicit); 0 for an empty region. What the region costs in address space, and the
  /// size up to which a shared region can resize() back. No syscall.
  std::size_t capacity() const noexcept;
  const char* label() const noexcept override;

  /// Makes size() == new_size. Contents up to the smaller size are kept; bytes beyond the old size
  /// read as zero (private regions). Syscalls: mremap when the page-rounded length changes (none
  /// otherwise); 0 unmaps (munmap); resizing an empty region maps it (mmap).
  /// The region may move: every pointer, span and reference into it is invalid afterwards, and a
  /// live ProtectionGuard over it must end first.
  /// Works after protect()/set_protection()/advise() on part of the region, or write tracking,
  /// split it into several kernel memory areas (VMAs): one mremap cannot grow those, so each area
  /// is moved unchanged (mremap MREMAP_FIXED) into a fresh reservation and the last one grows,
  /// after one read of /proc/self/maps. Every page keeps its contents, protection and advice; new
  /// pages get those of the last page. Nothing is copied.
  /// Errors: invalid_argument for a size whose page rounding would pass 2^64, before any
  /// syscall; ENOMEM from mremap (address space, vm.max_map_count). A failure leaves the region
  /// as it was. Shared regions can shrink, and grow back up to capacity(), but not beyond
  /// (ENOTSUP): the kernel's shmem object behind them has a fixed size (SharedMemoryObject and
  /// memfd-backed memory grow). A shared region growing within its last page shows those bytes as
  /// they are in the shared memory (another process may have written them).
  void resize(std::size_t new_size);
  void resize(std::size_t new_size, std::error_code& ec) noexcept;

 private:
  detail::Failure map(std::size_t size) noexcept;
  detail::Failure resize_to(std::size_t new_size) noexcept;

  AnonymousOptions options_{};
};

}  // namespace mmapxx
