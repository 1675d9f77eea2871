// WriteTracker: dirty-page tracking with mprotect and a repair handler.
#include "mmapxx/write_tracker.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>

#include "mapping/primitive.hpp"

namespace mmapxx {

// Everything the repair function reads lives here, at a stable address, and is set before the
// handler is registered: the function must not call page_size() (a lazily initialised static).
struct WriteTracker::State {
  std::byte* begin = nullptr;  // page-aligned
  std::size_t pages = 0;
  std::size_t page_bytes = 0;
  int armed_prot = 0;     // restore_to without write
  int writable_prot = 0;  // restore_to
  std::unique_ptr<std::atomic<std::uint64_t>[]> bits;

  static Repair on_write(const FaultEvent& fault, void* context) noexcept {
    auto& s = *static_cast<State*>(context);
    const auto offset = static_cast<std::size_t>(static_cast<std::byte*>(fault.address) - s.begin);
    const std::size_t page = offset / s.page_bytes;
    if (page >= s.pages) return Repair::Decline;
    // Recorded before the page becomes writable, so a page seen writable is always marked.
    s.bits[page / 64].fetch_or(std::uint64_t{1} << (page % 64), std::memory_order_relaxed);
    if (::mprotect(s.begin + page * s.page_bytes, s.page_bytes, s.writable_prot) != 0)
      return Repair::Decline;  // a read-only file mapping, say: not something we can fix
    return Repair::Retry;
  }

  detail::Failure arm() noexcept {
    if (::mprotect(begin, pages * page_bytes, armed_prot) != 0)
      return detail::make_failure("mprotect", errno, "write-protecting the tracked region");
    return {};
  }
};

WriteTracker::WriteTracker(std::span<std::byte> region, Protection restore_to)
    : state_(std::make_unique<State>()) {
  if (region.empty()) detail::raise(detail::invalid_argument("WriteTracker", "region: empty"), "");
  if (!has(restore_to, Protection::Read | Protection::Write))
    detail::raise(detail::invalid_argument("WriteTracker", "restore_to: must include Read|Write"),
                  "");
  const detail::PageSpan span = detail::pages_of(region.data(), region.size());
  State& s = *state_;
  s.begin = span.begin;
  s.page_bytes = page_size();
  s.pages = span.length / s.page_bytes;
  s.writable_prot = detail::to_prot(restore_to);
  s.armed_prot = detail::to_prot(restore_to & ~Protection::Write);
  s.bits = std::make_unique<std::atomic<std::uint64_t>[]>((s.pages + 63) / 64);
  handler_ = RepairHandler({s.begin, span.length}, &State::on_write, &s);
  if (detail::Failure failure = s.arm()) detail::raise(failure, "");
}

WriteTracker& WriteTracker::operator=(WriteTracker&& other) noexcept {
  if (this != &other) {
    stop();
    handler_ = std::move(other.handler_);
    state_ = std::move(other.state_);
  }
  return *this;
}

WriteTracker::~WriteTracker() {
  stop();
}

void WriteTracker::stop() noexcept {
  if (!state_ || !handler_.active()) return;
  // Writable first, unregistered second: a write in between must not find a protected page with
  // nobody to repair it.
  ::mprotect(state_->begin, state_->pages * state_->page_bytes, state_->writable_prot);
  handler_.reset();
}

std::size_t WriteTracker::page_count() const noexcept {
  return state_ ? state_->pages : 0;
}

bool WriteTracker::dirty(std::size_t page) const noexcept {
  if (!state_ || page >= state_->pages) return false;
  return (state_->bits[page / 64].load(std::memory_order_acquire) >> (page % 64)) & 1u;
}

std::vector<std::size_t> WriteTracker::dirty_pages() const {
  std::vector<std::size_t> pages;
  for (std::size_t page = 0; page < page_count(); ++page)
    if (dirty(page)) pages.push_back(page);
  return pages;
}

void WriteTracker::reset() {
  if (!state_ || !handler_.active()) return;
  // Clear first, protect second. The other order would lose a write landing in between for good:
  // it would mark the page and make it writable, then the clear would drop the mark.
  for (std::size_t i = 0; i < (state_->pages + 63) / 64; ++i)
    state_->bits[i].store(0, std::memory_order_release);
  if (detail::Failure failure = state_->arm()) detail::raise(failure, "");
}

}  // namespace mmapxx
