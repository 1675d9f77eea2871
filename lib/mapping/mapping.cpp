// MappingCore (include/mmapxx/mapping.hpp): the page-level calls every mapping has.
#include "mmapxx/mapping.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "base/messages.hpp"
#include "base/syscall.hpp"
#include "mapping/primitive.hpp"
#include "mapping/protection_state.hpp"

namespace mmapxx::detail {

namespace {

int to_madvise(UncheckedAdvice advice) noexcept {
  switch (advice) {
    case UncheckedAdvice::DontNeed:
      return MADV_DONTNEED;
    case UncheckedAdvice::Free:
      return MADV_FREE;
    case UncheckedAdvice::Remove:
      return MADV_REMOVE;
  }
  return -1;
}

template <class Result>
Result or_throw(const Failure& failure, const MappingCore& mapping, Result result) {
  if (failure) raise(failure, mapping.label());
  return result;
}

void or_throw(const Failure& failure, const MappingCore& mapping) {
  if (failure) raise(failure, mapping.label());
}

}  // namespace

Failure sub_view_failure(const std::byte* data, std::size_t size, std::size_t offset,
                         std::size_t count, std::size_t element_size,
                         std::size_t element_alignment) noexcept {
  if (offset > size)
    return invalid_argument("as", "offset %zu is past the end of the view (size %zu)", offset,
                            size);
  if (count > (size - offset) / element_size)
    return invalid_argument("as",
                            "%zu elements of %zu bytes at offset %zu run past the end of the "
                            "view (size %zu)",
                            count, element_size, offset, size);
  if (reinterpret_cast<std::uintptr_t>(data + offset) % element_alignment != 0)
    return invalid_argument("as", "data() + %zu is not aligned to %zu bytes, the element alignment",
                            offset, element_alignment);
  return {};
}

void raise_sub_view(const Failure& failure, const char* label) {
  raise(failure, label);
}

// Runs a page-level syscall over a byte range of the view; `call` returns 0 or -1 with errno.
template <class Call>
Failure MappingCore::on_pages(const char* operation, std::size_t offset, std::size_t length,
                              Call call) const noexcept {
  PageSpan span;
  if (Failure f = page_span_of(operation, offset, length, span)) return f;
  if (span.length == 0) return {};
  // The detail names the real range, not the "to the end" sentinel.
  if (length == whole) length = size_ - offset;
  if (call(span) != 0) return range_failure(operation, errno, offset, length);
  return {};
}

MappingCore::MappingCore(MappingCore&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      protection_(other.protection_),
      state_(other.state_.exchange(nullptr)) {}

MappingCore& MappingCore::operator=(MappingCore&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    protection_ = other.protection_;
    state_.store(other.state_.exchange(nullptr));
  }
  return *this;
}

void MappingCore::reset() noexcept {
  unmap_view(data_, size_, mapped_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
  // Most mappings never had a protection record: a load, not an atomic exchange, tells.
  if (state_.load(std::memory_order_acquire) == nullptr) return;
  if (ProtectionState* state = state_.exchange(nullptr)) {
    std::unique_lock<ProtectionState::Lock> hold(state->lock);
    if (state->guards != 0) {
      state->orphaned = true;  // live guards still point here; the last one deletes it
      return;
    }
    hold.unlock();
    delete state;
  }
}

namespace {

// The record's first use on this mapping: kept out of state(), whose common case is one load.
[[gnu::noinline, gnu::cold]] ProtectionState* make_state(std::atomic<ProtectionState*>& slot,
                                                         Protection base) noexcept {
  ProtectionState* made = new (std::nothrow) ProtectionState;
  if (made == nullptr) return nullptr;
  made->base.store(base, std::memory_order_relaxed);
  ProtectionState* state = nullptr;
  if (slot.compare_exchange_strong(state, made, std::memory_order_acq_rel)) return made;
  delete made;  // another thread made it first
  return state;
}

}  // namespace

ProtectionState* MappingCore::state() const noexcept {
  ProtectionState* state = state_.load(std::memory_order_acquire);
  if (state != nullptr) [[likely]]
    return state;
  return make_state(state_, protection_);
}

Protection MappingCore::protection() const noexcept {
  const ProtectionState* state = state_.load(std::memory_order_acquire);
  return state != nullptr ? state->base.load(std::memory_order_relaxed) : protection_;
}

Protection MappingCore::protection_at(std::size_t offset) const {
  std::error_code ec;
  const Protection result = protection_at(offset, ec);
  if (ec)
    raise(invalid_argument("protection_at", "offset %zu is past the end of the view (size %zu)",
                           offset, size_),
          label());
  return result;
}

Protection MappingCore::protection_at(std::size_t offset, std::error_code& ec) const noexcept {
  ec.clear();
  if (offset >= size_) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return Protection::None;
  }
  ProtectionState* state = state_.load(std::memory_order_acquire);
  if (state == nullptr) return protection_;
  const std::size_t page = align_down(
      static_cast<std::size_t>(data_ + offset - pages_of(data_, size_).begin), page_size());
  std::lock_guard<ProtectionState::Lock> hold(state->lock);
  return state->at(page);
}

Failure MappingCore::set_protection_range(Protection protection, std::size_t offset,
                                          std::size_t length) noexcept {
  PageSpan span;
  if (Failure f = page_span_of("mprotect", offset, length, span)) return f;
  if (span.length == 0) return {};
  ProtectionState* record = state();
  if (record == nullptr) return make_failure("mprotect", ENOMEM, "no memory for the record");
  const PageSpan view = pages_of(data_, size_);
  const std::size_t begin = static_cast<std::size_t>(span.begin - view.begin);
  std::lock_guard<ProtectionState::Lock> hold(record->lock);
  // Reserve first, so that nothing can fail once the pages have changed.
  if (!record->reserve_layer()) return make_failure("mprotect", ENOMEM, "no memory for the record");
  if (::mprotect(span.begin, span.length, to_prot(protection)) != 0)
    return range_failure("mprotect", errno, offset, length);
  record->view_length = view.length;
  record->pages = view.begin;
  record->set(begin, begin + span.length, protection);
  if (begin == 0 && span.length >= view.length) protection_ = protection;
  return {};
}

void MappingCore::set_protection(Protection protection, std::size_t offset, std::size_t length) {
  or_throw(set_protection_range(protection, offset, length), *this);
}

void MappingCore::set_protection(Protection protection, std::size_t offset, std::size_t length,
                                 std::error_code& ec) noexcept {
  report(set_protection_range(protection, offset, length), ec);
}

void MappingCore::resized(std::size_t old_size) noexcept {
  ProtectionState* state = state_.load(std::memory_order_acquire);
  if (state == nullptr || data_ == nullptr) return;
  const std::size_t head = static_cast<std::size_t>(data_ - pages_of(data_, size_).begin);
  const std::size_t old_end = align_up(head + old_size, page_size());
  const std::size_t new_end = align_up(head + size_, page_size());
  std::lock_guard<ProtectionState::Lock> hold(state->lock);
  std::erase_if(state->layers, [&](const ProtectionState::Layer& l) { return l.begin >= new_end; });
  for (ProtectionState::Layer& layer : state->layers) {
    if (layer.end > new_end || (layer.end >= old_end && new_end > old_end)) layer.end = new_end;
  }
  state->view_length = new_end;
  state->pages = pages_of(data_, size_).begin;
}

Failure MappingCore::page_span_of(const char* operation, std::size_t offset, std::size_t length,
                                  PageSpan& out) const noexcept {
  if (offset > size_)
    return invalid_argument(operation, "offset %zu is past the end of the view (size %zu)", offset,
                            size_);
  if (length == whole) length = size_ - offset;
  if (length > size_ - offset)
    return invalid_argument(operation,
                            "range [%zu, %zu+%zu) runs past the end of the view (size %zu)", offset,
                            offset, length, size_);
  out = length == 0 ? PageSpan{} : pages_of(data_ + offset, length);
  return {};
}

Failure MappingCore::flush_range(int msync_flags, std::size_t offset,
                                 std::size_t length) const noexcept {
  return on_pages("msync", offset, length,
                  [&](PageSpan s) { return ::msync(s.begin, s.length, msync_flags); });
}

Failure MappingCore::advise_range(int advice, std::size_t offset,
                                  std::size_t length) const noexcept {
  return on_pages("madvise", offset, length,
                  [&](PageSpan s) { return ::madvise(s.begin, s.length, advice); });
}

void MappingCore::advise(Advice advice, std::size_t offset, std::size_t length) const {
  or_throw(advise_range(to_madvise(advice), offset, length), *this);
}
void MappingCore::advise(Advice advice, std::size_t offset, std::size_t length,
                         std::error_code& ec) const noexcept {
  report(advise_range(to_madvise(advice), offset, length), ec);
}
void MappingCore::advise_unchecked(UncheckedAdvice advice, std::size_t offset,
                                   std::size_t length) const {
  or_throw(advise_range(to_madvise(advice), offset, length), *this);
}
void MappingCore::advise_unchecked(UncheckedAdvice advice, std::size_t offset, std::size_t length,
                                   std::error_code& ec) const noexcept {
  report(advise_range(to_madvise(advice), offset, length), ec);
}

Failure MappingCore::lock_range(bool lock, std::size_t offset, std::size_t length) const noexcept {
  PageSpan span;
  const char* operation = lock ? "mlock" : "munlock";
  if (Failure f = page_span_of(operation, offset, length, span)) return f;
  if (span.length == 0) return {};
  const int result = lock ? ::mlock(span.begin, span.length) : ::munlock(span.begin, span.length);
  if (result == 0) return {};
  const int code = errno;
  if (length == whole) length = size_ - offset;
  if (lock) return lock_failure(code, offset, length);
  return range_failure(operation, code, offset, length);
}

void MappingCore::lock(std::size_t offset, std::size_t length) const {
  or_throw(lock_range(true, offset, length), *this);
}
void MappingCore::lock(std::size_t offset, std::size_t length, std::error_code& ec) const noexcept {
  report(lock_range(true, offset, length), ec);
}
void MappingCore::unlock(std::size_t offset, std::size_t length) const {
  or_throw(lock_range(false, offset, length), *this);
}
void MappingCore::unlock(std::size_t offset, std::size_t length,
                         std::error_code& ec) const noexcept {
  report(lock_range(false, offset, length), ec);
}

Failure MappingCore::residency_of(std::size_t offset, std::size_t length,
                                  Residency& out) const noexcept {
  out = {};
  Failure f = on_pages("mincore", offset, length, [&](PageSpan s) {
    try {
      out.pages.resize(s.length / page_size());
    } catch (const std::bad_alloc&) {  // one byte a page: a huge view may not fit in the heap
      errno = ENOMEM;
      return -1;
    }
    return ::mincore(s.begin, s.length, out.pages.data());
  });
  if (f) return f;
  // Only bit 0 has a meaning; the others are reserved. Eight pages at a time: mask a word to
  // bit 0 of each byte, and the multiply sums its bytes into the top byte (at most 8, no carry).
  // The count is a local: a byte store could alias out.resident.
  constexpr std::uint64_t low_bits = 0x0101010101010101ull;
  std::uint8_t* page = out.pages.data();
  const std::size_t count = out.pages.size();
  std::size_t resident = 0;
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, page + i, sizeof word);
    word &= low_bits;
    std::memcpy(page + i, &word, sizeof word);
    resident += (word * low_bits) >> 56;
  }
  for (; i < count; ++i) {
    page[i] &= 1;
    resident += page[i];
  }
  out.resident = resident;
  return {};
}

