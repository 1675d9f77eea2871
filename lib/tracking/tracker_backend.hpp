// What the two write-tracking mechanisms (uffd_tracker.cpp, mprotect_tracker.cpp) offer
// write_tracker.cpp, which picks one (mmapxx/write_tracker.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "mmapxx/error.hpp"
#include "mmapxx/write_tracker.hpp"

namespace mmapxx::detail {

class TrackerBackend {
 public:
  virtual ~TrackerBackend() = default;
  virtual WriteTracking mechanism() const noexcept = 0;
  virtual std::size_t page_count() const noexcept = 0;
  // Appends the written pages to `out` (reserved by the caller is not required); with `rearm`,
  // write-protects them again in the same step.
  virtual Failure collect(std::vector<std::size_t>& out, bool rearm) noexcept = 0;
  virtual bool dirty(std::size_t page) const noexcept = 0;
  virtual Failure reset() noexcept = 0;
};

// Each returns a Failure and leaves `out` empty when its mechanism cannot track `region`
// (already page-aligned and non-empty); `writable_prot` is restore_to as PROT_* bits.
Failure make_uffd_tracker(std::span<std::byte> region,
                          std::unique_ptr<TrackerBackend>& out) noexcept;
Failure make_mprotect_tracker(std::span<std::byte> region, int writable_prot,
                              std::unique_ptr<TrackerBackend>& out) noexcept;

}  // namespace mmapxx::detail
