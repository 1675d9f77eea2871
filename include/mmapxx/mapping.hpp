/// @file
/// What every mapping has in common: the view of bytes, and the calls that act on pages
/// (flush, advise, lock, residency, protect). MappedFile and AnonymousRegion derive from it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <system_error>
#include <type_traits>
#include <vector>

#include "mmapxx/error.hpp"
#include "mmapxx/flags.hpp"
#include "mmapxx/page.hpp"
#include "mmapxx/protection_guard.hpp"

namespace mmapxx {

/// "To the end of the view": the default `length` of every ranged call (flush, advise, lock,
/// residency, protect, set_protection).
inline constexpr std::size_t whole = std::numeric_limits<std::size_t>::max();

/// Which pages of a range are in RAM (mincore). pages[i] is 1 when the i-th page overlapping the
/// range is resident, else 0: one byte a page, as mincore fills it, so nothing is repacked.
struct Residency {
  std::vector<std::uint8_t> pages;  ///< 1 for a resident page, 0 otherwise; one entry per page
  std::size_t resident = 0;         ///< how many entries of `pages` are 1
  /// The number of pages the range covers (pages.size()).
  std::size_t total() const noexcept { return pages.size(); }
};

// ---- internal ----
// detail::MappingCore and detail::Mapping carry the calls every mapping has; they are documented
// here and reached through MappedFile, AnonymousRegion and the shared-memory mappings.

namespace detail {

struct ProtectionState;

/// A byte range of a mapping, aligned outward to pages: what every page-level call acts on.
struct PageSpan {
  std::byte* begin = nullptr;
  std::size_t length = 0;
};

/// Untyped core of all mappings; implemented in lib/. `data` may sit anywhere in its first page.
class MappingCore {
 public:
  /// The first byte of the view: exactly the byte asked for (no page alignment); null when empty.
  const std::byte* data() const noexcept { return data_; }
  /// The view's length in bytes, exactly as asked for (not rounded to pages).
  std::size_t size() const noexcept { return size_; }
  /// Whether size() is 0.
  bool empty() const noexcept { return size_ == 0; }
  /// Whether anything is mapped (false for a default-constructed, moved-from or zero-size view).
  explicit operator bool() const noexcept { return data_ != nullptr; }

  /// The view's base protection: what it was mapped with, or what set_protection() (or a guard's
  /// release()) last gave the whole view. Live guards and set_protection() on part of the view
  /// lie over it; protection_at() reports a page's own. No syscall.
  Protection protection() const noexcept;

  /// The protection of the page holding byte `offset`, as this mapping set it: the base, a
  /// set_protection() range, or a live guard's. mprotect calls made outside the mapping (a
  /// WriteTracker, raw mprotect) are not seen. No syscall; linear in the number of live guards
  /// and set_protection() ranges. Errors: invalid_argument when offset >= size().
  Protection protection_at(std::size_t offset) const;
  /// Same; errors go to ec.
  Protection protection_at(std::size_t offset, std::error_code& ec) const noexcept;

  /// Changes the protection of the pages covering the range for good (mprotect, one call) and
  /// records it: over the whole view it becomes protection(); over a part, protection_at()
  /// reports it and later guards there restore it. It takes over the pages of live guards whose
  /// range it covers entirely (their end then leaves it in place). Setting Write on a
  /// MappedFile<Access::Read> fails with EACCES (its descriptor was opened read-only).
  /// Errors: invalid_argument for a range outside the view, before any syscall; mprotect's errno
  /// (EACCES; ENOMEM when the split would pass vm.max_map_count); ENOMEM when the record cannot
  /// grow. A failure changes nothing. Cost: one mprotect; may allocate a few bytes for the record.
  void set_protection(Protection protection, std::size_t offset = 0, std::size_t length = whole);
  /// Same; errors go to ec.
  void set_protection(Protection protection, std::size_t offset, std::size_t length,
                      std::error_code& ec) noexcept;

