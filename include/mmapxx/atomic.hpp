// Objects placed in shared memory and operated on atomically across processes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <type_traits>

#include "mmapxx/flags.hpp"

namespace mmapxx {

namespace detail {
// Throws an mmapxx::Error (invalid_argument) unless an object of `size` bytes fits at `offset`
// and the address is aligned to `alignment`.
void check_object_at(const std::byte* data, std::size_t bytes, std::size_t offset, std::size_t size,
                     std::size_t alignment);
}  // namespace detail

// The T living at bytes[offset]: checked to fit and to be aligned for T. T must be trivially
// copyable (no pointers to one process's heap, no vtables). The memory is reused as is: a fresh
// shared mapping reads as zero, which must be a valid T.
template <TriviallyCopyable T>
T& object_at(std::span<std::byte> bytes, std::size_t offset = 0) {
  detail::check_object_at(bytes.data(), bytes.size(), offset, sizeof(T), alignof(T));
  return *std::launder(reinterpret_cast<T*>(bytes.data() + offset));
}
template <TriviallyCopyable T>
const T& object_at(std::span<const std::byte> bytes, std::size_t offset = 0) {
  detail::check_object_at(bytes.data(), bytes.size(), offset, sizeof(T), alignof(T));
  return *std::launder(reinterpret_cast<const T*>(bytes.data() + offset));
}

// A std::atomic_ref on the T at bytes[offset]. Only lock-free types are allowed: a non-lock-free
// atomic takes a lock that lives in one process's memory, so it would not exclude other
// processes. The address must meet atomic_ref's required_alignment (it may exceed alignof(T)).
template <TriviallyCopyable T>
std::atomic_ref<T> atomic_at(std::span<std::byte> bytes, std::size_t offset = 0) {
  static_assert(std::atomic_ref<T>::is_always_lock_free,
                "atomics shared between processes must be lock-free");
  detail::check_object_at(bytes.data(), bytes.size(), offset, sizeof(T),
                          std::atomic_ref<T>::required_alignment);
  return std::atomic_ref<T>(*std::launder(reinterpret_cast<T*>(bytes.data() + offset)));
}

// A 64-bit counter in shared memory that any number of processes increment without losing a
// count. It does not own the memory: keep the mapping alive while the counter is used.
class SharedCounter {
 public:
  explicit SharedCounter(std::span<std::byte> bytes, std::size_t offset = 0)
      : value_(&object_at<std::uint64_t>(bytes, offset)) {
    (void)atomic_at<std::uint64_t>(bytes, offset);  // checks atomic_ref's alignment
  }

  // Adds n; returns the value after the addition. Relaxed order: the count itself is exact;
  // use a stronger order or another synchronisation to publish other data with it.
  std::uint64_t add(std::uint64_t n = 1) noexcept {
    return std::atomic_ref<std::uint64_t>(*value_).fetch_add(n, std::memory_order_relaxed) + n;
  }
  std::uint64_t load() const noexcept {
    return std::atomic_ref<std::uint64_t>(*value_).load(std::memory_order_acquire);
  }
  void store(std::uint64_t value) noexcept {
    std::atomic_ref<std::uint64_t>(*value_).store(value, std::memory_order_release);
  }

 private:
  std::uint64_t* value_;
};

}  // namespace mmapxx
