/// @file
/// SealedMemory: anonymous shared memory (memfd_create) that can be sealed, so that a peer given
/// its descriptor can rely on it: with Seal::Shrink no one can truncate it under a mapping (no
/// SIGBUS), with Seal::Write no one can change it. Plus send_fd/receive_fd over a Unix socket.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "mmapxx/error.hpp"
#include "mmapxx/flags.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/memory_object.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx {

/// File seals as a type-safe bitmask (values equal Linux's F_SEAL_* bits).
enum class Seal : unsigned {
  None = 0,
  Final = 1,         ///< F_SEAL_SEAL: no more seals may be added
  Shrink = 2,        ///< F_SEAL_SHRINK: the size may not decrease
  Grow = 4,          ///< F_SEAL_GROW: the size may not increase
  Write = 8,         ///< F_SEAL_WRITE: contents are frozen (needs no writable shared mapping)
  FutureWrite = 16,  ///< F_SEAL_FUTURE_WRITE: existing writable mappings stay, no new ones
};

/// Union of two seal sets.
constexpr Seal operator|(Seal a, Seal b) noexcept {
  return static_cast<Seal>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
/// Intersection of two seal sets.
constexpr Seal operator&(Seal a, Seal b) noexcept {
  return static_cast<Seal>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// Whether `set` contains every seal in `bits` (true for bits == None).
constexpr bool has(Seal set, Seal bits) noexcept {
  return (set & bits) == bits;
}

/// The seals that make a mapping safe to read: the size is fixed.
inline constexpr Seal fixed_size = Seal::Shrink | Seal::Grow;

/// Owns a memfd: created MFD_CLOEXEC|MFD_ALLOW_SEALING, resizable until sealed. Give it to another
/// process with send() (SCM_RIGHTS) or by inheritance across fork/exec; the peer takes it with
/// receive() or adopt(), which by default refuse memory whose size is not sealed.
///
/// resize(), size(), map<A>(), name(), fd() and operator bool come from detail::MemoryObject
/// (mmapxx/memory_object.hpp, documented there).
class SealedMemory : public detail::MemoryObject {
 public:
  /// An empty object (no descriptor).
  SealedMemory() noexcept = default;
  /// A new memfd of `size` bytes. `name` shows in /proc/PID/fd ("memfd:name"); at most 249
  /// bytes, no NUL. The size is given real pages at once, so the memory is there (no SIGBUS
  /// later). Syscalls: memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING), then as resize(size).
  /// Errors: invalid_argument (operation "memfd_create") for a name with a NUL byte (escaped as
  ///   \0 in the detail) or longer than 249 bytes, and EOVERFLOW (operation "resize") for a
  ///   size past 2^63-1, all before any syscall; ENOMEM (operation "resize") when the size is more
  ///   than the memory this process may still use (MemAvailable + SwapFree, its memory cgroup's
  ///   limit minus usage: see MemoryObject::resize), checked before any page is allocated, so never
  ///   the OOM killer; EMFILE at the descriptor limit. A failure leaves no descriptor open.
  /// Cost: the pages are allocated and zeroed now.
  explicit SealedMemory(const std::string& name, std::uint64_t size = 0);
  /// Same; errors go to ec (an empty object is returned), never an exception, not even bad_alloc.
  static SealedMemory create(const std::string& name, std::uint64_t size,
                             std::error_code& ec) noexcept;
  /// Same for a C string: the copy is made inside, so even a bad_alloc while copying it is
  /// reported (errc::not_enough_memory); a null name is invalid_argument.
  static SealedMemory create(const char* name, std::uint64_t size, std::error_code& ec) noexcept;

  /// Takes ownership of `fd` (inherited, or received some other way) after checking that it
  /// carries at least the `required` seals (Seal::None accepts any descriptor). `name` is used in
  /// errors (default: "fd N"). Syscall: one fcntl(F_GET_SEALS), none with Seal::None.
  /// Errors: EBADF for a negative fd; EPERM when seals are missing (the detail lists required and
  /// present seals); EINVAL when it cannot carry seals at all (not a memfd). On failure `fd` is
  /// closed.
  static SealedMemory adopt(int fd, Seal required = fixed_size, std::string name = {});
  /// Same; errors go to ec (`fd` is closed on failure here too).
  static SealedMemory adopt(int fd, Seal required, std::string name, std::error_code& ec) noexcept;

  /// Sends the descriptor over a connected Unix socket; the peer calls receive(). This object
  /// keeps its own descriptor. Syscalls and errors: as send_fd().
  void send(int socket) const;
  /// Same; errors go to ec.
  void send(int socket, std::error_code& ec) const noexcept;
  /// Receives a descriptor sent with send() or send_fd() and adopts it (see adopt()).
  /// Errors: as receive_fd() (EMFILE at the descriptor limit, not EBADMSG), then as adopt().
  static SealedMemory receive(int socket, Seal required = fixed_size);
  /// Same; errors go to ec (an empty object is returned).
  static SealedMemory receive(int socket, Seal required, std::error_code& ec) noexcept;

  /// resize() (from MemoryObject) fails with EPERM once the size is sealed.
  /// Adds seals; seals are never removed. Syscall: one fcntl(F_ADD_SEALS).
  /// Errors: invalid_argument for bits outside Seal's values, before any syscall (operation
  ///   "fcntl(F_ADD_SEALS)"); EPERM once Seal::Final is set; EBUSY for Seal::Write while a writable
  ///   shared mapping
  /// of this memory exists anywhere (after it, map<Access::Write>() fails with EPERM); EINVAL
  /// for FutureWrite before Linux 5.1. A failure adds no seal.
  void seal(Seal seals = fixed_size);
  /// Same; errors go to ec.
  void seal(Seal seals, std::error_code& ec) noexcept;
  /// The seals the memory carries now. Syscall: one fcntl(F_GET_SEALS). Errors: EBADF on an
  /// empty object.
  Seal seals() const;
  /// Same; errors go to ec.
  Seal seals(std::error_code& ec) const noexcept;

  /// Gives up the descriptor: returns it (-1 when empty) and leaves this object empty; the caller
  /// now owns it and must close it. No syscall.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  static detail::Failure adopt_into(int fd, Seal required, std::string name,
                                    SealedMemory& out) noexcept;
};

/// SCM_RIGHTS over a connected Unix socket (one descriptor and one byte per message). The
/// received descriptor is O_CLOEXEC and owned by the caller. A message carrying no descriptor,
/// or more than one, is refused (EBADMSG) and leaks nothing.
/// Syscalls: sendmsg(MSG_NOSIGNAL) / recvmsg(MSG_CMSG_CLOEXEC), retried on EINTR.
/// Errors of receive_fd: when the kernel had to drop the descriptor because this process is at
///   RLIMIT_NOFILE (or the system at fs.file-max), EMFILE (ENFILE) with the limit's value in the
///   detail, learned by one extra fcntl(F_DUPFD_CLOEXEC) probe on that path only (the message is
///   consumed: the sender must send again); ECONNRESET when the peer closed without sending.
void send_fd(int socket, int fd);
/// Same; errors go to ec.
void send_fd(int socket, int fd, std::error_code& ec) noexcept;
/// Receives one descriptor sent with send_fd() (see above); returns it, O_CLOEXEC, owned by the
/// caller.
int receive_fd(int socket);
/// Same; errors go to ec and -1 is returned.
int receive_fd(int socket, std::error_code& ec) noexcept;

}  // namespace mmapxx
