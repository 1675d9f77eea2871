/// @file
/// The vocabulary of a mapping: access mode, protection bits, sync policy, advice.
#pragma once

#include <cstdint>
#include <type_traits>

namespace mmapxx {

/// What may be viewed in place in mapped bytes (as<T>(), object_at<T>()): types whose bytes are
/// their whole value.
template <class T>
concept TriviallyCopyable = std::is_trivially_copyable_v<T>;

/// How a file is mapped. It is a template argument, so what a mapping may do is known at compile
/// time.
enum class Access {
  Read,         ///< PROT_READ, MAP_SHARED: sees the file, cannot change it
  Write,        ///< PROT_READ|PROT_WRITE, MAP_SHARED: writes reach the file and other mappers
  CopyOnWrite,  ///< PROT_READ|PROT_WRITE, MAP_PRIVATE: writes stay private, the file is untouched
};

/// Page protection as a type-safe bitmask (values equal Linux's PROT_* bits).
enum class Protection : unsigned {
  None = 0,   ///< PROT_NONE: any access faults (SIGSEGV)
  Read = 1,   ///< PROT_READ
  Write = 2,  ///< PROT_WRITE (on x86 it implies read)
  Exec = 4,   ///< PROT_EXEC
};

/// Union of two protection sets.
constexpr Protection operator|(Protection a, Protection b) noexcept {
  return static_cast<Protection>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
/// Intersection of two protection sets.
constexpr Protection operator&(Protection a, Protection b) noexcept {
  return static_cast<Protection>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// Complement within Read|Write|Exec.
constexpr Protection operator~(Protection a) noexcept {
  return static_cast<Protection>(~static_cast<unsigned>(a) & 7u);
}
/// Adds the bits of b to a.
constexpr Protection& operator|=(Protection& a, Protection b) noexcept {
  return a = a | b;
}
/// Keeps in a only the bits also in b.
constexpr Protection& operator&=(Protection& a, Protection b) noexcept {
  return a = a & b;
}
/// Whether `set` contains every bit of `bits` (true for bits == None).
constexpr bool has(Protection set, Protection bits) noexcept {
  return (set & bits) == bits;
}

/// What flush() asks of msync(2). There is never an implicit msync: destructors do not flush.
enum class SyncPolicy {
  Sync,        ///< MS_SYNC: returns when the range is written back (a ranged fdatasync)
  Async,       ///< MS_ASYNC: schedules writeback (a no-op on Linux since 2.6.17)
  Invalidate,  ///< MS_SYNC|MS_INVALIDATE: write back, then drop other cached copies
};

/// madvise(2) hints that never change the contents of memory.
enum class Advice {
  Normal,      ///< MADV_NORMAL: default readahead
  Sequential,  ///< MADV_SEQUENTIAL: aggressive readahead, pages may be freed soon after access
  Random,      ///< MADV_RANDOM: no readahead
  WillNeed,    ///< MADV_WILLNEED: start reading the range in now (asynchronous)
  HugePage,    ///< MADV_HUGEPAGE: use transparent huge pages (EINVAL without THP support)
  NoHugePage,  ///< MADV_NOHUGEPAGE: never use transparent huge pages here
  /// MADV_POPULATE_READ: prefault readable (Linux 5.14; EINVAL before); EFAULT where an access
  /// would fault (past end of file)
  PopulateRead,
  /// MADV_POPULATE_WRITE: prefault writable, breaking copy-on-write (Linux 5.14; EINVAL before)
  PopulateWrite,
  DontFork,  ///< MADV_DONTFORK: a child made by fork does not get this range
  DoFork,    ///< MADV_DOFORK: undoes DontFork
  DontDump,  ///< MADV_DONTDUMP: left out of core dumps (Linux 3.4)
  DoDump,    ///< MADV_DODUMP: undoes DontDump (Linux 3.4)
};

/// madvise(2) hints that discard contents: only through advise_unchecked().
enum class UncheckedAdvice {
  DontNeed,  ///< MADV_DONTNEED: private pages read back as zero (or the file's contents) on next
             ///< access
  Free,      ///< MADV_FREE (Linux 4.5): private anonymous pages may be freed lazily
  Remove,    ///< MADV_REMOVE: frees the backing store (shmem/tmpfs, hole punch)
};

/// Huge-page request for a mapping.
enum class HugePages {
  None,         ///< ordinary pages (the kernel's THP policy still applies)
  Transparent,  ///< madvise(MADV_HUGEPAGE): best effort, works with THP in "madvise" mode
  /// MAP_HUGETLB (anonymous memory only): fails clearly (ENOMEM, naming /proc/sys/vm/nr_hugepages)
  /// when none are reserved or free; with no_reserve, only together with populate.
  Explicit,
};

}  // namespace mmapxx
