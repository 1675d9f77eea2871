/// @file
/// Objects placed in shared memory and operated on atomically across processes: object_at,
/// atomic_at, AtomicLoadRef (the load-only view of read-only memory) and SharedCounter.
///
/// Waiting: std::atomic_ref<T>::wait/notify_* (libstdc++) sleep on a process-private futex, so a
/// waiter in one process is never woken by a notify in another: across processes they deadlock.
/// Wait with futex(2) FUTEX_WAIT/FUTEX_WAKE without FUTEX_PRIVATE_FLAG on a 4-byte aligned word.
#pragma once

#include <atomic>
#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>

#include "mmapxx/flags.hpp"
#include "mmapxx/mapping.hpp"

namespace mmapxx {

/// Any mmapxx mapping (MappedFile<A>, AnonymousRegion, the mappings of shared memory objects):
/// object_at and atomic_at take one directly and name its label() in their errors.
template <class M>
concept AnyMapping = std::derived_from<M, detail::MappingCore>;

/// @cond INTERNAL
// The checks behind object_at, atomic_at and SharedCounter; not for callers.
namespace detail {

/// 0 when an object of `size` bytes fits at `offset` in `bytes` bytes at `data` and its address is
/// aligned to `alignment`; otherwise EINVAL. Overflow-safe for any offset and size (no sum is
/// formed that could wrap), so offsets near 2^64 are refused, never wrapped into range.
inline int object_at_error(const std::byte* data, std::size_t bytes, std::size_t offset,
                           std::size_t size, std::size_t alignment) noexcept {
  if (offset > bytes || size > bytes - offset) return EINVAL;
  if (reinterpret_cast<std::uintptr_t>(data + offset) % alignment != 0) return EINVAL;
  return 0;
}

/// Throws an mmapxx::Error (invalid_argument) naming `operation` and `label` unless
/// object_at_error() is 0; the detail says which rule was broken.
void check_object_at(const char* operation, const std::byte* data, std::size_t bytes,
                     std::size_t offset, std::size_t size, std::size_t alignment,
                     const char* label = "");

/// Sets ec from object_at_error(); true when the object fits. Allocates nothing.
inline bool object_fits(const std::byte* data, std::size_t bytes, std::size_t offset,
                        std::size_t size, std::size_t alignment, std::error_code& ec) noexcept {
  if (const int code = object_at_error(data, bytes, offset, size, alignment)) {
    ec.assign(code, std::generic_category());
    return false;
  }
  ec.clear();
  return true;
}

template <class T>
inline constexpr bool shareable_atomic = std::atomic_ref<T>::is_always_lock_free;

}  // namespace detail
/// @endcond

// ---- object_at ----

/// The T living at bytes[offset]: checked to fit and to be aligned for T. T must be trivially
/// copyable (no pointers to one process's heap, no vtables). The memory is reused as is: a fresh
/// shared mapping reads as zero, which must be a valid T. Read-only bytes give a const T&.
/// Syscalls: none. Errors: invalid_argument (operation "object_at") when the object does not fit
/// (offsets near 2^64 included) or the address is misaligned. Cost: two compares.
template <TriviallyCopyable T>
T& object_at(std::span<std::byte> bytes, std::size_t offset = 0) {
  detail::check_object_at("object_at", bytes.data(), bytes.size(), offset, sizeof(T), alignof(T));
  return *std::launder(reinterpret_cast<T*>(bytes.data() + offset));
}
/// The same for read-only bytes: a const T&.
template <TriviallyCopyable T>
const T& object_at(std::span<const std::byte> bytes, std::size_t offset = 0) {
  detail::check_object_at("object_at", bytes.data(), bytes.size(), offset, sizeof(T), alignof(T));
  return *std::launder(reinterpret_cast<const T*>(bytes.data() + offset));
}
/// Same without exceptions: a pointer to the T, or nullptr with ec = errc::invalid_argument.
template <TriviallyCopyable T>
T* object_at(std::span<std::byte> bytes, std::size_t offset, std::error_code& ec) noexcept {
  if (!detail::object_fits(bytes.data(), bytes.size(), offset, sizeof(T), alignof(T), ec))
    return nullptr;
  return std::launder(reinterpret_cast<T*>(bytes.data() + offset));
}
/// Same for read-only bytes: a const T*, or nullptr with ec = errc::invalid_argument.
template <TriviallyCopyable T>
const T* object_at(std::span<const std::byte> bytes, std::size_t offset,
                   std::error_code& ec) noexcept {
  if (!detail::object_fits(bytes.data(), bytes.size(), offset, sizeof(T), alignof(T), ec))
    return nullptr;
  return std::launder(reinterpret_cast<const T*>(bytes.data() + offset));
}

/// The T at offset `offset` of a mapping: T& when the mapping is writable (Write, CopyOnWrite,
/// AnonymousRegion), const T& when it is a Read mapping or a const one. Errors name the mapping's
/// label() (its path or shm name). The reference lives as long as the mapping's memory: resize()
/// or destruction of the mapping invalidates it; a temporary mapping is refused at compile time.
template <TriviallyCopyable T, AnyMapping M>
auto& object_at(M& mapping, std::size_t offset = 0) {
  auto bytes = mapping.bytes();
  using Byte = std::remove_reference_t<decltype(bytes[0])>;
  using Object = std::conditional_t<std::is_const_v<Byte>, const T, T>;
  detail::check_object_at("object_at", bytes.data(), bytes.size(), offset, sizeof(T), alignof(T),
                          mapping.label());
  return *std::launder(reinterpret_cast<Object*>(bytes.data() + offset));
}
/// Same without exceptions: nullptr with ec = errc::invalid_argument when it does not fit.
template <TriviallyCopyable T, AnyMapping M>
auto* object_at(M& mapping, std::size_t offset, std::error_code& ec) noexcept {
  return object_at<T>(mapping.bytes(), offset, ec);
}
template <TriviallyCopyable T, AnyMapping M>
void object_at(const M&& mapping, std::size_t offset = 0) = delete;  ///< would dangle
template <TriviallyCopyable T, AnyMapping M>
void object_at(const M&& mapping, std::size_t offset, std::error_code& ec) = delete;

// ---- atomic_at ----

/// A load-only atomic view of a T in read-only memory (a Read mapping, a read-only SysV
/// attachment): what atomic_at gives for const bytes, since C++20 has no atomic_ref<const T>.
///
/// Why it is safe: the T is at most 8 bytes and always lock-free, so load() is one plain aligned
/// load instruction (std::atomic_ref::load on the object const_cast to T&); it never writes, so it
/// works on pages mapped PROT_READ. Wider types (16 bytes on x86-64 needs cmpxchg16b, a write)
/// are refused at compile time. Memory ordering: that of the order passed, as atomic_ref::load.
template <TriviallyCopyable T>
class AtomicLoadRef {
  static_assert(detail::shareable_atomic<T>, "atomics shared between processes must be lock-free");
  static_assert(sizeof(T) <= 8,
                "a load-only atomic must load in one instruction that never writes");

