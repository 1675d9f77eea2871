// Page-alignment helpers.
#pragma once

#include <concepts>
#include <cstddef>

namespace mmapxx {

namespace detail {
std::size_t query_page_size() noexcept;
}

// The system page size, queried once.
inline std::size_t page_size() noexcept {
  static const std::size_t size = detail::query_page_size();
  return size;
}

// alignment must be a power of two; these are meant for page and huge-page sizes.
template <std::unsigned_integral T>
constexpr T align_down(T value, T alignment) noexcept {
  return value & ~(alignment - 1);
}

template <std::unsigned_integral T>
constexpr T align_up(T value, T alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);
}

template <std::unsigned_integral T>
constexpr bool is_aligned(T value, T alignment) noexcept {
  return (value & (alignment - 1)) == 0;
}

}  // namespace mmapxx
