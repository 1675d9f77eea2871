// AnonymousRegion: zero-filled memory with no file behind it, private or shared across fork.
#pragma once

#include <cstddef>
#include <system_error>

#include "mmapxx/mapping.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx {

// The size is rounded up to whole pages (to the huge page size with HugePages::Explicit) and
// size() reports the usable, rounded size. A size of zero gives an empty region without mmap.
class AnonymousRegion final : public detail::Mapping<true> {
 public:
  AnonymousRegion() noexcept = default;
  explicit AnonymousRegion(std::size_t size, const AnonymousOptions& options = {});
  static AnonymousRegion create(std::size_t size, const AnonymousOptions& options,
                                std::error_code& ec) noexcept;

  AnonymousRegion(AnonymousRegion&&) noexcept = default;
  AnonymousRegion& operator=(AnonymousRegion&&) noexcept = default;

  bool shared() const noexcept { return options_.shared; }
  const char* label() const noexcept override;

  // mremap to the new (rounded) size; contents up to the smaller size are kept, new pages are zero.
  // The region may move: every pointer, span and reference into it is invalid afterwards.
  // Shared regions can shrink but not grow (ENOTSUP): the kernel's shmem object behind them has a
  // fixed size. SharedMemoryObject and memfd-backed memory grow.
  void resize(std::size_t new_size);
  void resize(std::size_t new_size, std::error_code& ec) noexcept;

 private:
  detail::Failure map(std::size_t size) noexcept;
  detail::Failure resize_to(std::size_t new_size) noexcept;

  AnonymousOptions options_{};
};

}  // namespace mmapxx