 public:
  /// The alignment the object's address must have (that of std::atomic_ref<T>).
  static constexpr std::size_t required_alignment = std::atomic_ref<T>::required_alignment;

  /// A view of `object`, which must be aligned to required_alignment and outlive the view.
  explicit AtomicLoadRef(const T& object) noexcept : object_(std::addressof(object)) {}

  /// One atomic load; never writes the memory.
  T load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    return std::atomic_ref<T>(const_cast<T&>(*object_)).load(order);
  }
  /// load() with memory_order_seq_cst.
  operator T() const noexcept { return load(); }

 private:
  const T* object_;
};

/// A std::atomic_ref on the T at bytes[offset]. Only lock-free types are allowed: a non-lock-free
/// atomic takes a lock that lives in one process's memory, so it would not exclude other
/// processes. The address must meet atomic_ref's required_alignment (it may exceed alignof(T)).
/// Read-only bytes give an AtomicLoadRef<T> (load only). Do not wait()/notify() on it across
/// processes (see the top of this file). Syscalls: none. Errors: invalid_argument (operation
/// "atomic_at") when it does not fit (offsets near 2^64 included) or is misaligned.
template <TriviallyCopyable T>
std::atomic_ref<T> atomic_at(std::span<std::byte> bytes, std::size_t offset = 0) {
  static_assert(detail::shareable_atomic<T>, "atomics shared between processes must be lock-free");
  detail::check_object_at("atomic_at", bytes.data(), bytes.size(), offset, sizeof(T),
                          std::atomic_ref<T>::required_alignment);
  return std::atomic_ref<T>(*std::launder(reinterpret_cast<T*>(bytes.data() + offset)));
}
/// The same for read-only bytes: an AtomicLoadRef<T> (load only, never writes).
template <TriviallyCopyable T>
AtomicLoadRef<T> atomic_at(std::span<const std::byte> bytes, std::size_t offset = 0) {
  detail::check_object_at("atomic_at", bytes.data(), bytes.size(), offset, sizeof(T),
                          AtomicLoadRef<T>::required_alignment);
  return AtomicLoadRef<T>(*std::launder(reinterpret_cast<const T*>(bytes.data() + offset)));
}
/// Same without exceptions: std::nullopt with ec = errc::invalid_argument when it does not fit.
template <TriviallyCopyable T>
std::optional<std::atomic_ref<T>> atomic_at(std::span<std::byte> bytes, std::size_t offset,
                                            std::error_code& ec) noexcept {
  static_assert(detail::shareable_atomic<T>, "atomics shared between processes must be lock-free");
  if (!detail::object_fits(bytes.data(), bytes.size(), offset, sizeof(T),
                           std::atomic_ref<T>::required_alignment, ec))
    return std::nullopt;
  return std::atomic_ref<T>(*std::launder(reinterpret_cast<T*>(bytes.data() + offset)));
}
/// Same for read-only bytes, without exceptions: std::nullopt with ec = errc::invalid_argument.
template <TriviallyCopyable T>
std::optional<AtomicLoadRef<T>> atomic_at(std::span<const std::byte> bytes, std::size_t offset,
                                          std::error_code& ec) noexcept {
  if (!detail::object_fits(bytes.data(), bytes.size(), offset, sizeof(T),
                           AtomicLoadRef<T>::required_alignment, ec))
    return std::nullopt;
  return AtomicLoadRef<T>(*std::launder(reinterpret_cast<const T*>(bytes.data() + offset)));
}

