// SealedMemory: memfd creation, adoption and seals (include/mmapxx/memfd.hpp).
#include "mmapxx/memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "base/alloc.hpp"
#include "base/fd.hpp"
#include "shm/memory_size.hpp"
#include "shm/shm_name.hpp"

namespace mmapxx {

static_assert(static_cast<unsigned>(Seal::Final) == F_SEAL_SEAL);
static_assert(static_cast<unsigned>(Seal::Shrink) == F_SEAL_SHRINK);
static_assert(static_cast<unsigned>(Seal::Grow) == F_SEAL_GROW);
static_assert(static_cast<unsigned>(Seal::Write) == F_SEAL_WRITE);
static_assert(static_cast<unsigned>(Seal::FutureWrite) == F_SEAL_FUTURE_WRITE);

namespace {

constexpr std::size_t max_memfd_name = 249;  // memfd_create(2): longer names are EINVAL
constexpr unsigned all_seals =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

// "shrink|grow", or "none": the seal bits by name, in a buffer of the caller's (no allocation).
struct SealNames {
  char text[64] = {};
  explicit SealNames(Seal seals) noexcept {
    const std::pair<Seal, const char*> names[] = {{Seal::Final, "seal"},
                                                  {Seal::Shrink, "shrink"},
                                                  {Seal::Grow, "grow"},
                                                  {Seal::Write, "write"},
                                                  {Seal::FutureWrite, "future-write"}};
    for (const auto& [bit, name] : names)
      if (has(seals, bit)) {
        if (text[0] != '\0') std::strcat(text, "|");
        std::strcat(text, name);  // at most 41 bytes in all
      }
    if (text[0] == '\0') std::strcat(text, "none");
  }
};

detail::Failure get_seals(int fd, Seal& out) noexcept {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return detail::make_failure("fcntl(F_GET_SEALS)", errno);
  out = static_cast<Seal>(static_cast<unsigned>(seals));
  return {};
}

detail::Failure create_memfd(const std::string& name, std::uint64_t size, int& fd) noexcept {
  return detail::no_throw("memfd_create", [&]() -> detail::Failure {
    if (const std::size_t nul = name.find('\0'); nul != std::string::npos) {
      char shown[120];
      detail::escape_into(shown, sizeof shown, name);
      return detail::invalid_argument("memfd_create", "name %s contains a NUL byte at index %zu",
                                      shown, nul);
    }
    if (name.size() > max_memfd_name)
      return detail::invalid_argument("memfd_create", "name is %zu bytes, more than 249",
                                      name.size());
    if (detail::Failure failure = detail::check_size(size)) return failure;
    fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return detail::make_failure("memfd_create", errno);
    if (detail::Failure failure = detail::set_size(fd, size)) {
      detail::close_fd(fd);
      return failure;
    }
    return {};
  });
}

detail::Failure add_seals(int fd, Seal seals) noexcept {
  return detail::no_throw("fcntl(F_ADD_SEALS)", [&]() -> detail::Failure {
    if ((static_cast<unsigned>(seals) & ~all_seals) != 0)
      return detail::invalid_argument("fcntl(F_ADD_SEALS)", "unknown seal bits");
    if (::fcntl(fd, F_ADD_SEALS, static_cast<int>(seals)) != 0)
      return detail::make_failure("fcntl(F_ADD_SEALS)", errno, "seals=%s", SealNames(seals).text);
    return {};
  });
}

}  // namespace

SealedMemory::SealedMemory(const std::string& name, std::uint64_t size) {
  name_ = name;
  if (detail::Failure failure = create_memfd(name, size, fd_)) detail::raise(failure, name_);
}

SealedMemory SealedMemory::create(const std::string& name, std::uint64_t size,
                                  std::error_code& ec) noexcept {
  SealedMemory memory;
  if (detail::report(create_memfd(name, size, memory.fd_), ec)) return {};
  try {
    memory.name_ = name;
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return {};  // `memory` closes the descriptor
  }
  return memory;
}

SealedMemory SealedMemory::create(const char* name, std::uint64_t size,
                                  std::error_code& ec) noexcept {
  if (name == nullptr) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  try {
    return create(std::string(name), size, ec);  // copied here, inside noexcept
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return {};
  }
}

detail::Failure SealedMemory::adopt_into(int fd, Seal required, std::string name,
                                         SealedMemory& out) noexcept {
  if (fd < 0) return detail::make_failure("adopt", EBADF);
  if (required != Seal::None) {
    Seal present = Seal::None;
    if (detail::Failure failure = get_seals(fd, present)) {
      detail::close_fd(fd);
      if (failure.code == EINVAL)
        return detail::no_throw(
            "fcntl(F_GET_SEALS)",
            [&] {
              return detail::make_failure("fcntl(F_GET_SEALS)", EINVAL,
                                          "the descriptor cannot carry seals");
            },
            EINVAL);
      return failure;
    }
    if (!has(present, required)) {
      detail::close_fd(fd);
      return detail::make_failure("adopt", EPERM, "required seals %s, present %s",
                                  SealNames(required).text, SealNames(present).text);
    }
  }
  out = SealedMemory();
  out.fd_ = fd;  // owned from here on: `out` closes it whatever happens next
  try {
    out.name_ = name.empty() ? detail::NumberLabel("fd", fd).text : std::move(name);
  } catch (const std::bad_alloc&) {
    detail::close_fd(out.fd_);
    return detail::make_failure("adopt", ENOMEM);
  }
  return {};
}

SealedMemory SealedMemory::adopt(int fd, Seal required, std::string name) {
  SealedMemory memory;
  const std::string given = name;  // adopt_into takes `name`; a failure names it, or the fd
  if (detail::Failure failure = adopt_into(fd, required, std::move(name), memory))
    detail::raise(failure, given.empty() ? std::string_view(detail::NumberLabel("fd", fd).text)
                                         : std::string_view(given));
  return memory;
}

SealedMemory SealedMemory::adopt(int fd, Seal required, std::string name,
                                 std::error_code& ec) noexcept {
  SealedMemory memory;
  detail::report(adopt_into(fd, required, std::move(name), memory), ec);
  return memory;
}

void SealedMemory::seal(Seal seals) {
  if (detail::Failure failure = add_seals(fd_, seals)) detail::raise(failure, name_);
}

void SealedMemory::seal(Seal seals, std::error_code& ec) noexcept {
  detail::report(add_seals(fd_, seals), ec);
}

Seal SealedMemory::seals() const {
  Seal out = Seal::None;
  if (detail::Failure failure = get_seals(fd_, out)) detail::raise(failure, name_);
  return out;
}

Seal SealedMemory::seals(std::error_code& ec) const noexcept {
  Seal out = Seal::None;
  detail::report(get_seals(fd_, out), ec);
  return out;
}

void SealedMemory::send(int socket) const {
  send_fd(socket, fd_);
}

void SealedMemory::send(int socket, std::error_code& ec) const noexcept {
  send_fd(socket, fd_, ec);
}

SealedMemory SealedMemory::receive(int socket, Seal required) {
  return adopt(receive_fd(socket), required, "received memfd");
}

SealedMemory SealedMemory::receive(int socket, Seal required, std::error_code& ec) noexcept {
  const int fd = receive_fd(socket, ec);
  if (ec) return {};
  return adopt(fd, required, "received memfd", ec);
}

}  // namespace mmapxx
