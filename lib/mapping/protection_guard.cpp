// ProtectionGuard (include/mmapxx/protection_guard.hpp): an mprotect that ends with a scope.
#include "mmapxx/protection_guard.hpp"

#include <sys/mman.h>

#include <mutex>
#include <utility>

#include "base/syscall.hpp"
#include "mapping/primitive.hpp"
#include "mapping/protection_state.hpp"

namespace mmapxx {

namespace {

// Out of line and cold, so that the success path after the mprotect runs straight to the return
// (base/syscall.hpp says why a taken branch there costs).
[[gnu::noinline, gnu::cold]] detail::Failure refused(int code, std::size_t length,
                                                     Protection protection) noexcept {
  return detail::make_failure("mprotect", code, "length=%zu, protection=%u", length,
                              static_cast<unsigned>(protection));
}

}  // namespace

[[gnu::always_inline]] inline int ProtectionGuard::apply(std::span<const std::byte> range,
                                                         Protection protection,
                                                         Protection restore_to) noexcept {
  if (range.empty()) [[unlikely]]
    return 0;
  const detail::PageSpan pages = detail::pages_of(range.data(), range.size());
  const long result = detail::sys::mprotect(pages.begin, pages.length, detail::to_prot(protection));
  if (detail::sys::failed(result)) [[unlikely]]
    return detail::sys::error_of(result);
  begin_ = pages.begin;
  length_ = pages.length;
  restore_to_ = restore_to;
  return 0;
}

ProtectionGuard::ProtectionGuard(std::span<const std::byte> range, Protection protection,
                                 Protection restore_to) {
  if (const int code = apply(range, protection, restore_to); code != 0) [[unlikely]]
    detail::raise(refused(code, detail::pages_of(range.data(), range.size()).length, protection),
                  "");
}

ProtectionGuard ProtectionGuard::make(std::span<const std::byte> range, Protection protection,
                                      Protection restore_to, std::error_code& ec) noexcept {
  ProtectionGuard guard;
  if (const int code = guard.apply(range, protection, restore_to); code != 0) [[unlikely]]
    ec.assign(code, std::generic_category());
  else
    ec.clear();
  return guard;
}

namespace {

// end() of a guard that outlived its mapping: no pages left to restore; the last such guard
// deletes the record. Called with the record's lock held; releases it.
[[gnu::noinline, gnu::cold]] int end_orphaned(detail::ProtectionState* state) noexcept {
  std::unique_lock<detail::ProtectionState::Lock> hold(state->lock, std::adopt_lock);
  detail::ProtectionState::drop_guard(state, hold);
  return 0;
}

}  // namespace

// Inline in its callers, the destructor first: with the syscall inline too, the destructor
// returns straight to its caller after the mprotect (base/syscall.hpp says why that matters).
[[gnu::always_inline]] inline int ProtectionGuard::end() noexcept {
  if (state_ == nullptr)
    return detail::sys::status(
        detail::sys::mprotect(begin_, length_, detail::to_prot(restore_to_)));
  detail::ProtectionState& state = *state_;
  state.lock.lock();
  if (state.orphaned) [[unlikely]]
    return end_orphaned(state_);
  state.remove_guard(id_);
  const int result = state.apply(state.pages, offset_, offset_ + length_);
  // The record is not orphaned (that happens under the lock), so this is never its last user.
  if (result == 0) --state.guards;
  state.lock.unlock();
  return result;
}

ProtectionGuard::ProtectionGuard(ProtectionGuard&& other) noexcept
    : begin_(other.begin_),
      length_(std::exchange(other.length_, 0)),
      restore_to_(other.restore_to_),
      state_(other.state_),
      id_(other.id_),
      offset_(other.offset_) {}

ProtectionGuard& ProtectionGuard::operator=(ProtectionGuard&& other) noexcept {
  if (this != &other) {
    if (length_ != 0) end();
    begin_ = other.begin_;
    length_ = std::exchange(other.length_, 0);
    restore_to_ = other.restore_to_;
    state_ = other.state_;
    id_ = other.id_;
    offset_ = other.offset_;
  }
  return *this;
}

ProtectionGuard::~ProtectionGuard() {
  if (length_ != 0) end();
}

void ProtectionGuard::restore() {
  std::error_code ec;
  restore(ec);
  if (ec)
    detail::raise(detail::make_failure("mprotect", ec.value(), "length=%zu, restoring", length_),
                  "");
}

void ProtectionGuard::restore(std::error_code& ec) noexcept {
  ec.clear();
  if (length_ == 0) return;
  if (const int code = end(); code != 0) {
    ec.assign(code, std::generic_category());
    return;
  }
  length_ = 0;
}

void ProtectionGuard::release() noexcept {
  if (length_ != 0 && state_ != nullptr) {
    std::unique_lock<detail::ProtectionState::Lock> hold(state_->lock);
    for (detail::ProtectionState::Layer& layer : state_->layers) {
      if (layer.guard != id_) continue;
      // The same record as set_protection() over these pages, made without allocating.
      if (layer.begin == 0 && layer.end >= state_->view_length) {
        state_->base.store(layer.protection, std::memory_order_relaxed);
        state_->layers.clear();
      } else {
        layer.guard = 0;
      }
      break;
    }
    detail::ProtectionState::drop_guard(state_, hold);
  }
  length_ = 0;
}

}  // namespace mmapxx
