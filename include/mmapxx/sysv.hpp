/// @file
/// SysVSharedMemory: a System V shared memory segment (shmget/shmat), attached for its lifetime.
#pragma once

#include <sys/ipc.h>  // IPC_PRIVATE, the default key, for callers who name it
#include <sys/types.h>

#include <cstddef>
#include <span>
#include <system_error>
#include <utility>

#include "mmapxx/error.hpp"

namespace mmapxx {

/// The segment is attached while the object lives (shmdt in the destructor). A segment this object
/// created is removed (IPC_RMID) on destruction by default: the kernel then frees it once the last
/// process detaches, so nothing is left in `ipcs -m`. Removal happens only in the creating
/// process, never in a forked child that inherited the attachment. Segments are created
/// exclusively with mode 0600 unless asked otherwise.
class SysVSharedMemory {
 public:
  /// An empty object (nothing attached).
  SysVSharedMemory() noexcept = default;

  /// A new segment of `size` bytes (IPC_CREAT|IPC_EXCL). With the default key, IPC_PRIVATE: only
  /// processes given id(), or forked children, can reach it.
  /// Syscalls: shmget, shmctl(IPC_STAT), shmat (and shmctl(IPC_RMID) if attaching fails).
  /// Errors, before any syscall (operation "shmget"): invalid_argument for a zero size or a mode
  ///   with bits outside 0777, EOVERFLOW for a size that rounded up to whole pages passes 2^64;
  ///   EINVAL above kernel.shmmax, ENOSPC past kernel.shmall or shmmni, EEXIST for a taken key. A
  ///   failure leaves no segment behind. Cost: pages are allocated on first touch, not here.
  static SysVSharedMemory create(std::size_t size, unsigned mode = 0600, key_t key = IPC_PRIVATE);
  /// Same; errors go to ec (an empty object is returned).
  static SysVSharedMemory create(std::size_t size, unsigned mode, key_t key,
                                 std::error_code& ec) noexcept;
  /// Attaches an existing segment by id (read-only with `read_only`, SHM_RDONLY); not its owner
  /// (remove_on_destroy() is false). Syscalls: shmctl(IPC_STAT) for the size, then shmat.
  /// Errors: invalid_argument for a negative id (before any syscall); EINVAL for an id that
  /// names no segment (or one already removed and detached); EACCES when its mode forbids the
  /// access. A failure leaves nothing attached.
  static SysVSharedMemory attach(int id, bool read_only = false);
  /// Same; errors go to ec (an empty object is returned).
  static SysVSharedMemory attach(int id, bool read_only, std::error_code& ec) noexcept;
  /// Looks up an existing segment by key (shmget without IPC_CREAT), then attaches it as
  /// attach() does. Errors: invalid_argument for IPC_PRIVATE (key 0), which names no existing
  /// segment, before any syscall; ENOENT when no segment has that key; then attach()'s.
  static SysVSharedMemory open(key_t key, bool read_only = false);
  /// Same; errors go to ec (an empty object is returned).
  static SysVSharedMemory open(key_t key, bool read_only, std::error_code& ec) noexcept;

  /// Takes over the attachment and the removal duty; `other` is left empty. No syscall.
  SysVSharedMemory(SysVSharedMemory&& other) noexcept
      : id_(std::exchange(other.id_, -1)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        read_only_(other.read_only_),
        owner_pid_(std::exchange(other.owner_pid_, 0)) {}
  /// Detaches (and removes, as the destructor) what this object held, then takes over `other`.
  SysVSharedMemory& operator=(SysVSharedMemory&& other) noexcept;
  SysVSharedMemory(const SysVSharedMemory&) = delete;
  SysVSharedMemory& operator=(const SysVSharedMemory&) = delete;
  ~SysVSharedMemory();

  /// Marks the segment for removal now (IPC_RMID): its key is freed at once and the memory when
  /// the last process detaches. Cancels remove-on-destroy. Syscall: shmctl(IPC_RMID). Errors:
  /// EPERM when this process is neither its creator/owner nor privileged; EINVAL when it is
  /// gone. This object stays attached.
  void remove();
  /// Same; errors go to ec.
  void remove(std::error_code& ec) noexcept;
  /// Whether the destructor marks the segment for removal (IPC_RMID), in this process only;
  /// true has no effect on an empty object. No syscall.
  void set_remove_on_destroy(bool remove) noexcept;
  /// Whether the destructor will mark the segment for removal.
  bool remove_on_destroy() const noexcept { return owner_pid_ != 0; }

  /// The segment id (shmid), to give to attach() in another process; -1 when empty.
  int id() const noexcept { return id_; }
  /// The attached bytes, writable; null when attached read-only.
  std::byte* data() noexcept { return read_only_ ? nullptr : data_; }
  /// The attached bytes, read-only (also when attached read-only); null when empty.
  const std::byte* data() const noexcept { return data_; }
  /// The segment size (shm_segsz).
  std::size_t size() const noexcept { return size_; }
  /// Whether it was attached with SHM_RDONLY.
  bool read_only() const noexcept { return read_only_; }
  /// The whole segment, read-only.
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  /// Empty when attached read-only: read through the const overload, e.g.
  /// atomic_at<T>(std::as_const(segment).bytes(), offset), which gives a load-only AtomicLoadRef.
  std::span<std::byte> bytes() noexcept { return {data(), read_only_ ? 0 : size_}; }
  /// Whether a segment is attached.
  explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  static detail::Failure attach_into(int id, bool read_only, SysVSharedMemory& out) noexcept;
  void release() noexcept;

  int id_ = -1;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  bool read_only_ = false;
  int owner_pid_ = 0;  // != 0: IPC_RMID on destruction, in this process only
};

}  // namespace mmapxx
