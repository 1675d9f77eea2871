// WriteTracker (mmapxx/write_tracker.hpp): the public type, and the one place that picks the
// mechanism (uffd_tracker.cpp or mprotect_tracker.cpp).
#include "mmapxx/write_tracker.hpp"

#include <cerrno>
#include <new>

#include "mapping/primitive.hpp"
#include "tracking/tracker_backend.hpp"

namespace mmapxx {

namespace {

detail::Failure start(std::span<std::byte> region, Protection restore_to, WriteTracking how,
                      std::unique_ptr<detail::TrackerBackend>& out) noexcept {
  if (region.empty()) return detail::invalid_argument("WriteTracker", "region: empty");
  if (!has(restore_to, Protection::Read | Protection::Write))
    return detail::invalid_argument("WriteTracker", "restore_to: must include Read|Write");
  if (how != WriteTracking::Automatic && how != WriteTracking::Userfaultfd &&
      how != WriteTracking::Mprotect)
    return detail::invalid_argument("WriteTracker", "how: not a WriteTracking value");
  const detail::PageSpan span = detail::pages_of(region.data(), region.size());
  const std::span<std::byte> pages(span.begin, span.length);
  if (how != WriteTracking::Mprotect) {
    detail::Failure failure = detail::make_uffd_tracker(pages, out);
    // Automatic: any refusal (old kernel, no userfaultfd, memory it cannot track) means the
    // fallback. A forced choice reports it.
    if (!failure || how == WriteTracking::Userfaultfd) return failure;
  }
  return detail::make_mprotect_tracker(pages, detail::to_prot(restore_to), out);
}

// dirty_pages() and take_dirty_pages(), in both forms: `rearm` is all that differs. A tracker
// with no backend (moved from, or make() failed) has no pages.
std::vector<std::size_t> collect(detail::TrackerBackend* backend, bool rearm) {
  std::vector<std::size_t> pages;
  if (backend)
    if (detail::Failure failure = backend->collect(pages, rearm)) detail::raise(failure, "");
  return pages;
}

std::vector<std::size_t> collect(detail::TrackerBackend* backend, bool rearm,
                                 std::error_code& ec) noexcept {
  std::vector<std::size_t> pages;
  ec.clear();
  if (backend && detail::report(backend->collect(pages, rearm), ec)) return {};
  return pages;
}

}  // namespace

WriteTracker::WriteTracker() noexcept = default;
WriteTracker::WriteTracker(WriteTracker&&) noexcept = default;
WriteTracker& WriteTracker::operator=(WriteTracker&&) noexcept = default;
WriteTracker::~WriteTracker() = default;

WriteTracker::WriteTracker(std::span<std::byte> region, Protection restore_to, WriteTracking how) {
  if (detail::Failure failure = start(region, restore_to, how, backend_))
    detail::raise(failure, "");
}

WriteTracker WriteTracker::make(std::span<std::byte> region, Protection restore_to,
                                WriteTracking how, std::error_code& ec) noexcept {
  WriteTracker tracker;
  detail::report(start(region, restore_to, how, tracker.backend_), ec);
  return tracker;
}

WriteTracking WriteTracker::mechanism() const noexcept {
  return backend_ ? backend_->mechanism() : WriteTracking::Automatic;
}

std::size_t WriteTracker::page_count() const noexcept {
  return backend_ ? backend_->page_count() : 0;
}

bool WriteTracker::dirty(std::size_t page) const noexcept {
  return backend_ && backend_->dirty(page);
}

std::vector<std::size_t> WriteTracker::dirty_pages(std::error_code& ec) const noexcept {
  return collect(backend_.get(), false, ec);
}

std::vector<std::size_t> WriteTracker::dirty_pages() const {
  return collect(backend_.get(), false);
}

std::vector<std::size_t> WriteTracker::take_dirty_pages(std::error_code& ec) noexcept {
  return collect(backend_.get(), true, ec);
}

std::vector<std::size_t> WriteTracker::take_dirty_pages() {
  return collect(backend_.get(), true);
}

void WriteTracker::reset(std::error_code& ec) noexcept {
  ec.clear();
  if (backend_) detail::report(backend_->reset(), ec);
}

void WriteTracker::reset() {
  if (backend_)
    if (detail::Failure failure = backend_->reset()) detail::raise(failure, "");
}

}  // namespace mmapxx
