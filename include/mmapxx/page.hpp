// Page-alignment helpers.
#pragma once

#include <concepts>
#include <cstddef>

namespace mmapxx {

namespace detail {
std::size_t query_page_size() noexcept;
}

// The size in bytes of a page of this process's address space (4096 on x86-64): the unit of
// mmap offsets, mprotect, mlock and mincore. Huge pages are not reported here.
// Syscalls: none after the first call; the first asks sysconf(_SC_PAGESIZE), which reads the
//   value the kernel passed at exec (AT_PAGESZ) and cannot fail.
// Cost: one load of a function-local static (thread-safe initialisation on the first call).
inline std::size_t page_size() noexcept {
  static const std::size_t size = detail::query_page_size();
  return size;
}

// value rounded down to a multiple of alignment, e.g. align_down(5000u, 4096u) == 4096.
// alignment must be a power of two (page and huge-page sizes are); no check is made, and any
// other value gives a meaningless result. Never fails, no syscall, usable in constant
// expressions.
template <std::unsigned_integral T>
constexpr T align_down(T value, T alignment) noexcept {
  return value & ~(alignment - 1);
}

// value rounded up to a multiple of alignment, e.g. align_up(5000u, 4096u) == 8192.
// alignment must be a power of two; no check is made. The arithmetic is T's: a value within
// alignment - 1 of T's maximum wraps around to 0, so check sizes that come from outside first
// (a caller's "to the end" length, for one). Never fails, no syscall, constexpr.
template <std::unsigned_integral T>
constexpr T align_up(T value, T alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Whether value is a multiple of alignment, e.g. is_aligned(8192u, 4096u).
// alignment must be a power of two; no check is made. Never fails, no syscall, constexpr.
template <std::unsigned_integral T>
constexpr bool is_aligned(T value, T alignment) noexcept {
  return (value & (alignment - 1)) == 0;
}

}  // namespace mmapxx
