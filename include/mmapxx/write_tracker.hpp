/// @file
/// WriteTracker: which pages of a region were written since the last reset, found by the MMU.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "mmapxx/fault.hpp"
#include "mmapxx/flags.hpp"

namespace mmapxx {

namespace detail {
class TrackerBackend;
}

/// How a WriteTracker finds the written pages.
enum class WriteTracking {
  /// Userfaultfd where the kernel and the memory support it, else Mprotect.
  Automatic,
  /// userfaultfd write-protect in asynchronous mode (UFFD_FEATURE_WP_ASYNC, Linux 6.7+) read back
  /// with the PAGEMAP_SCAN ioctl on /proc/self/pagemap. The kernel clears a page's write-protect
  /// bit on its first write by itself: no signal, no split of the kernel's memory areas, exact at
  /// any size and write pattern. Needs no privilege (UFFD_USER_MODE_ONLY).
  Userfaultfd,
  /// mprotect(PROT_READ) plus a RepairHandler that records the first write to each page and makes
  /// that page writable again. Each such page splits a kernel memory area; when the kernel refuses
  /// another split (ENOMEM past vm.max_map_count), the tracker marks every page dirty and
  /// unprotects the region: a superset, never a crash, until the next reset().
  Mprotect,
};

/// Records which pages of `region` are written. Useful for incremental snapshots: after reset(),
/// dirty_pages() lists the pages touched since (with Userfaultfd exactly; with Mprotect exactly
/// unless the kernel's area limit forced the conservative "all dirty" answer).
///
/// `region` must be private or shared memory you or mmapxx mapped, readable and writable
/// (`restore_to`, which the Mprotect mechanism puts back when done). Writes from any thread are
/// tracked; with Userfaultfd, writes by the kernel on the process's behalf (read(2) into the
/// region) too, while with Mprotect such a call fails with EFAULT on a still-protected page.
/// reset() and dirty_pages() are meant for quiescent points: a write racing with them may or may
/// not be counted in that round.
///
/// Kernel floor: Linux 6.7 for Userfaultfd (detected at run time); Mprotect works everywhere.
class WriteTracker {
 public:
  WriteTracker() noexcept;
  /// Starts tracking: every page counts as clean. Syscalls: Userfaultfd: userfaultfd,
  /// ioctl(UFFDIO_API, UFFDIO_REGISTER, UFFDIO_WRITEPROTECT), open("/proc/self/pagemap");
  /// Mprotect: sigaction (once), mprotect. Errors, checked before any syscall: invalid_argument
  /// for an empty region or a restore_to without Read|Write. Then the errno of the call that
  /// failed (forcing Userfaultfd where it is unsupported: ENOSYS, EINVAL or EPERM from userfaultfd
  /// or UFFDIO_REGISTER). A failure leaves the region's protection and registrations as found.
  /// Cost: Userfaultfd ~1 µs per page to arm plus one write-protect fault (~0.9 µs, no signal) per
  /// first write; Mprotect one mprotect to arm plus a SIGSEGV and an mprotect (~4.5 µs) per first
  /// write. See docs/faults.md for measured figures.
  explicit WriteTracker(std::span<std::byte> region,
                        Protection restore_to = Protection::Read | Protection::Write,
                        WriteTracking how = WriteTracking::Automatic);
  /// The same, reporting failure in `ec` (the tracker is then empty: page_count() == 0).
  static WriteTracker make(std::span<std::byte> region, Protection restore_to, WriteTracking how,
                           std::error_code& ec) noexcept;
  /// Takes over the tracking; `other` is left empty. No syscall.
  WriteTracker(WriteTracker&&) noexcept;
  /// Stops this tracker's tracking (as the destructor), then takes over `other`'s.
  WriteTracker& operator=(WriteTracker&&) noexcept;
  /// Stops tracking: unregisters the userfaultfd range, or restores `restore_to` on every page.
  ~WriteTracker();

  /// The mechanism in use: Userfaultfd or Mprotect (never Automatic); Automatic when empty.
  WriteTracking mechanism() const noexcept;

  /// Indices of the pages written since construction or the last reset, ascending; page 0 is the
  /// page holding region.data(). Userfaultfd: PAGEMAP_SCAN ioctls (~36 ns a page, errno on
  /// failure); Mprotect: reads the bitmap, no syscall. Throws Error; the ec overload reports it
  /// (and std::errc::not_enough_memory where the vector cannot grow) and returns {}.
  std::vector<std::size_t> dirty_pages() const;
  /// Same; errors go to ec (and {} is returned).
  std::vector<std::size_t> dirty_pages(std::error_code& ec) const noexcept;
  /// Whether one page was written; false for a page past the end, or if the query fails.
  bool dirty(std::size_t page) const noexcept;
  /// The number of pages tracked (those the region overlaps); 0 when empty.
  std::size_t page_count() const noexcept;

  /// Forgets the dirty pages and write-protects every page again. Userfaultfd: one
  /// UFFDIO_WRITEPROTECT ioctl; Mprotect: one mprotect (which also ends a conservative "all
  /// dirty" state). Throws Error with the errno; the ec overload reports it.
  void reset();
  /// Same; errors go to ec.
  void reset(std::error_code& ec) noexcept;

  /// dirty_pages() and reset() as one step: no write is lost between the two. Userfaultfd: the
  /// PAGEMAP_SCAN ioctl write-protects exactly the pages it reports (PM_SCAN_WP_MATCHING);
  /// Mprotect: read then clear the bitmap, then mprotect. Errors as for dirty_pages and reset.
  std::vector<std::size_t> take_dirty_pages();
  /// Same; errors go to ec (and {} is returned).
  std::vector<std::size_t> take_dirty_pages(std::error_code& ec) noexcept;

 private:
  std::unique_ptr<detail::TrackerBackend> backend_;
};

}  // namespace mmapxx
