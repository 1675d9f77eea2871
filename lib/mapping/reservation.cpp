// Reserved address space and the views placed inside it: mmapxx/reservation.hpp.
//
// Every live reservation is in one table under one mutex, so the map primitive can tell, from an
// address alone, whether a view it unmaps or resizes lies in a reservation (then its pages go
// back to PROT_NONE instead of to the kernel). The table is only consulted when at least one
// reservation exists (an atomic count), so mappings outside reservations pay one relaxed load.
#include "mmapxx/reservation.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "mapping/reservation.hpp"
#include "mmapxx/page.hpp"

namespace mmapxx::detail {

struct Use {
  std::size_t length = 0;
  int prot = 0;
  int flags = 0;  // without MAP_ANONYMOUS and MAP_FIXED
  bool anonymous = false;
  bool lost = false;  // the pages could not be re-reserved and may be someone else's now
};

struct ReservationState {
  std::byte* base = nullptr;
  std::size_t size = 0;
  std::map<std::size_t, Use> uses;  // by offset from base; never overlapping
  bool owned = true;                // the AddressReservation object still exists
};

std::atomic<std::size_t> reservations_live{0};

namespace {

std::mutex table_mutex;
std::vector<ReservationState*> table;  // guarded by table_mutex

constexpr int reserve_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

// "[offset, end) of the reservation at 0x... (size bytes)", in a buffer of its own: error paths
// here run under the table mutex in noexcept code and must not allocate.
struct RangeText {
  char text[128];
  RangeText(const ReservationState& state, std::size_t offset, std::size_t length) noexcept {
    std::snprintf(text, sizeof text, "[%zu, %zu) of the reservation at %p (%zu bytes)", offset,
                  offset + length, static_cast<const void*>(state.base), state.size);
  }
};

// Back to reserved: replaces whatever the view had there, atomically (no unmapped window).
bool re_reserve(std::byte* begin, std::size_t length) noexcept {
  return ::mmap(begin, length, PROT_NONE, reserve_flags | MAP_FIXED, -1, 0) != MAP_FAILED;
}

ReservationState* find(const std::byte* address) noexcept {
  for (ReservationState* state : table)
    if (address >= state->base && address < state->base + state->size) return state;
  return nullptr;
}

// Whether every remaining use is a lost one: then nothing of ours is mapped in them.
bool only_lost(const ReservationState& state) noexcept {
  return std::all_of(state.uses.begin(), state.uses.end(),
                     [](const auto& use) { return use.second.lost; });
}

// Unmaps the reservation, except ranges marked lost (they may hold another owner's mapping).
void forget(ReservationState* state) noexcept {
  table.erase(std::find(table.begin(), table.end(), state));
  reservations_live.fetch_sub(1, std::memory_order_relaxed);
  std::size_t from = 0;
  for (const auto& [offset, use] : state->uses) {
    if (offset > from) ::munmap(state->base + from, offset - from);
    from = offset + use.length;
  }
  if (from < state->size) ::munmap(state->base + from, state->size - from);
  delete state;
}

// Checks that [offset, offset + length) lies inside and overlaps no use other than `self`.
Failure check_free(const ReservationState& state, std::size_t offset, std::size_t length,
                   const char* operation, std::size_t self = SIZE_MAX) noexcept {
  if (offset > state.size || length > state.size - offset)
    return make_failure(operation, ENOMEM, "the reservation is exhausted: %s runs past its end",
                        RangeText(state, offset, length).text);
  auto next = state.uses.lower_bound(offset);
  if (next != state.uses.end() && next->first == self) ++next;
  if (next != state.uses.end() && next->first < offset + length)
    return make_failure(operation, EEXIST, "%s overlaps a view at offset %zu",
                        RangeText(state, offset, length).text, next->first);
  if (next != state.uses.begin()) {
    auto previous = std::prev(next);
    if (previous->first != self && previous->first + previous->second.length > offset)
      return make_failure(operation, EEXIST, "%s overlaps a view at offset %zu",
                          RangeText(state, offset, length).text, previous->first);
  }
  return {};
}

Failure grow(ReservationState& state, std::size_t offset, Use& use,
             std::size_t new_length) noexcept {
  std::byte* begin = state.base + offset;
  const std::size_t delta = new_length - use.length;
  if (Failure f = check_free(state, offset, new_length, "mremap", offset)) return f;
  std::byte* tail = begin + use.length;
  if (use.flags & MAP_SHARED) {
    // A second mapping of the same object, new_length long, somewhere the kernel picks; its tail
    // (the object's next bytes) then moves onto our reserved pages and the rest is dropped. The
    // view itself is never unmapped, so its pointers stay valid throughout.
    void* copy = ::mremap(begin, 0, new_length, MREMAP_MAYMOVE);
    if (copy == MAP_FAILED) return make_failure("mremap", errno, "mirroring the view to grow it");
    auto* bytes = static_cast<std::byte*>(copy);
    if (::mremap(bytes + use.length, delta, delta, MREMAP_MAYMOVE | MREMAP_FIXED, tail) ==
        MAP_FAILED) {
      const int code = errno;
      ::munmap(bytes, new_length);
      re_reserve(tail, delta);  // MREMAP_FIXED may have unmapped the target first
      return make_failure("mremap", code, "moving the grown tail into the reservation");
    }
    ::munmap(bytes, use.length);
    // The copy took the protection of the view's first page, which a ProtectionGuard may have
    // changed for now: the tail gets the view's own.
    ::mprotect(tail, delta, use.prot);
  } else if (!use.anonymous) {
    // A private file mapping's new pages would have to come from the file, whose descriptor the
    // view may not keep; mremap can only duplicate shared mappings.
    return make_failure("mremap", ENOTSUP,
                        "a private file view (CopyOnWrite, /dev/zero) cannot grow inside a "
                        "reservation; map it with its final length");
  } else if (::mmap(tail, delta, use.prot, use.flags | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
             MAP_FAILED) {
    const int code = errno;
    re_reserve(tail, delta);
    return make_failure("mmap", code, "growing the view in place");
  }
  use.length = new_length;
  return {};
}

}  // namespace

Failure reservation_claim(const Placement& placement, std::size_t length, int prot, int flags,
                          std::byte*& at) noexcept {
  ReservationState* state = placement.reservation->state();
  if (state == nullptr) return invalid_argument("mmap", "the placement's reservation is empty");
  if (placement.offset % page_size() != 0)
    return invalid_argument("mmap", "offset %zu into the reservation is not a page multiple",
                            placement.offset);
  try {
    std::lock_guard lock(table_mutex);
    if (Failure f = check_free(*state, placement.offset, length, "mmap")) return f;
    state->uses.emplace(placement.offset,
                        Use{length, prot, flags & ~MAP_ANONYMOUS, (flags & MAP_ANONYMOUS) != 0});
  } catch (const std::bad_alloc&) {
    return make_failure("mmap", ENOMEM, "reservation bookkeeping");
  }
  at = state->base + placement.offset;
  return {};
}

bool reservation_release_placed(std::byte* begin, std::size_t length) noexcept {
  std::lock_guard lock(table_mutex);
  ReservationState* state = find(begin);
  if (state == nullptr) return false;
  auto use = state->uses.find(static_cast<std::size_t>(begin - state->base));
  if (use == state->uses.end()) return false;
  if (!re_reserve(begin, length)) {
    // Typically vm.max_map_count, which a MAP_FIXED over part of a VMA can overshoot by two.
    // Unmapping whole VMAs never splits one, so it lowers the count; then the pages are
    // reserved again, without MAP_FIXED, in case another thread's mmap took them meanwhile.
    ::munmap(begin, length);
    if (::mmap(begin, length, PROT_NONE, reserve_flags | MAP_FIXED_NOREPLACE, -1, 0) != begin) {
      use->second.lost = true;  // never MAP_FIXED there again, never munmap it
      if (!state->owned && only_lost(*state)) forget(state);
      return true;
    }
  }
  state->uses.erase(use);
  if (!state->owned && state->uses.empty()) forget(state);
  return true;
}

void reservation_unclaim(std::byte* begin, std::size_t length) noexcept {
  std::lock_guard lock(table_mutex);
  ReservationState* state = find(begin);
  if (state == nullptr) return;
  // The view's mmap failed: the kernel checks vm.max_map_count and the arguments before it
  // touches the range, so the pages are still reserved; mapping PROT_NONE again covers failures
  // that came after.
  re_reserve(begin, length);
  state->uses.erase(static_cast<std::size_t>(begin - state->base));
}

bool reservation_resize(std::byte* begin, std::size_t old_length, std::size_t new_length,
                        Failure& failure) noexcept {
  if (reservations_live.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(table_mutex);
  ReservationState* state = find(begin);
  if (state == nullptr) return false;
  const auto offset = static_cast<std::size_t>(begin - state->base);
  auto use = state->uses.find(offset);
  if (use == state->uses.end() || use->second.length != old_length) return false;
  if (new_length > old_length) {
    failure = grow(*state, offset, use->second, new_length);
  } else if (new_length < old_length) {
    if (!re_reserve(begin + new_length, old_length - new_length))
      failure = make_failure("mmap", errno, "returning pages to the reservation");
    else
      use->second.length = new_length;
  }
  return true;
}

}  // namespace mmapxx::detail

namespace mmapxx {

namespace {

detail::Failure reserve(std::size_t size, detail::ReservationState*& out) noexcept {
  if (size == 0 || size > SIZE_MAX - page_size())
    return detail::invalid_argument("mmap", "cannot reserve %zu bytes", size);
  const std::size_t length = align_up(size, page_size());
  auto* state = new (std::nothrow) detail::ReservationState;
  if (state == nullptr) return detail::make_failure("mmap", ENOMEM, "reservation bookkeeping");
  void* base = ::mmap(nullptr, length, PROT_NONE, detail::reserve_flags, -1, 0);
  if (base == MAP_FAILED) {
    const int code = errno;
    delete state;
    return detail::make_failure("mmap", code, "reserving %zu bytes", length);
  }
  state->base = static_cast<std::byte*>(base);
  state->size = length;
  try {
    std::lock_guard lock(detail::table_mutex);
    detail::table.push_back(state);
    detail::reservations_live.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::bad_alloc&) {
    ::munmap(base, length);
    delete state;
    return detail::make_failure("mmap", ENOMEM, "reservation bookkeeping");
  }
  out = state;
  return {};
}

void drop(detail::ReservationState* state) noexcept {
  if (state == nullptr) return;
  std::lock_guard lock(detail::table_mutex);
  state->owned = false;
  if (detail::only_lost(*state)) detail::forget(state);
}

}  // namespace

AddressReservation::AddressReservation(std::size_t size) {
  if (detail::Failure failure = reserve(size, state_)) detail::raise(failure, "reservation");
}

AddressReservation AddressReservation::create(std::size_t size, std::error_code& ec) noexcept {
  AddressReservation reservation;
  detail::report(reserve(size, reservation.state_), ec);
  return reservation;
}

AddressReservation& AddressReservation::operator=(AddressReservation&& other) noexcept {
  if (this != &other) {
    drop(state_);
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

AddressReservation::~AddressReservation() {
  drop(state_);
}

std::byte* AddressReservation::data() const noexcept {
  return state_ ? state_->base : nullptr;
}

std::size_t AddressReservation::size() const noexcept {
  return state_ ? state_->size : 0;
}

bool AddressReservation::contains(const void* address) const noexcept {
  const auto* p = static_cast<const std::byte*>(address);
  return state_ && p >= state_->base && p < state_->base + state_->size;
}

std::size_t AddressReservation::used() const noexcept {
  if (!state_) return 0;
  std::lock_guard lock(detail::table_mutex);
  std::size_t total = 0;
  for (const auto& [offset, use] : state_->uses) total += use.length;
  return total;
}

}  // namespace mmapxx