  /// Gives the kernel a hint about bytes [offset, offset + length) of the view; the contents of
  /// memory never change. All ranges are byte offsets into the view; length `whole` means "to the
  /// end". An empty range does nothing (no syscall).
  /// Syscalls: one madvise(2) with the advice's MADV_* over the range aligned outward to pages.
  /// Errors: invalid_argument (operation "madvise") for an offset past size() or a range running
  ///   past it, before any syscall (never silently clipped); madvise's errno, e.g. EINVAL for a
  ///   value the kernel does not know (HugePage without THP; PopulateRead/PopulateWrite before
  ///   Linux 5.14), EFAULT from PopulateRead/PopulateWrite where an access would fault (past end
  ///   of file), ENOMEM from PopulateWrite out of memory. The error names the byte range.
  ///   PopulateRead/PopulateWrite stop at the first page that fails: the pages before it stay
  ///   populated (PopulateWrite on a CopyOnWrite view: copied, no longer following the file).
  /// Cost: WillNeed starts readahead; PopulateRead/PopulateWrite fault every page in now (I/O for
  ///   a file); the others only set flags on the kernel's memory area (which may split it).
  void advise(Advice advice, std::size_t offset = 0, std::size_t length = whole) const;
  /// Same; errors go to ec.
  void advise(Advice advice, std::size_t offset, std::size_t length,
              std::error_code& ec) const noexcept;
  /// Like advise(), for the hints that discard contents (see UncheckedAdvice): after it, the
  /// range may read as zero or as the file's contents. Syscalls: one madvise(2) over the range
  /// aligned outward to pages. Errors: as advise(); EINVAL where the memory does not support the
  /// hint (Free on a file, huge-page or shared mapping; DontNeed on locked pages; Remove on a
  /// mapping that is not shared and writable); EOPNOTSUPP for Remove where the filesystem cannot
  /// punch holes. Whole pages are affected, including bytes of the first and last page that lie
  /// outside the range.
  void advise_unchecked(UncheckedAdvice advice, std::size_t offset = 0,
                        std::size_t length = whole) const;
  /// Same; errors go to ec.
  void advise_unchecked(UncheckedAdvice advice, std::size_t offset, std::size_t length,
                        std::error_code& ec) const noexcept;

  /// Pins the pages under bytes [offset, offset + length) of the view in RAM, reading in any that
  /// are not resident, so later accesses never wait for disk or swap. An empty range does
  /// nothing. Syscalls: one mlock(2) over the range aligned outward to whole pages.
  /// Errors: invalid_argument (operation "mlock") if the range runs past size(), before any
  ///   syscall; ENOMEM if RLIMIT_MEMLOCK is too small (the message names the limit), or if
  ///   locking part of a mapping would split it past vm.max_map_count; EPERM if that rlimit is 0
  ///   without CAP_IPC_LOCK; EAGAIN if some pages could not be locked. A failure may leave part of
  ///   the range locked: unlock() it.
  /// Cost: synchronous reads of every non-resident page (a cold 1 GiB file: 1 GiB of I/O).
  /// Allocates
  ///   nothing. Locks do not nest: one unlock() undoes any number of lock() calls.
  void lock(std::size_t offset = 0, std::size_t length = whole) const;
  /// Same; errors go to ec.
  void lock(std::size_t offset, std::size_t length, std::error_code& ec) const noexcept;
  /// Unpins the pages under the range (they may be paged out again). An empty range does
  /// nothing. Syscalls: one munlock(2) over the range aligned outward to whole pages. Errors:
  /// invalid_argument (operation "munlock") for a range past size(), before any syscall;
  /// munlock's errno (ENOMEM). Unlocking pages that are not locked is not an error.
  void unlock(std::size_t offset = 0, std::size_t length = whole) const;
  /// Same; errors go to ec.
  void unlock(std::size_t offset, std::size_t length, std::error_code& ec) const noexcept;

  /// Which pages under bytes [offset, offset + length) are in RAM now: one entry per page the
  /// range overlaps (see Residency). An empty range gives an empty Residency without a syscall.
  /// Syscalls: one mincore(2) over the range aligned outward to pages.
  /// Errors: invalid_argument (operation "mincore") for a range past size(), before any
  ///   syscall; mincore's errno (ENOMEM).
  /// Cost: allocates one byte per page (256 MiB for 1 TiB: use page_cache_stats() for counts in
  ///   bounded memory); a walk of the page tables; no I/O.
  Residency residency(std::size_t offset = 0, std::size_t length = whole) const;
  /// Same; errors go to ec (the Residency is then empty).
  Residency residency(std::size_t offset, std::size_t length, std::error_code& ec) const noexcept;

