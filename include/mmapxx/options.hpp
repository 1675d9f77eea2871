// Options for mappings: aggregates meant for designated initializers,
// e.g. MappedFile<Access::Read> f(path, {.offset = 4096, .length = 100, .populate = true}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "mmapxx/flags.hpp"

namespace mmapxx {

class AddressReservation;

// Where a view goes in the address space. The default lets the kernel choose (mmap's address
// argument is null). Set at most one of:
// - `reservation` (plus `offset`, a page multiple): inside that AddressReservation, at `offset`
//   bytes from its start; MAP_FIXED replaces only the reservation's own reserved pages, never
//   another view or anyone else's memory. Make it with AddressReservation::at(offset).
// - `address` (page-aligned): exactly there, with MAP_FIXED_NOREPLACE (Linux 4.17+): EEXIST
//   naming the address if anything is mapped in the range, never a clobbered mapping.
struct Placement {
  const AddressReservation* reservation = nullptr;
  std::size_t offset = 0;
  void* address = nullptr;
};

struct MapOptions {
  std::uint64_t offset = 0;                // any byte offset; alignment is done inside
  std::optional<std::size_t> length{};     // bytes to map; default: to end of file
  bool populate = false;                   // prefault the whole range now (after any advice)
  std::optional<Advice> advice{};          // madvise at map time: Random for random reads, ...
  bool locked = false;                     // mlock the range; fails if RLIMIT_MEMLOCK forbids it
  HugePages huge_pages = HugePages::None;  // Explicit is for anonymous memory only
  bool no_reserve = false;                 // MAP_NORESERVE (matters for CopyOnWrite)
  // Access::Write only: create the file if missing (mode 0666 & ~umask) and extend it with
  // posix_fallocate to at least this many bytes before mapping, so a full disk is ENOSPC now
  // rather than SIGBUS later.
  std::optional<std::uint64_t> create_size{};
  // Where the view goes (see Placement): anywhere, inside a reservation, or at a fixed address.
  Placement placement{};
};

struct AnonymousOptions {
  bool shared = false;    // MAP_SHARED: the same memory in the parent and children after fork
  bool dev_zero = false;  // back it by /dev/zero instead of MAP_ANONYMOUS (the historical way)
  // With huge_pages = Transparent the advice comes first and populating then faults in huge
  // pages (several times faster first touch than 4 KiB pages, see the benchmarks); MAP_POPULATE
  // alone would fill the region with small pages before the advice could apply.
  bool populate = false;
  bool locked = false;
  HugePages huge_pages = HugePages::None;
  bool no_reserve = false;
  // Where the region goes (see Placement): anywhere, inside a reservation, or at a fixed address.
  Placement placement{};
};

}  // namespace mmapxx
