// The Mprotect mechanism of WriteTracker (mmapxx/write_tracker.hpp): write-protect the region,
// record and unprotect each page on its first write from a repair handler.
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <new>

#include "mapping/primitive.hpp"
#include "tracking/tracker_backend.hpp"

namespace mmapxx::detail {

namespace {

class MprotectTracker final : public TrackerBackend {
 public:
  // Everything on_write reads is set before the handler is registered and never moves (the
  // object lives on the heap): it must not call page_size(), a lazily initialised static.
  std::byte* begin = nullptr;
  std::size_t pages = 0;
  std::size_t page_bytes = 0;
  int armed_prot = 0;     // restore_to without write
  int writable_prot = 0;  // restore_to
  std::unique_ptr<std::atomic<std::uint64_t>[]> bits;
  RepairHandler handler;

  ~MprotectTracker() override {
    if (!handler.active()) return;
    // Writable first, unregistered second: a write in between must not find a protected page
    // with nobody to repair it.
    ::mprotect(begin, pages * page_bytes, writable_prot);
    handler.reset();
  }

  static Repair on_write(const FaultEvent& fault, void* context) noexcept {
    auto& t = *static_cast<MprotectTracker*>(context);
    // Only our own write protection: a SIGBUS (a page past the end of its file), a SEGV_MAPERR
    // or a fault after the page was made writable is nothing an mprotect can fix.
    if (fault.signal != SIGSEGV || fault.code != SEGV_ACCERR) return Repair::Decline;
    const auto offset = static_cast<std::size_t>(static_cast<std::byte*>(fault.address) - t.begin);
    const std::size_t page = offset / t.page_bytes;
    if (page >= t.pages) return Repair::Decline;
    // Recorded before the page becomes writable, so a page seen writable is always marked.
    t.bits[page / 64].fetch_or(std::uint64_t{1} << (page % 64), std::memory_order_relaxed);
    if (::mprotect(t.begin + page * t.page_bytes, t.page_bytes, t.writable_prot) == 0)
      return Repair::Retry;
    if (errno != ENOMEM) return Repair::Decline;  // a read-only file mapping, say
    // The kernel refuses to split the area once more (vm.max_map_count): call every page
    // written and unprotect the whole region, which splits nothing.
    for (std::size_t i = 0; i < (t.pages + 63) / 64; ++i)
      t.bits[i].store(~std::uint64_t{0}, std::memory_order_relaxed);
    if (::mprotect(t.begin, t.pages * t.page_bytes, t.writable_prot) != 0) return Repair::Decline;
    return Repair::Retry;
  }

  WriteTracking mechanism() const noexcept override { return WriteTracking::Mprotect; }
  std::size_t page_count() const noexcept override { return pages; }

  bool dirty(std::size_t page) const noexcept override {
    if (page >= pages) return false;
    return (bits[page / 64].load(std::memory_order_acquire) >> (page % 64)) & 1u;
  }

  Failure collect(std::vector<std::size_t>& out, bool rearm) noexcept override {
    try {
      for (std::size_t word = 0; word < (pages + 63) / 64; ++word) {
        std::uint64_t w = rearm ? bits[word].exchange(0, std::memory_order_acq_rel)
                                : bits[word].load(std::memory_order_acquire);
        while (w != 0) {
          const std::size_t page = word * 64 + static_cast<std::size_t>(__builtin_ctzll(w));
          w &= w - 1;
          if (page < pages) out.push_back(page);
        }
      }
    } catch (const std::bad_alloc&) {
      return make_failure("WriteTracker", ENOMEM, "listing the dirty pages");
    }
    return rearm ? arm() : Failure{};
  }

  Failure reset() noexcept override {
    // Clear first, protect second. The other order would lose a write landing in between for
    // good: it would mark the page and make it writable, then the clear would drop the mark.
    for (std::size_t i = 0; i < (pages + 63) / 64; ++i) bits[i].store(0, std::memory_order_release);
    return arm();
  }

  Failure arm() noexcept {
    if (::mprotect(begin, pages * page_bytes, armed_prot) != 0)
      return make_failure("mprotect", errno, "write-protecting the tracked region");
    RepairHandler::rearmed();  // the same addresses may now fault again, legitimately
    return {};
  }
};

}  // namespace

Failure make_mprotect_tracker(std::span<std::byte> region, int writable_prot,
                              std::unique_ptr<TrackerBackend>& out) noexcept {
  auto tracker = std::unique_ptr<MprotectTracker>(new (std::nothrow) MprotectTracker);
  if (!tracker) return make_failure("WriteTracker", ENOMEM, "allocating the tracker");
  MprotectTracker& t = *tracker;
  t.begin = region.data();
  t.page_bytes = page_size();
  t.pages = region.size() / t.page_bytes;
  t.writable_prot = writable_prot;
  t.armed_prot = writable_prot & ~PROT_WRITE;
  t.bits.reset(new (std::nothrow) std::atomic<std::uint64_t>[(t.pages + 63) / 64]());
  if (!t.bits) return make_failure("WriteTracker", ENOMEM, "allocating the dirty-page bitmap");
  std::error_code ec;
  t.handler = RepairHandler::make(region, &MprotectTracker::on_write, &t, ec);
  if (ec) return make_failure("RepairHandler", ec.value(), "registering the write tracker");
  if (Failure failure = t.arm()) {
    ::mprotect(t.begin, t.pages * t.page_bytes, writable_prot);  // undo a partial change
    t.handler.reset();
    return failure;
  }
  out = std::move(tracker);
  return {};
}

}  // namespace mmapxx::detail