  /// Changes the protection of the pages covering the range (mprotect, one call) until the
  /// returned guard ends; the guard then puts back what was there before it: the base, a
  /// set_protection() range, or an enclosing guard's protection, so guards nest and may end in
  /// any order. Cost: one mprotect each way, plus a short lock and a record entry (allocation
  /// only the first time, or when more guards are alive than ever before). A guard should end
  /// before its mapping is resized; one that outlives its mapping does nothing when it ends.
  /// Errors: invalid_argument for a range outside the view (before any syscall); mprotect's
  /// errno (EACCES: Write on a read-only file; ENOMEM). A failure changes nothing.
  [[nodiscard]] ProtectionGuard protect(Protection protection, std::size_t offset = 0,
                                        std::size_t length = whole) const;
  /// Same; errors go to ec (the guard is then inactive).
  [[nodiscard]] ProtectionGuard protect(Protection protection, std::size_t offset,
                                        std::size_t length, std::error_code& ec) const noexcept;

  /// What errors name: the file path, "anonymous", ...
  virtual const char* label() const noexcept = 0;

 protected:
  MappingCore() noexcept = default;
  MappingCore(std::byte* data, std::size_t size, Protection protection) noexcept
      : data_(data), size_(size), protection_(protection) {}
  /// After resize(): keeps the protection record true for the new length (new pages take the
  /// last page's protection, as mremap gives it). `old_size` is size() before the resize.
  void resized(std::size_t old_size) noexcept;
  MappingCore(MappingCore&& other) noexcept;
  MappingCore& operator=(MappingCore&& other) noexcept;
  /// Unmaps what a derived destructor left (they usually released the view already: then this
  /// is two loads and no call).
  ~MappingCore() {
    if (data_ != nullptr || state_.load(std::memory_order_acquire) != nullptr) reset();
  }

  Failure page_span_of(const char* operation, std::size_t offset, std::size_t length,
                       PageSpan& out) const noexcept;
  Failure flush_range(int msync_flags, std::size_t offset, std::size_t length) const noexcept;
  void reset() noexcept;  ///< unmaps, leaves an empty view

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;  ///< whole pages mapped from data_'s page; 0: those covering size_
  Protection protection_ = Protection::None;
  /// Made on first protect()/set_protection(); const calls may make it, hence atomic.
  mutable std::atomic<ProtectionState*> state_{nullptr};

 private:
  ProtectionState* state() const noexcept;  // nullptr only when out of memory
  // protect()'s work, shared by both overloads: `code` is 0 or the errno of the failure.
  ProtectionGuard guard_pages(Protection protection, std::size_t offset, std::size_t length,
                              int& code) const noexcept;
  // protect()'s error, as the throwing overload reports it (`code` from guard_pages).
  [[noreturn, gnu::cold]] void raise_protect(int code, std::size_t offset,
                                             std::size_t length) const;
  template <class Call>
  Failure on_pages(const char* operation, std::size_t offset, std::size_t length,
                   Call call) const noexcept;
  Failure advise_range(int advice, std::size_t offset, std::size_t length) const noexcept;
  Failure lock_range(bool lock, std::size_t offset, std::size_t length) const noexcept;
  Failure residency_of(std::size_t offset, std::size_t length, Residency& out) const noexcept;
  Failure set_protection_range(Protection protection, std::size_t offset,
                               std::size_t length) noexcept;
};

void check_view_cast(const std::byte* data, std::size_t size, std::size_t element_size,
                     std::size_t element_alignment, const char* label);

inline bool view_cast_fits(const std::byte* data, std::size_t size, std::size_t element_size,
                           std::size_t element_alignment, std::error_code& ec) noexcept {
  if (size % element_size == 0 && reinterpret_cast<std::uintptr_t>(data) % element_alignment == 0) {
    ec.clear();
    return true;
  }
  ec = std::make_error_code(std::errc::invalid_argument);
  return false;
}

/// Why `count` elements of `element_size` bytes at byte `offset` of a view do not fit (no failure
/// when they do): the range must lie inside the view with no wrap, and data + offset be aligned.
Failure sub_view_failure(const std::byte* data, std::size_t size, std::size_t offset,
                         std::size_t count, std::size_t element_size,
                         std::size_t element_alignment) noexcept;
[[noreturn]] void raise_sub_view(const Failure& failure, const char* label);

template <bool Writable>
class Mapping : public MappingCore {
 public:
  using MappingCore::data;

