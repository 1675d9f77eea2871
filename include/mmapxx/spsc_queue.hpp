/// @file
/// SpscQueue: a single-producer, single-consumer byte queue over a MirroredBuffer, usable between
/// two processes, whose waits sleep on shared futexes instead of spinning.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "mmapxx/mapped_file.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/mirrored_buffer.hpp"
#include "mmapxx/shared_futex.hpp"

namespace mmapxx {

/// The queue lives entirely in one SealedMemory: a control page (head and tail counters, futex
/// words, a closed flag) followed by `capacity` bytes of data mirrored with MirroredBuffer, so
/// every free or filled range is one contiguous span even across the wrap: write_area() and
/// read_area() are zero-copy, and write()/read() are one memcpy each.
///
/// One producer (write_area/commit/write/wait_for_space) and one consumer (read_area/consume/
/// read/wait_for_data) at a time, each in any process: the creator hands memory() to its peer
/// (SealedMemory::send over a Unix socket, or a descriptor inherited across fork/exec), which
/// calls SpscQueue::attach(). Memory ordering: bytes written before commit(n) are visible to the
/// consumer once read_area() shows them (release/acquire on the counters); consume(n) likewise
/// hands the space back.
///
/// Waiting: wait_for_data/wait_for_space sleep on a shared futex (FUTEX_WAIT, no private flag)
/// with a timeout, and commit/consume/close make a FUTEX_WAKE only when the peer announced that
/// it sleeps: no syscall on the fast path, no spinning. No call blocks forever unless given
/// no_timeout. Cost: the MirroredBuffer's (address space 2*capacity, two VMAs) plus one page.
class SpscQueue {
 public:
  /// An empty queue (nothing mapped), as a failed create() or attach() also leaves: it holds
  /// nothing and accepts nothing (empty areas, write()/read() 0, waits false, closed() false,
  /// close() does nothing, commit(n)/consume(n) of n > 0 invalid_argument); never a crash.
  SpscQueue() noexcept = default;
  /// A new queue of `capacity` bytes (a non-zero multiple of page_size(); invalid_argument
  /// otherwise), in a fresh SealedMemory sealed against shrinking and growing.
  /// Syscalls: memfd_create, posix_fallocate, F_ADD_SEALS, then mmap of the control page and of
  /// the mirror (a reservation and its two halves). Errors: ENOSPC/ENOMEM.
  explicit SpscQueue(std::size_t capacity);
  /// Same; errors go to ec (an empty queue is returned).
  static SpscQueue create(std::size_t capacity, std::error_code& ec) noexcept;
  /// The peer's side of a queue made by SpscQueue(capacity) in another process. The memory must
  /// start with an initialised control page and be exactly one page plus capacity long
  /// (invalid_argument, "not an mmapxx queue", otherwise). Takes ownership of `memory`.
  static SpscQueue attach(SealedMemory memory);
  /// Same; errors go to ec (an empty queue is returned).
  static SpscQueue attach(SealedMemory memory, std::error_code& ec) noexcept;

  /// The data bytes the ring holds (0 when empty).
  std::size_t capacity() const noexcept { return ring_.size(); }
  /// The memory to give the peer (send() it, or pass its fd()).
  const SealedMemory& memory() const noexcept { return memory_; }
  /// Whether the queue is mapped.
  explicit operator bool() const noexcept { return static_cast<bool>(ring_); }

  // ---- producer ----
  /// The free space, contiguous (it may cross the end of the ring: the mirror makes it one span).
  std::span<std::byte> write_area() noexcept;
  /// Publishes the first n bytes of write_area(). n larger than the free space is
  /// invalid_argument (nothing published). Wakes a sleeping consumer (one futex call) if any.
  void commit(std::size_t n);
  /// Same; errors go to ec.
  void commit(std::size_t n, std::error_code& ec) noexcept;
  /// Copies as many bytes of `data` as fit now, commits them, returns how many. Never waits.
  std::size_t write(std::span<const std::byte> data) noexcept;
  /// Sleeps until at least n bytes are free (true), or `timeout` passed or n > capacity() or the
  /// queue was closed (false).
  bool wait_for_space(std::size_t n, std::chrono::nanoseconds timeout) noexcept;

  // ---- consumer ----
  /// The bytes committed and not yet consumed, contiguous.
  std::span<const std::byte> read_area() const noexcept;
  /// Releases the first n bytes of read_area(); n larger than it is invalid_argument. Wakes a
  /// sleeping producer if any.
  void consume(std::size_t n);
  /// Same; errors go to ec.
  void consume(std::size_t n, std::error_code& ec) noexcept;
  /// Copies up to data.size() available bytes into `data`, consumes them, returns how many.
  std::size_t read(std::span<std::byte> data) noexcept;
  /// Sleeps until at least n bytes are readable (true), or `timeout` passed, n > capacity(), or
  /// the queue is closed with fewer than n bytes left (false).
  bool wait_for_data(std::size_t n, std::chrono::nanoseconds timeout) noexcept;

  // ---- either side ----
  /// Marks the queue closed and wakes both sides: the consumer still reads what is left, then
  /// wait_for_data returns false; wait_for_space returns false at once.
  void close() noexcept;
  /// Whether either side called close(). One acquire load; no syscall.
  bool closed() const noexcept;

 private:
  struct Control;
  detail::Failure make(std::size_t capacity) noexcept;
  detail::Failure attach_to(SealedMemory memory) noexcept;
  detail::Failure commit_bytes(std::size_t n) noexcept;
  detail::Failure consume_bytes(std::size_t n) noexcept;
  // The control page is shared, mutable state even for const calls (read_area, closed).
  Control& control() const noexcept {
    return *reinterpret_cast<Control*>(const_cast<std::byte*>(control_.data()));
  }

  SealedMemory memory_;
  MappedFile<Access::Write> control_;
  MirroredBuffer ring_;
};

}  // namespace mmapxx
