// SealedMemory: anonymous shared memory (memfd_create) that can be sealed, so that a peer given
// its descriptor can rely on it: with Seal::Shrink no one can truncate it under a mapping (no
// SIGBUS), with Seal::Write no one can change it. Plus send_fd/receive_fd over a Unix socket.
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

// File seals as a type-safe bitmask (values equal Linux's F_SEAL_* bits).
enum class Seal : unsigned {
  None = 0,
  Final = 1,         // F_SEAL_SEAL: no more seals may be added
  Shrink = 2,        // F_SEAL_SHRINK: the size may not decrease
  Grow = 4,          // F_SEAL_GROW: the size may not increase
  Write = 8,         // F_SEAL_WRITE: contents are frozen (needs no writable shared mapping)
  FutureWrite = 16,  // F_SEAL_FUTURE_WRITE: existing writable mappings stay, no new ones
};

constexpr Seal operator|(Seal a, Seal b) noexcept {
  return static_cast<Seal>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr Seal operator&(Seal a, Seal b) noexcept {
  return static_cast<Seal>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr bool has(Seal set, Seal bits) noexcept {
  return (set & bits) == bits;
}

// The seals that make a mapping safe to read: the size is fixed.
inline constexpr Seal fixed_size = Seal::Shrink | Seal::Grow;

// Owns a memfd: created MFD_CLOEXEC|MFD_ALLOW_SEALING, resizable until sealed. Give it to another
// process with send() (SCM_RIGHTS) or by inheritance across fork/exec; the peer takes it with
// receive() or adopt(), which by default refuse memory whose size is not sealed.
class SealedMemory : public detail::MemoryObject {
 public:
  SealedMemory() noexcept = default;
  // A new memfd of `size` bytes. `name` shows in /proc/PID/fd ("memfd:name"); at most 249
  // bytes, no NUL. The size is given real pages at once, so the memory is there (no SIGBUS
  // later). Syscalls: memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING), then as resize(size).
  // Errors: invalid_argument (operation "memfd_create") for a name with a NUL byte (escaped as
  //   \0 in the detail) or longer than 249 bytes, and EOVERFLOW (operation "resize") for a
  //   size past 2^63-1, all before any syscall; ENOMEM (operation "resize") when the size is more
  //   than the memory this process may still use (MemAvailable + SwapFree, its memory cgroup's
  //   limit minus usage: see MemoryObject::resize), checked before any page is allocated, so never
  //   the OOM killer; EMFILE at the descriptor limit. A failure leaves no descriptor open.
  // Cost: the pages are allocated and zeroed now.
  explicit SealedMemory(const std::string& name, std::uint64_t size = 0);
  // Same; errors go to ec (an empty object is returned), never an exception, not even bad_alloc.
  static SealedMemory create(const std::string& name, std::uint64_t size,
                             std::error_code& ec) noexcept;

  // Takes ownership of `fd` (inherited, or received some other way) after checking that it
  // carries at least the `required` seals (Seal::None accepts any descriptor). On failure `fd` is
  // closed: EPERM when seals are missing, EINVAL when it cannot carry seals at all.
  static SealedMemory adopt(int fd, Seal required = fixed_size, std::string name = {});
  static SealedMemory adopt(int fd, Seal required, std::string name, std::error_code& ec) noexcept;

  // Sends the descriptor over a connected Unix socket; the peer calls receive().
  void send(int socket) const;
  void send(int socket, std::error_code& ec) const noexcept;
  // Receives a descriptor sent with send() or send_fd() and adopts it (see adopt()).
  // Errors: as receive_fd() (EMFILE at the descriptor limit, not EBADMSG), then as adopt().
  static SealedMemory receive(int socket, Seal required = fixed_size);
  static SealedMemory receive(int socket, Seal required, std::error_code& ec) noexcept;

  // resize() (from MemoryObject) fails with EPERM once the size is sealed.
  // Adds seals (F_ADD_SEALS). Seal::Write fails with EBUSY while a writable shared mapping of
  // this memory exists anywhere; after it, map<Access::Write>() fails with EPERM.
  void seal(Seal seals = fixed_size);
  void seal(Seal seals, std::error_code& ec) noexcept;
  Seal seals() const;  // F_GET_SEALS
  Seal seals(std::error_code& ec) const noexcept;

  int release() noexcept { return std::exchange(fd_, -1); }  // the caller now owns the fd
 private:
  static detail::Failure adopt_into(int fd, Seal required, std::string name,
                                    SealedMemory& out) noexcept;
};

// SCM_RIGHTS over a connected Unix socket (one descriptor and one byte per message). The
// received descriptor is O_CLOEXEC and owned by the caller. A message carrying no descriptor,
// or more than one, is refused (EBADMSG) and leaks nothing.
// Syscalls: sendmsg(MSG_NOSIGNAL) / recvmsg(MSG_CMSG_CLOEXEC), retried on EINTR.
// Errors of receive_fd: when the kernel had to drop the descriptor because this process is at
//   RLIMIT_NOFILE (or the system at fs.file-max), EMFILE (ENFILE) with the limit's value in the
//   detail, learned by one extra fcntl(F_DUPFD_CLOEXEC) probe on that path only (the message is
//   consumed: the sender must send again); ECONNRESET when the peer closed without sending.
void send_fd(int socket, int fd);
void send_fd(int socket, int fd, std::error_code& ec) noexcept;
int receive_fd(int socket);
int receive_fd(int socket, std::error_code& ec) noexcept;  // -1 on failure

}  // namespace mmapxx
