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
enum class Protection : unsigned { None = 0, Read = 1, Write = 2, Exec = 4 };

constexpr Protection operator|(Protection a, Protection b) noexcept {
  return static_cast<Protection>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr Protection operator&(Protection a, Protection b) noexcept {
  return static_cast<Protection>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr Protection operator~(Protection a) noexcept {
  return static_cast<Protection>(~static_cast<unsigned>(a) & 7u);
}
constexpr Protection& operator|=(Protection& a, Protection b) noexcept {
  return a = a | b;
}
constexpr Protection& operator&=(Protection& a, Protection b) noexcept {
  return a = a & b;
}
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
  Normal,
  Sequential,
  Random,
  WillNeed,
  HugePage,
  NoHugePage,
  PopulateRead,   ///< prefault readable (Linux 5.14); EFAULT where an access would fault
  PopulateWrite,  ///< prefault writable (Linux 5.14)
  DontFork,
  DoFork,
  DontDump,
  DoDump,
};

/// madvise(2) hints that discard contents: only through advise_unchecked().
enum class UncheckedAdvice {
  DontNeed,  ///< private pages read back as zero (or the file's contents) on next access
  Free,      ///< private anonymous pages may be freed lazily
  Remove,    ///< frees the backing store (shmem/tmpfs, hole punch)
};

/// Huge-page request for a mapping.
enum class HugePages {
  None,
  Transparent,  ///< madvise(MADV_HUGEPAGE): best effort, works with THP in "madvise" mode
  /// MAP_HUGETLB (anonymous memory only): fails clearly (ENOMEM, naming /proc/sys/vm/nr_hugepages)
  /// when none are reserved or free; with no_reserve, only together with populate.
  Explicit,
};

}  // namespace mmapxx
