/// @file
/// What SharedMemoryObject and SealedMemory have in common: a named descriptor to memory whose
/// size can be set and which maps into a MappedFile.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "mmapxx/flags.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx::detail {

/// What SharedMemoryObject and SealedMemory share. Every size is checked before any system call.
class MemoryObject {
 public:
  /// Sets the size of the memory to `size` bytes. Grows with posix_fallocate, so the pages are
  /// really there (no SIGBUS on first touch); shrinks with ftruncate (pages of existing mappings
  /// past the new end then fault, exactly as with a file).
  /// Syscalls: fstat; to grow, fstatvfs, a read of /proc/meminfo and of this process's memory
  ///   cgroup files, then posix_fallocate over the whole size; to shrink, ftruncate.
  /// Errors, checked before any change: EOVERFLOW (errc::value_too_large, operation "resize")
  ///   when `size` is past 2^63-1, the largest object size; ENOMEM (operation "resize") when the
  ///   growth is more than the memory this process may still use: more than MemAvailable +
  ///   SwapFree, or than the room left under the memory.limit_in_bytes (cgroup v1) or memory.max
  ///   (cgroup v2) of its memory cgroup or any cgroup above it (usage minus page cache counts as
  ///   used). The message names the limit that refused. tmpfs pages can only be swapped, never
  ///   dropped, and the kernel answers an allocation it cannot back with the OOM killer, not an
  ///   error: this check is what keeps resize(2^50) from killing processes. It is a snapshot, not
  ///   a reservation, and it covers growths of 1 MiB or more (a smaller one asks no more of the
  ///   cgroup than any page fault). Then ENOSPC (operation "resize") when the filesystem holding
  ///   the object (a size-limited tmpfs such as /dev/shm) has less room than the growth. EPERM
  ///   when a seal forbids the change. A failure leaves the size as it was.
  /// Cost: posix_fallocate walks the whole size and allocates and zeroes the new pages now. A
  ///   growth of 1 MiB or more also reads /proc/self/cgroup and two files per cgroup level (and
  ///   /proc/meminfo when sysinfo(2) alone cannot vouch for the room): measured here about 70-90
  ///   us.
  void resize(std::uint64_t size);
  /// Same; errors go to ec.
  void resize(std::uint64_t size, std::error_code& ec) noexcept;
  /// The memory's current size in bytes (it may change under a peer's resize()). Syscall: one
  /// fstat. Errors: EBADF on an empty object.
  std::uint64_t size() const;
  /// Same; errors go to ec (0 is returned).
  std::uint64_t size(std::error_code& ec) const noexcept;

  /// Maps the memory (all of it by default). The mapping outlives this object; a Write mapping
  /// keeps its own duplicate of the descriptor for its resize(). Errors are MappedFile's, naming
  /// this object's name(): an offset or offset + length past 2^63-1 is EOVERFLOW (operation
  /// "mmap") before any system call.
  template <Access A>
  MappedFile<A> map(const MapOptions& options = {}) const {
    return MappedFile<A>(fd_, options, name_);
  }
  /// Same; errors go to ec (an empty MappedFile is returned).
  template <Access A>
  MappedFile<A> map(const MapOptions& options, std::error_code& ec) const noexcept {
    return MappedFile<A>::open(fd_, options, ec, name_);
  }

  /// The name errors use: the shm name, the memfd name, or "fd N" for an adopted descriptor.
  const std::string& name() const noexcept { return name_; }
  /// The owned descriptor (O_CLOEXEC), -1 when empty; closed by the destructor.
  int fd() const noexcept { return fd_; }
  /// Whether a descriptor is held.
  explicit operator bool() const noexcept { return fd_ >= 0; }

 protected:
  MemoryObject() noexcept = default;
  MemoryObject(MemoryObject&& other) noexcept;
  MemoryObject& operator=(MemoryObject&& other) noexcept;
  MemoryObject(const MemoryObject&) = delete;
  MemoryObject& operator=(const MemoryObject&) = delete;
  ~MemoryObject();  ///< closes the descriptor

  std::string name_;
  int fd_ = -1;
};

}  // namespace mmapxx::detail
