// WriteTracker: which pages of a region were written since the last reset, found by the MMU.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "mmapxx/fault.hpp"
#include "mmapxx/flags.hpp"

namespace mmapxx {

// Write-protects the pages under `region`; the first write to each page faults, a repair handler
// records the page in a lock-free bitmap, makes the page writable again and lets the write
// proceed. Later writes to that page cost nothing. Useful for incremental snapshots: after
// reset(), dirty_pages() lists exactly the pages touched since.
//
// `region` must be memory mmapxx or you mapped, readable and writable (`restore_to`, which the
// destructor puts back). Writes from any thread are tracked; reset() and dirty_pages() are meant
// for quiescent points: a write racing with reset() may or may not be counted.
class WriteTracker {
 public:
  explicit WriteTracker(std::span<std::byte> region,
                        Protection restore_to = Protection::Read | Protection::Write);
  WriteTracker(WriteTracker&&) noexcept = default;
  WriteTracker& operator=(WriteTracker&&) noexcept;
  ~WriteTracker();

  // Indices of the written pages, ascending; page 0 is the page holding region.data().
  std::vector<std::size_t> dirty_pages() const;
  bool dirty(std::size_t page) const noexcept;
  std::size_t page_count() const noexcept;

  // Forgets the dirty pages and write-protects every page again.
  void reset();

 private:
  struct State;
  void stop() noexcept;

  std::unique_ptr<State> state_;
  RepairHandler handler_;
};

}  // namespace mmapxx