/// The atomic at offset `offset` of a mapping: std::atomic_ref<T> when it is writable,
/// AtomicLoadRef<T> for a Read or const mapping. Errors name the mapping's label().
template <TriviallyCopyable T, AnyMapping M>
auto atomic_at(M& mapping, std::size_t offset = 0) {
  auto bytes = mapping.bytes();
  using Byte = std::remove_reference_t<decltype(bytes[0])>;
  using Ref = std::conditional_t<std::is_const_v<Byte>, AtomicLoadRef<T>, std::atomic_ref<T>>;
  static_assert(detail::shareable_atomic<T>, "atomics shared between processes must be lock-free");
  detail::check_object_at("atomic_at", bytes.data(), bytes.size(), offset, sizeof(T),
                          Ref::required_alignment, mapping.label());
  using Object = std::conditional_t<std::is_const_v<Byte>, const T, T>;
  return Ref(*std::launder(reinterpret_cast<Object*>(bytes.data() + offset)));
}
/// Same without exceptions: std::nullopt with ec = errc::invalid_argument when it does not fit.
template <TriviallyCopyable T, AnyMapping M>
auto atomic_at(M& mapping, std::size_t offset, std::error_code& ec) noexcept {
  return atomic_at<T>(mapping.bytes(), offset, ec);
}
template <TriviallyCopyable T, AnyMapping M>
void atomic_at(const M&& mapping, std::size_t offset = 0) = delete;  ///< would dangle
template <TriviallyCopyable T, AnyMapping M>
void atomic_at(const M&& mapping, std::size_t offset, std::error_code& ec) = delete;

