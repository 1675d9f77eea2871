/// @file
/// AddressReservation: a range of address space held empty (PROT_NONE) so that views can be
/// placed inside it, and grow inside it without ever moving.
#pragma once

#include <cstddef>
#include <system_error>
#include <utility>

#include "mmapxx/options.hpp"

namespace mmapxx {

namespace detail {
struct ReservationState;
}

/// Reserves `size` bytes (rounded up to whole pages) of address space: one mmap(PROT_NONE,
/// MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE). It costs address space only: no memory, no swap
/// reservation, no page tables (64 GiB reserves in microseconds); touching a reserved byte is a
/// SIGSEGV.
///
/// Views go inside with MapOptions/AnonymousOptions{.placement = reservation.at(offset)}: files,
/// SharedMemoryObject and SealedMemory (map<A>()), and AnonymousRegion. They are ordinary mmapxx
/// mappings (fault translation, advise, protect, residency, flush all work); their mmap uses
/// MAP_FIXED only over pages this reservation holds reserved, and overlapping views are refused.
/// When a view dies (or shrinks) its pages return to the reserved state (one PROT_NONE MAP_FIXED
/// mmap over them), not to the kernel, so nobody else's mmap can land there. A MappedFile or
/// private AnonymousRegion inside a reservation grows in place with resize(): data() never moves.
///
/// Address stability: data() never changes while the reservation lives. The range stays
/// reserved until both the reservation object and every view placed in it are gone, so a view
/// that outlives its reservation stays valid. Thread safety: placing, resizing and dropping views
/// of one reservation from several threads is safe (an internal mutex).
/// Kernel: any Linux; each view adds VMAs (vm.max_map_count, default 65530, counts them).
class AddressReservation {
 public:
  /// An empty reservation (nothing reserved).
  AddressReservation() noexcept = default;
  /// Syscall: one mmap. Errors: invalid_argument for size 0 or a size that cannot be rounded to
  /// pages (before any syscall); ENOMEM when the address space is exhausted (RLIMIT_AS, or more
  /// than 128 TiB on x86-64). Allocates one small bookkeeping object.
  explicit AddressReservation(std::size_t size);
  /// Same; errors go to ec (an empty reservation is returned).
  static AddressReservation create(std::size_t size, std::error_code& ec) noexcept;
  /// Takes over the reservation; `other` is left empty. data() does not change. No syscall.
  AddressReservation(AddressReservation&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  /// Releases this reservation (as the destructor), then takes over `other`'s.
  AddressReservation& operator=(AddressReservation&& other) noexcept;
  AddressReservation(const AddressReservation&) = delete;
  AddressReservation& operator=(const AddressReservation&) = delete;
  /// munmap of the reserved range, or, while views are still placed in it, of nothing yet: the
  /// last view to die unmaps the rest. Never throws.
  ~AddressReservation();

  /// The first reserved byte (page-aligned) and the reserved length in bytes.
  std::byte* data() const noexcept;
  /// The reserved length in bytes (a page multiple); 0 when empty.
  std::size_t size() const noexcept;
  /// Whether a range is reserved.
  explicit operator bool() const noexcept { return state_ != nullptr; }
  /// Whether `address` lies in [data(), data() + size()). No syscall, no lock.
  bool contains(const void* address) const noexcept;
  /// Bytes currently occupied by views (whole pages). Takes the internal mutex.
  std::size_t used() const noexcept;

  /// The placement of a view `offset` bytes into this reservation (a page multiple, checked when
  /// the view is mapped: EINVAL; a view that would overlap another or run past size() is refused
  /// with EEXIST or ENOMEM, naming the range).
  Placement at(std::size_t offset) const noexcept { return Placement{this, offset, nullptr}; }

  // ---- internal: for the library only (a member, so no file-level fence) ----
  /// @cond INTERNAL
  // The shared bookkeeping the library's map primitive uses; not for callers.
  detail::ReservationState* state() const noexcept { return state_; }
  /// @endcond

 private:
  detail::ReservationState* state_ = nullptr;
};

}  // namespace mmapxx