Residency MappingCore::residency(std::size_t offset, std::size_t length) const {
  Residency result;
  or_throw(residency_of(offset, length, result), *this);
  return result;
}
Residency MappingCore::residency(std::size_t offset, std::size_t length,
                                 std::error_code& ec) const noexcept {
  Residency result;
  report(residency_of(offset, length, result), ec);
  return result;
}

// The mprotect is made here, not in ProtectionGuard: whatever runs after a syscall returns runs
// with cold branch predictors, so the guard is built with nothing but stores after it. Both
// protect() overloads inline this (no call layer, no std::error_code on the throwing path);
// `code` is 0 or the errno: EINVAL for a range outside the view, ENOMEM when the record cannot
// grow, else mprotect's.
[[gnu::always_inline]] inline ProtectionGuard MappingCore::guard_pages(Protection protection,
                                                                       std::size_t offset,
                                                                       std::size_t length,
                                                                       int& code) const noexcept {
  code = 0;
  // page_span_of's checks, without building a Failure: the throwing protect() builds the message.
  if (offset > size_ || (length != whole && length > size_ - offset)) [[unlikely]] {
    code = EINVAL;
    return {};
  }
  if (length == whole) length = size_ - offset;
  if (length == 0) [[unlikely]]
    return {};
  const std::size_t page = page_size();
  const auto first = reinterpret_cast<std::uintptr_t>(data_);
  const auto view_begin = align_down(first, std::uintptr_t{page});
  const auto span_begin = align_down(first + offset, std::uintptr_t{page});
  const PageSpan span{reinterpret_cast<std::byte*>(span_begin),
                      align_up(first + offset + length, std::uintptr_t{page}) - span_begin};
  ProtectionState* record = state();
  if (record == nullptr) [[unlikely]] {
    code = ENOMEM;
    return {};
  }
  const PageSpan view{reinterpret_cast<std::byte*>(view_begin),
                      align_up(first + size_, std::uintptr_t{page}) - view_begin};
  const std::size_t begin = span_begin - view_begin;
  std::lock_guard<ProtectionState::Lock> hold(record->lock);
  // Room for the layer before the pages change, so that nothing can fail after; the record keeps
  // its capacity, so only the first guard (or more live guards than ever before) allocates.
  if (!record->reserve_layer()) [[unlikely]] {
    code = ENOMEM;
    return {};
  }
  // The record first, the syscall last: after it only the unlock and the guard's stores run.
  const Protection before = record->at(begin);
  const std::uint64_t id = record->next_guard++;
  record->layers.push_back({begin, begin + span.length, protection, id});
  record->view_length = view.length;
  record->pages = view.begin;
  if (const long result = sys::mprotect(span.begin, span.length, to_prot(protection));
      sys::failed(result)) [[unlikely]] {
    record->layers.pop_back();
    code = sys::error_of(result);
    return {};
  }
  ++record->guards;
  return ProtectionGuard(span.begin, span.length, before, record, id, begin);
}

ProtectionGuard MappingCore::protect(Protection protection, std::size_t offset,
                                     std::size_t length) const {
  int code;
  ProtectionGuard guard = guard_pages(protection, offset, length, code);
  if (code != 0) [[unlikely]]
    raise_protect(code, offset, length);
  return guard;
}

void MappingCore::raise_protect(int code, std::size_t offset, std::size_t length) const {
  PageSpan span;
  or_throw(page_span_of("mprotect", offset, length, span), *this);
  raise(range_failure("mprotect", code, offset, length == whole ? size_ - offset : length),
        label());
}

ProtectionGuard MappingCore::protect(Protection protection, std::size_t offset, std::size_t length,
                                     std::error_code& ec) const noexcept {
  int code;
  ProtectionGuard guard = guard_pages(protection, offset, length, code);
  if (code != 0) [[unlikely]]
    ec.assign(code, std::generic_category());
  else
    ec.clear();
  return guard;
}

}  // namespace mmapxx::detail