  /// The first byte of the view, writable (only on writable mappings). No syscall.
  std::byte* data() noexcept requires Writable { return data_; }
  /// The whole view, [data(), data() + size()). Valid until the mapping is resized or destroyed.
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  /// The whole view, writable (only on writable mappings).
  std::span<std::byte> bytes() noexcept requires Writable { return {data_, size_}; }

  /// Iterators over the view's bytes (read-only).
  const std::byte* begin() const noexcept { return data_; }
  /// One past the last byte of the view.
  const std::byte* end() const noexcept { return data_ + size_; }
  /// Iterators over the view's bytes (writable mappings only).
  std::byte* begin() noexcept requires Writable { return data_; }
  /// One past the last byte of the view.
  std::byte* end() noexcept requires Writable { return data_ + size_; }
  /// Byte i of the view, unchecked (i < size() is the caller's duty, as for std::span).
  const std::byte& operator[](std::size_t i) const noexcept { return data_[i]; }
  /// Byte i of the view, writable, unchecked.
  std::byte& operator[](std::size_t i) noexcept requires Writable { return data_[i]; }

  /// The view as an array of T; throws invalid_argument unless size() is a multiple of sizeof(T)
  /// and data() is aligned for T. No syscall, no copy.
  template <TriviallyCopyable T>
  std::span<const T> as() const {
    check_view_cast(data_, size_, sizeof(T), alignof(T), label());
    return {reinterpret_cast<const T*>(data_), size_ / sizeof(T)};
  }
  /// The same, writable (only on writable mappings).
  template <TriviallyCopyable T>
  std::span<T> as() requires Writable {
    check_view_cast(data_, size_, sizeof(T), alignof(T), label());
    return {reinterpret_cast<T*>(data_), size_ / sizeof(T)};
  }
  /// The same without exceptions: an empty span and errc::invalid_argument when it does not fit.
  template <TriviallyCopyable T>
  std::span<const T> as(std::error_code& ec) const noexcept {
    if (!view_cast_fits(data_, size_, sizeof(T), alignof(T), ec)) return {};
    return {reinterpret_cast<const T*>(data_), size_ / sizeof(T)};
  }
  template <TriviallyCopyable T>
  std::span<T> as(std::error_code& ec) noexcept requires Writable {
    if (!view_cast_fits(data_, size_, sizeof(T), alignof(T), ec)) return {};
    return {reinterpret_cast<T*>(data_), size_ / sizeof(T)};
  }

  /// A typed sub-view: `count` elements of T starting at byte `offset` of the view, e.g. records
  /// after a header: `file.as<Record>(sizeof(Header), header.count)`. No syscall, no copy.
  /// Errors (invalid_argument naming the operation "as" and label(), before anything is read):
  /// offset past the end; count * sizeof(T) overflowing, or offset + that running past size();
  /// data() + offset not aligned to alignof(T). The mutable overload exists only on writable
  /// mappings. Pointers into it live as long as the mapping is neither resized nor destroyed.
  template <TriviallyCopyable T>
  std::span<const T> as(std::size_t offset, std::size_t count) const {
    if (Failure f = sub_view_failure(data_, size_, offset, count, sizeof(T), alignof(T)))
      raise_sub_view(f, label());
    return {reinterpret_cast<const T*>(data_ + offset), count};
  }
  template <TriviallyCopyable T>
  std::span<T> as(std::size_t offset, std::size_t count) requires Writable {
    if (Failure f = sub_view_failure(data_, size_, offset, count, sizeof(T), alignof(T)))
      raise_sub_view(f, label());
    return {reinterpret_cast<T*>(data_ + offset), count};
  }
  /// The same without exceptions: an empty span and errc::invalid_argument when it does not fit.
  template <TriviallyCopyable T>
  std::span<const T> as(std::size_t offset, std::size_t count, std::error_code& ec) const noexcept {
    if (report(sub_view_failure(data_, size_, offset, count, sizeof(T), alignof(T)), ec)) return {};
    return {reinterpret_cast<const T*>(data_ + offset), count};
  }
  template <TriviallyCopyable T>
  std::span<T> as(std::size_t offset, std::size_t count,
                  std::error_code& ec) noexcept requires Writable {
    if (report(sub_view_failure(data_, size_, offset, count, sizeof(T), alignof(T)), ec)) return {};
    return {reinterpret_cast<T*>(data_ + offset), count};
  }

 protected:
  using MappingCore::MappingCore;
};

}  // namespace detail
}  // namespace mmapxx
