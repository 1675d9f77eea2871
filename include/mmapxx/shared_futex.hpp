/// @file
/// SharedFutex: wait for a 32-bit word in shared memory to change, and wake the waiters, across
/// processes (futex(2) without FUTEX_PRIVATE_FLAG).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace mmapxx {

/// How a wait ended. Every outcome may be followed by a recheck of the word: futexes can wake
/// spuriously, and the word may have changed again by the time the caller looks.
enum class WaitResult {
  Woken,         ///< a wake reached this waiter, or a signal interrupted it (EINTR)
  ValueChanged,  ///< the word did not hold `expected` when the wait began (EAGAIN): no sleep
  TimedOut,      ///< the timeout passed first (ETIMEDOUT)
};

/// A timeout that never expires: the only way to ask a wait to block until woken.
inline constexpr std::chrono::nanoseconds no_timeout = std::chrono::nanoseconds::max();

/// A futex word: a 4-byte aligned std::uint32_t in memory that several processes map (a file,
/// SharedMemoryObject, SealedMemory or shared AnonymousRegion), possibly at different addresses:
/// the kernel keys a shared futex by the page and offset in the object, not by the address.
/// It does not own the memory: keep the mapping alive while the futex is used. A fresh shared
/// mapping reads as zero, a valid initial value.
///
/// Unlike std::atomic<T>::wait, which libstdc++ implements with process-private futexes that
/// never wake a waiter in another process, this uses FUTEX_WAIT/FUTEX_WAKE without
/// FUTEX_PRIVATE_FLAG. Memory ordering: wait() and the wake calls are not ordering operations;
/// publish data with release stores (or word().fetch_add) before waking, and read it with
/// acquire loads after waking.
class SharedFutex {
 public:
  /// The word at bytes[offset]; throws an mmapxx::Error (invalid_argument) unless 4 bytes fit
  /// there and the address is 4-byte aligned. No syscall.
  explicit SharedFutex(std::span<std::byte> bytes, std::size_t offset = 0);
  /// Same without exceptions: on failure ec is errc::invalid_argument and the futex is empty
  /// (operator bool is false) and must not be used, as for SharedCounter. No syscall, no
  /// allocation.
  SharedFutex(std::span<std::byte> bytes, std::size_t offset, std::error_code& ec) noexcept;
  /// The word at `word`, which the caller guarantees is aligned and in shared memory.
  explicit SharedFutex(std::uint32_t& word) noexcept : word_(&word) {}

  /// Whether the futex has a word: false only after the error_code constructor failed.
  explicit operator bool() const noexcept { return word_ != nullptr; }

  /// Atomic access to the word (loads, stores, fetch_add) for the protocol built on it.
  std::atomic_ref<std::uint32_t> word() const noexcept {
    return std::atomic_ref<std::uint32_t>(*word_);
  }

  /// Sleeps while the word holds `expected`, until woken by wake_one/wake_all (from any process),
  /// a signal, or `timeout` (relative, CLOCK_MONOTONIC; no_timeout waits until woken). The
  /// comparison and the sleep are atomic with respect to wakes: a wake after the word changed
  /// cannot be lost.
  /// Syscalls: one futex(FUTEX_WAIT) (none when the timeout is zero or negative: TimedOut, after
  ///   checking the word). Errors: an mmapxx::Error for EFAULT (the word is not mapped) or
  ///   EINVAL; EAGAIN, EINTR and ETIMEDOUT are results, not errors.
  /// Cost: one syscall and a sleep; no allocation. Kernel: any Linux (2.6+).
  WaitResult wait(std::uint32_t expected, std::chrono::nanoseconds timeout) const;
  /// Same; errors go to ec.
  WaitResult wait(std::uint32_t expected, std::chrono::nanoseconds timeout,
                  std::error_code& ec) const noexcept;

  /// Wakes one (wake_one) or every (wake_all) process or thread sleeping in wait() on this word;
  /// returns how many were woken. Syscall: one futex(FUTEX_WAKE), even when nobody waits: callers
  /// that care keep a "waiters" flag beside the word and skip the call when it is clear.
  /// Errors: EFAULT/EINVAL as an mmapxx::Error.
  int wake_one() const;
  /// Same; errors go to ec (0 is returned).
  int wake_one(std::error_code& ec) const noexcept;
  /// Wakes every waiter on this word (see wake_one()).
  int wake_all() const;
  /// Same; errors go to ec (0 is returned).
  int wake_all(std::error_code& ec) const noexcept;

 private:
  std::uint32_t* word_ = nullptr;
};

}  // namespace mmapxx
