/// @file
/// RobustMutex: a mutex in shared memory that several processes lock, and that reports its
/// owner's death instead of staying locked forever (PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST).
#pragma once

#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <system_error>

#include "mmapxx/shared_futex.hpp"

namespace mmapxx {

/// What lock() and try_lock() obtained.
enum class LockResult {
  Acquired,   ///< the caller owns the mutex
  OwnerDied,  ///< the caller owns the mutex, but its previous owner died holding it (EOWNERDEAD):
              ///< the protected data may be half-updated. Repair it, then call consistent();
              ///< unlocking without consistent() makes the mutex unusable (ENOTRECOVERABLE).
  Busy,       ///< try_lock or a timed lock did not obtain it (EBUSY, ETIMEDOUT)
};

/// A view onto a pthread_mutex_t living in shared memory (a file, SharedMemoryObject,
/// SealedMemory or shared AnonymousRegion). It does not own the memory: keep the mapping alive
/// while the mutex is used. One process calls create() on the bytes once, before any other
/// process attaches; the others call attach(). The mutex is not recursive and has no destroy
/// call: zero-filled memory is not a valid mutex, create() is required.
///
/// When the owner dies (exit, SIGKILL) holding the lock, the kernel's robust-futex list marks it
/// and the next locker gets LockResult::OwnerDied; this works across fork and exec. Memory
/// ordering: lock() acquires, unlock() releases, as std::mutex.
class RobustMutex {
 public:
  /// Bytes and alignment a mutex needs in the shared memory.
  static constexpr std::size_t size = sizeof(pthread_mutex_t);
  /// The alignment bytes[offset] must have.
  static constexpr std::size_t alignment = alignof(pthread_mutex_t);

  /// Initialises a process-shared robust mutex at bytes[offset] (pthread_mutex_init); throws an
  /// mmapxx::Error (invalid_argument) unless `size` bytes fit there, aligned. Never call it on a
  /// mutex another process may be using. No syscall; no allocation beyond the error message.
  static RobustMutex create(std::span<std::byte> bytes, std::size_t offset = 0);
  /// Same; errors go to ec.
  static RobustMutex create(std::span<std::byte> bytes, std::size_t offset,
                            std::error_code& ec) noexcept;
  /// The mutex that create() initialised at bytes[offset], in this or another process (same
  /// checks, nothing written).
  static RobustMutex attach(std::span<std::byte> bytes, std::size_t offset = 0);
  /// Same; errors go to ec.
  static RobustMutex attach(std::span<std::byte> bytes, std::size_t offset,
                            std::error_code& ec) noexcept;

  /// Locks, waiting at most `timeout` (no_timeout: until it is free, the only way to block
  /// forever; a zero or negative timeout is try_lock). Returns Acquired, OwnerDied or Busy (timed
  /// out). Syscalls: none when uncontended; otherwise futex(FUTEX_WAIT) inside
  /// pthread_mutex_clocklock(CLOCK_MONOTONIC) (glibc 2.30+). Errors: ENOTRECOVERABLE (a previous
  /// owner died and nobody called consistent() before unlocking: the data cannot be trusted;
  /// create() it again once no process uses it) and EDEADLK (this thread already owns it) as an
  /// mmapxx::Error; invalid_argument on a RobustMutex whose create() or attach() failed.
  LockResult lock(std::chrono::nanoseconds timeout = no_timeout);
  /// Same; errors go to ec.
  LockResult lock(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
  /// Never waits: Acquired, OwnerDied, or Busy when another thread or process owns it.
  LockResult try_lock();
  /// Same; errors go to ec.
  LockResult try_lock(std::error_code& ec) noexcept;
  /// After OwnerDied, once the protected data is repaired: marks the mutex usable again
  /// (pthread_mutex_consistent). Errors: EINVAL when the mutex is not in the owner-died state or
  /// the caller does not own it.
  void consistent();
  /// Same; errors go to ec.
  void consistent(std::error_code& ec) noexcept;
  /// Unlocks (the caller must own it). Errors: EPERM when the caller does not own it.
  void unlock();
  /// Same; errors go to ec.
  void unlock(std::error_code& ec) noexcept;

  /// The pthread_mutex_t in the shared memory, for pthread calls mmapxx does not wrap.
  pthread_mutex_t* native_handle() const noexcept { return mutex_; }

 private:
  explicit RobustMutex(pthread_mutex_t* mutex) noexcept : mutex_(mutex) {}
  pthread_mutex_t* mutex_ = nullptr;
};

}  // namespace mmapxx