// ---- SharedCounter ----

/// A 64-bit counter in shared memory that any number of processes increment without losing a
/// count. It does not own the memory: keep the mapping alive while the counter is used.
///
/// The access mode is in the type, deduced from the bytes: SharedCounter(span<std::byte>) is a
/// SharedCounter<Access::Write> (add, store, load); SharedCounter(span<const std::byte>), e.g. the
/// bytes() of a Read mapping, is a SharedCounter<Access::Read> that can only load() (an
/// AtomicLoadRef underneath, so it works on PROT_READ pages). Syscalls: none, ever. Cost: one
/// atomic instruction per call.
template <Access A = Access::Write>
class SharedCounter {
  static_assert(A == Access::Write || A == Access::Read, "a counter is read or written in place");
  static constexpr bool writable = A == Access::Write;
  using Bytes = std::span<std::conditional_t<writable, std::byte, const std::byte>>;
  using Value = std::conditional_t<writable, std::uint64_t, const std::uint64_t>;

 public:
  /// An empty counter (operator bool is false); only assignment may be used on it.
  SharedCounter() noexcept = default;
  /// The counter at bytes[offset], 8-byte aligned. Errors: invalid_argument (operation
  /// "SharedCounter") when 8 bytes do not fit there (offsets near 2^64 included) or the address
  /// is not 8-byte aligned. The memory is used as it is (zero in a fresh mapping).
  explicit SharedCounter(Bytes bytes, std::size_t offset = 0) {
    detail::check_object_at("SharedCounter", bytes.data(), bytes.size(), offset,
                            sizeof(std::uint64_t),
                            std::atomic_ref<std::uint64_t>::required_alignment);
    value_ = std::launder(reinterpret_cast<Value*>(bytes.data() + offset));
  }
  /// Same without exceptions: on failure ec = errc::invalid_argument and the counter is empty.
  SharedCounter(Bytes bytes, std::size_t offset, std::error_code& ec) noexcept {
    if (detail::object_fits(bytes.data(), bytes.size(), offset, sizeof(std::uint64_t),
                            std::atomic_ref<std::uint64_t>::required_alignment, ec))
      value_ = std::launder(reinterpret_cast<Value*>(bytes.data() + offset));
  }

  /// Adds n; returns the value after the addition. Relaxed order: the count itself is exact;
  /// use a stronger order or another synchronisation to publish other data with it.
  std::uint64_t add(std::uint64_t n = 1) noexcept requires writable {
    return std::atomic_ref<std::uint64_t>(*value_).fetch_add(n, std::memory_order_relaxed) + n;
  }
  /// Acquire load: what a process stored with store() before, and what it wrote before that.
  std::uint64_t load() const noexcept {
    return AtomicLoadRef<std::uint64_t>(*value_).load(std::memory_order_acquire);
  }
  /// Release store.
  void store(std::uint64_t value) noexcept requires writable {
    std::atomic_ref<std::uint64_t>(*value_).store(value, std::memory_order_release);
  }

  /// Whether the counter refers to memory (false when default-made or when construction failed).
  explicit operator bool() const noexcept { return value_ != nullptr; }

 private:
  Value* value_ = nullptr;
};

/// @cond INTERNAL
// Deduction guides: writable bytes give a Write counter, read-only bytes a Read one.
SharedCounter(std::span<std::byte>)->SharedCounter<Access::Write>;
SharedCounter(std::span<std::byte>, std::size_t)->SharedCounter<Access::Write>;
SharedCounter(std::span<std::byte>, std::size_t, std::error_code&)->SharedCounter<Access::Write>;
SharedCounter(std::span<const std::byte>)->SharedCounter<Access::Read>;
SharedCounter(std::span<const std::byte>, std::size_t)->SharedCounter<Access::Read>;
SharedCounter(std::span<const std::byte>, std::size_t, std::error_code&)
    ->SharedCounter<Access::Read>;
/// @endcond

}  // namespace mmapxx
