// What the map primitive asks of reservations (mapping/reservation.cpp): claim a range for a
// view, give it back to reserved state, grow or shrink it in place.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mmapxx/error.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx::detail {

// Marks [offset, offset + length) of the placement's reservation as used by a view with these
// mmap prot/flags and returns its address; the caller then mmaps there with MAP_FIXED and calls
// reservation_unclaim() if that fails.
Failure reservation_claim(const Placement& placement, std::size_t length, int prot, int flags,
                          std::byte*& at) noexcept;
// Gives back a claim whose mmap failed.
void reservation_unclaim(std::byte* begin, std::size_t length) noexcept;
// How many reservations are alive. Outside reservations (the usual case) the map primitive's
// unmap pays one relaxed load of it, inline, and no call.
[[gnu::visibility("hidden")]] extern std::atomic<std::size_t> reservations_live;
// reservation_release() once a reservation exists: takes the table lock and looks `begin` up.
[[gnu::visibility("hidden")]] bool reservation_release_placed(std::byte* begin,
                                                              std::size_t length) noexcept;
// When `begin` starts a view placed in a live reservation: returns its `length` bytes to the
// reserved state (PROT_NONE, MAP_FIXED) and returns true. Otherwise false, touching nothing.
// Cost when no reservation exists: one relaxed atomic load.
inline bool reservation_release(std::byte* begin, std::size_t length) noexcept {
  if (reservations_live.load(std::memory_order_relaxed) == 0) return false;
  return reservation_release_placed(begin, length);
}
// When `begin` starts a view placed in a reservation: resizes it in place from old_length to
// new_length bytes (whole pages), sets `failure`, and returns true. Otherwise false.
bool reservation_resize(std::byte* begin, std::size_t old_length, std::size_t new_length,
                        Failure& failure) noexcept;

}  // namespace mmapxx::detail
