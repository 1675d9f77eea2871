/// @file
/// RAII mprotect: a byte range gets a new protection for a scope, then the previous one back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "mmapxx/error.hpp"
#include "mmapxx/flags.hpp"

namespace mmapxx {

namespace detail {
class MappingCore;
struct ProtectionState;
}  // namespace detail

/// A protection change that ends with the guard. Made by a mapping's protect() (the usual way) it
/// puts back, at its end, whatever the mapping's record says lies under it: the base protection,
/// set_protection() ranges, enclosing guards; guards over one mapping nest and may end in any
/// order. Made directly over any memory, it restores the `restore_to` it was given.
class ProtectionGuard {
 public:
  /// An inactive guard: its end does nothing.
  ProtectionGuard() noexcept = default;
  /// Changes the pages covering `range` (aligned outward inside) to `protection` (mprotect); the
  /// destructor sets them back to `restore_to`. For memory that no mmapxx mapping owns; over a
  /// mapping, use its protect(), which knows what to restore. Whole pages change, including bytes
  /// of the first and last page outside `range`. An empty range gives an inactive guard (no
  /// syscall). Syscall: one mprotect(2) now, one at the end. Errors: mprotect's errno (EACCES:
  /// Write on memory mapped from a read-only descriptor; ENOMEM: pages not mapped, or a split
  /// past vm.max_map_count). A failure changes nothing. Allocates nothing.
  ProtectionGuard(std::span<const std::byte> range, Protection protection, Protection restore_to);
  /// Same; errors go to ec (the guard is then inactive).
  static ProtectionGuard make(std::span<const std::byte> range, Protection protection,
                              Protection restore_to, std::error_code& ec) noexcept;

  /// Takes over the guard; `other` becomes inactive. No syscall.
  ProtectionGuard(ProtectionGuard&& other) noexcept;
  /// Ends this guard (restoring, as the destructor), then takes over `other`.
  ProtectionGuard& operator=(ProtectionGuard&& other) noexcept;
  ProtectionGuard(const ProtectionGuard&) = delete;
  ProtectionGuard& operator=(const ProtectionGuard&) = delete;
  /// Restores (one mprotect per run of equal protection under the guard: one when nothing else
  /// lies over its range); never throws (a failure there is ignored, as munmap's would be).
  ~ProtectionGuard();

  /// Restores now, reporting failure (mprotect's errno); the guard is then inactive. On failure it
  /// stays active.
  void restore();
  /// Same; errors go to ec.
  void restore(std::error_code& ec) noexcept;

  /// Keeps the new protection for good and ends the guard without a syscall. From protect(), the
  /// mapping records it exactly as set_protection() over the guard's pages would: over the whole
  /// view protection() then reports it. Never fails (if the record cannot grow, it stays a
  /// guard's entry, which reports the same protection until the mapping ends).
  void release() noexcept;

  /// Whether the guard still has a protection to put back (false once restored or released).
  bool active() const noexcept { return length_ != 0; }
  /// What the guard's first page returns to at its end, as known when the guard was made.
  Protection restore_to() const noexcept { return restore_to_; }

 private:
  friend class detail::MappingCore;
  // Adopts pages whose protection protect() already changed and recorded under guard `id`.
  ProtectionGuard(std::byte* begin, std::size_t length, Protection restore_to,
                  detail::ProtectionState* state, std::uint64_t id, std::size_t offset) noexcept
      : begin_(begin),
        length_(length),
        restore_to_(restore_to),
        state_(state),
        id_(id),
        offset_(offset) {}
  // Changes the pages and takes them on; 0 or mprotect's errno, and nothing changed.
  int apply(std::span<const std::byte> range, Protection protection,
            Protection restore_to) noexcept;
  int end() noexcept;  // removes the record entry and restores; 0 or mprotect's errno

  std::byte* begin_ = nullptr;  // page-aligned
  std::size_t length_ = 0;      // whole pages
  Protection restore_to_ = Protection::None;
  detail::ProtectionState* state_ = nullptr;  // the mapping's record; null for a direct guard
  std::uint64_t id_ = 0;
  std::size_t offset_ = 0;  // begin_'s offset in the record
};

}  // namespace mmapxx
