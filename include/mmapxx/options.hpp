/// @file
/// Options for mappings: aggregates meant for designated initializers,
/// e.g. MappedFile<Access::Read> f(path, {.offset = 4096, .length = 100, .populate = true}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "mmapxx/flags.hpp"

namespace mmapxx {

class AddressReservation;

/// Where a view goes in the address space. The default lets the kernel choose (mmap's address
/// argument is null). Set at most one of:
/// - `reservation` (plus `offset`, a page multiple): inside that AddressReservation, at `offset`
///   bytes from its start; MAP_FIXED replaces only the reservation's own reserved pages, never
///   another view or anyone else's memory. Make it with AddressReservation::at(offset).
/// - `address` (page-aligned): exactly there, with MAP_FIXED_NOREPLACE (Linux 4.17+): EEXIST
///   naming the address if anything is mapped in the range, never a clobbered mapping.
struct Placement {
  const AddressReservation* reservation = nullptr;  ///< the reservation to map inside, or null
  std::size_t offset = 0;  ///< byte offset inside `reservation` (a page multiple; EINVAL otherwise)
  void* address = nullptr;  ///< exact page-aligned address (MAP_FIXED_NOREPLACE), or null
};

/// What opening a file by path may do when the file is missing or already there (MappedFile).
/// Only Access::Write may create or truncate; every other mode and every descriptor-taking call
/// requires OpenExisting.
enum class Creation {
  OpenExisting,      ///< the file must exist; it is never created, extended or truncated (ENOENT)
  CreateNew,         ///< O_CREAT|O_EXCL: the file must not exist (EEXIST); it is created
  OpenOrCreate,      ///< opens the file if it exists (untouched), else creates it
  CreateOrTruncate,  ///< creates the file, or empties an existing one (O_TRUNC): its data is gone
};

/// How a MappedFile (or the map<A>() of a shared memory object) is mapped. Every field defaults to
/// the whole existing file, lazily faulted, with no advice, lock or creation.
struct MapOptions {
  std::uint64_t offset = 0;                ///< any byte offset; alignment is done inside
  std::optional<std::size_t> length{};     ///< bytes to map; default: to end of file
  bool populate = false;                   ///< prefault the whole range now (after any advice)
  std::optional<Advice> advice{};          ///< madvise at map time: Random for random reads, ...
  bool locked = false;                     ///< mlock the range; fails if RLIMIT_MEMLOCK forbids it
  HugePages huge_pages = HugePages::None;  ///< Explicit is for anonymous memory only
  bool no_reserve = false;                 ///< MAP_NORESERVE (matters for CopyOnWrite)
  /// Access::Write with a path only: whether the file may be created or truncated (see Creation).
  Creation creation = Creation::OpenExisting;
  /// Permission bits of a file the call creates, narrowed by the process umask as open(2) does
  /// (0666 gives 0644 under the usual umask 022). At most 07777; ignored when nothing is created.
  unsigned mode = 0666;
  /// Size of a file the call creates (or, with CreateOrTruncate, empties), reserved with
  /// posix_fallocate so that a full disk is ENOSPC now rather than SIGBUS later. An existing file
  /// opened with OpenExisting or OpenOrCreate is never resized. Must be 0 with OpenExisting.
  std::uint64_t initial_size = 0;
  /// Where the view goes (see Placement): anywhere, inside a reservation, or at a fixed address.
  Placement placement{};
};

/// How an AnonymousRegion is mapped. Every field defaults to the plain, private, lazily faulted
/// mapping.
struct AnonymousOptions {
  bool shared = false;    ///< MAP_SHARED: the same memory in the parent and children after fork
  bool dev_zero = false;  ///< back it by /dev/zero instead of MAP_ANONYMOUS (the historical way)
  /// Fault every page in now. With huge_pages = Transparent the advice comes first and populating
  /// then faults in huge pages (several times faster first touch than 4 KiB pages, see the
  /// benchmarks); MAP_POPULATE alone would fill the region with small pages before the advice
  /// could apply. With Explicit, madvise(MADV_POPULATE_WRITE) (Linux 5.14) does it, so a huge page
  /// that cannot be had is an error now (ENOMEM or EFAULT, naming /proc/sys/vm/nr_hugepages), not
  /// a SIGBUS later; MAP_POPULATE would ignore the failure.
  bool populate = false;
  bool locked = false;  ///< mlock(2) the region; fails (ENOMEM/EPERM) past RLIMIT_MEMLOCK
  /// Explicit: MAP_HUGETLB, 2 MiB pages reserved at mmap (ENOMEM naming
  /// /proc/sys/vm/nr_hugepages when none are). Transparent: madvise(MADV_HUGEPAGE), best effort.
  HugePages huge_pages = HugePages::None;
  /// MAP_NORESERVE: no swap is reserved, so a later touch may fail under memory pressure. With
  /// huge_pages = Explicit it is accepted only with populate: unreserved huge pages are taken at
  /// first touch, which raises SIGBUS when none is free, so without populate it is an
  /// invalid_argument error before any syscall.
  bool no_reserve = false;
  /// Where the region goes (see Placement): anywhere, inside a reservation, or at a fixed address.
  Placement placement{};
};

}  // namespace mmapxx
