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
///
/// The view and page-level calls come from detail::Mapping and detail::MappingCore
/// (mmapxx/mapping.hpp, documented there): data(), size(), empty(), bytes(), begin()/end(),
/// operator[], as<T>(), advise(), advise_unchecked(), lock(), unlock(), residency(), protect(),
/// set_protection(), protection(), protection_at().
class AnonymousRegion final : public detail::Mapping<true> {
 public:
  /// An empty region (no mapping).
  AnonymousRegion() noexcept = default;
  /// Maps `size` zero-filled bytes, readable and writable, as `options` say; size 0 maps nothing.
  /// Syscalls: one mmap (MAP_ANONYMOUS, or open/mmap/close of /dev/zero with dev_zero), then the
  /// madvise/mlock the options ask for (huge_pages = Transparent, populate, locked).
  /// Errors: invalid_argument before any syscall for a size past PTRDIFF_MAX, Explicit huge
  ///   pages with dev_zero, no_reserve with Explicit but without populate, or a bad placement;
  ///   ENOMEM from mmap (address space, vm.max_map_count, no huge pages: the message names
  ///   /proc/sys/vm/nr_hugepages); ENOMEM/EPERM from mlock past RLIMIT_MEMLOCK; EEXIST for a
  ///   placement over memory in use. A failure leaves nothing mapped.
  /// Cost: address space only; pages are allocated on first touch unless populate is set.
  explicit AnonymousRegion(std::size_t size, const AnonymousOptions& options = {});
  /// Same; errors go to ec (an empty region is returned).
  static AnonymousRegion create(std::size_t size, const AnonymousOptions& options,
                                std::error_code& ec) noexcept;

  /// Takes over the mapping; `other` is left empty. No syscall.
  AnonymousRegion(AnonymousRegion&&) noexcept = default;
  /// Unmaps this region's memory, then takes over `other`'s.
  AnonymousRegion& operator=(AnonymousRegion&&) noexcept = default;

  /// Whether the region is MAP_SHARED (AnonymousOptions::shared): children made by fork see the
  /// same memory.
  bool shared() const noexcept { return options_.shared; }
  /// The bytes actually mapped: size() rounded up to the page size (to 2 MiB with
  /// HugePages::Explicit); 0 for an empty region. What the region costs in address space, and the
  /// size up to which a shared region can resize() back. No syscall.
  std::size_t capacity() const noexcept;
  /// What errors name: "anonymous memory", "anonymous shared memory" or "/dev/zero".
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
  /// Same; errors go to ec.
  void resize(std::size_t new_size, std::error_code& ec) noexcept;

 private:
  detail::Failure map(std::size_t size) noexcept;
  detail::Failure resize_to(std::size_t new_size) noexcept;

  AnonymousOptions options_{};
};

}  // namespace mmapxx
