/// @file
/// MirroredBuffer: S bytes of shared memory mapped twice, back to back, so that data()[i] and
/// data()[i + S] are the same byte and a range that wraps past the end is still contiguous.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "mmapxx/mapped_file.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/memory_object.hpp"
#include "mmapxx/reservation.hpp"

namespace mmapxx {

/// The memory (a memfd it creates, or bytes [offset, offset + S) of a SealedMemory or
/// SharedMemoryObject the caller gives) is mapped MAP_SHARED at both halves of one
/// AddressReservation of 2*S bytes. Each half is an ordinary MappedFile<Access::Write> (first(),
/// second()): fault translation, advise, protect, residency and flush work on each, and a fault
/// names the memory and its offset, whichever half it came through.
///
/// Syscalls: one mmap to reserve 2*S, then one mmap(MAP_FIXED) per half inside it (plus, when it
/// makes the memory, memfd_create, posix_fallocate and F_ADD_SEALS). Cost: address space 2*S,
/// memory S (tmpfs pages, counted as shared memory), two VMAs, two duplicated descriptors (each
/// MappedFile<Access::Write> keeps one). Writes through one half are visible through the other
/// at once: it is the same page, not a copy. Kernel: any Linux with memfd_create (3.17+).
///
/// S must be a non-zero multiple of page_size() (2 MiB if the memory is to use huge pages):
/// anything else is invalid_argument before any syscall.
class MirroredBuffer {
 public:
  /// An empty buffer (nothing mapped).
  MirroredBuffer() noexcept = default;
  /// Makes a SealedMemory of `size` bytes named `name` (sealed against shrinking and growing, so
  /// a peer that receives it can map it without fear of SIGBUS) and mirrors all of it.
  /// Errors: invalid_argument (operation "mirror") for a bad size, before any syscall; the errno
  /// of memfd_create, resize or sealing (operation "memfd_create": ENOMEM, ENOSPC, EMFILE), or of
  /// the reservation or either half (operation "mmap": ENOMEM, vm.max_map_count). A failure
  /// leaves nothing mapped and no descriptor open.
  explicit MirroredBuffer(std::size_t size, const std::string& name = "mmapxx-mirror");
  /// Same; errors go to ec (an empty buffer is returned).
  static MirroredBuffer create(std::size_t size, const std::string& name,
                               std::error_code& ec) noexcept;
  /// Mirrors bytes [offset, offset + size) of memory that already exists: typically a SealedMemory
  /// received from another process (SealedMemory::receive), so both processes hold a mirrored
  /// view of the same bytes. `offset` must be a page multiple and the range inside the object
  /// (invalid_argument). The memory object may be destroyed afterwards: the views keep it alive.
  /// Errors: invalid_argument (operation "mirror") for a bad size or offset, before any
  /// syscall; then as MappedFile's for each half (operation "mmap"). A failure leaves nothing
  /// mapped.
  MirroredBuffer(const detail::MemoryObject& memory, std::uint64_t offset, std::size_t size);
  /// Same; errors go to ec (an empty buffer is returned).
  static MirroredBuffer create(const detail::MemoryObject& memory, std::uint64_t offset,
                               std::size_t size, std::error_code& ec) noexcept;

  /// The 2*S mirrored bytes: data()[i] and data()[i + size()] alias for i < size().
  std::byte* data() noexcept { return first_.data(); }
  /// The same, read-only.
  const std::byte* data() const noexcept { return first_.data(); }
  /// S, the size of the memory (half the mapped span).
  std::size_t size() const noexcept { return first_.size(); }
  /// All 2*S bytes, [data(), data() + 2 * size()): any S-byte window of it is contiguous.
  std::span<std::byte> bytes() noexcept { return {first_.data(), 2 * first_.size()}; }
  /// The same, read-only.
  std::span<const std::byte> bytes() const noexcept { return {first_.data(), 2 * first_.size()}; }
  /// Whether the buffer is mapped.
  explicit operator bool() const noexcept { return static_cast<bool>(first_); }

  /// The two halves as mappings, for advise, protect, residency, flush.
  const MappedFile<Access::Write>& first() const noexcept { return first_; }
  /// The second half, [data() + size(), data() + 2 * size()).
  const MappedFile<Access::Write>& second() const noexcept { return second_; }
  /// The memory this buffer made itself (empty when it mirrors a caller's object): send() it to
  /// a peer, which mirrors it with MirroredBuffer(received, 0, size()).
  const SealedMemory& memory() const noexcept { return memory_; }

 private:
  detail::Failure make(std::size_t size, const std::string& name) noexcept;
  detail::Failure mirror(const detail::MemoryObject& memory, std::uint64_t offset,
                         std::size_t size) noexcept;

  // Destroyed in reverse: the halves go back to the reservation before it is released.
  SealedMemory memory_;
  AddressReservation reservation_;
  MappedFile<Access::Write> first_;
  MappedFile<Access::Write> second_;
};

}  // namespace mmapxx
