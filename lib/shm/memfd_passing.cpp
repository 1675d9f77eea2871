// SCM_RIGHTS: passing a descriptor to another process over a Unix socket
// (include/mmapxx/memfd.hpp).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "base/alloc.hpp"
#include "base/fd.hpp"
#include "mmapxx/memfd.hpp"
#include "shm/shm_name.hpp"

namespace mmapxx {

namespace {

// Room for a few descriptors, so a peer sending more than one is detected and cleaned up rather
// than truncated (MSG_CTRUNC) with the extra ones lost in limbo.
constexpr std::size_t max_fds = 8;

// The message both sides use: one byte of data in `iov` (a stream socket carries control data
// only alongside some) and the SCM_RIGHTS control buffer.
msghdr message(iovec& iov, char* control, std::size_t size) noexcept {
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = size;
  return msg;
}

detail::Failure send_one(int socket, int fd) noexcept {
  return detail::no_throw("sendmsg", [&]() -> detail::Failure {
    if (fd < 0) return detail::make_failure("sendmsg", EBADF, "fd=%d", fd);
    char byte = 'F';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg = message(iov, control, sizeof control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ssize_t n;
    do {
      n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);  // a closed peer is EPIPE, not SIGPIPE
    } while (n < 0 && errno == EINTR);
    if (n < 0) return detail::make_failure("sendmsg", errno);
    return {};
  });
}

// The kernel drops a passed descriptor it cannot install (the receiver is at RLIMIT_NOFILE, or the
// system at fs.file-max) and says only MSG_CTRUNC. Ask for a descriptor ourselves to learn why:
// EMFILE or ENFILE then is the real cause; 0 means the truncation had another reason.
int descriptor_shortage(int socket) noexcept {
  int probe = ::fcntl(socket, F_DUPFD_CLOEXEC, 0);
  const int code = probe < 0 ? errno : 0;
  detail::close_fd(probe);
  return code == EMFILE || code == ENFILE ? code : 0;
}

detail::Failure shortage_failure(int code) noexcept {
  if (code != EMFILE)
    return detail::make_failure("recvmsg", code,
                                "the descriptor sent was discarded by the kernel: the system is at "
                                "its descriptor limit (fs.file-max)");
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return detail::make_failure("recvmsg", code,
                              "the descriptor sent was discarded by the kernel: this process is at "
                              "its descriptor limit, RLIMIT_NOFILE=%llu",
                              static_cast<unsigned long long>(limit.rlim_cur));
}

detail::Failure receive_one(int socket, int& out) noexcept {
  return detail::no_throw("recvmsg", [&]() -> detail::Failure {
    out = -1;
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)] = {};
    msghdr msg = message(iov, control, sizeof control);
    ssize_t n;
    do {
      n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return detail::make_failure("recvmsg", errno);

    int fds[max_fds];
    std::size_t count = 0;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t bytes = cmsg->cmsg_len - CMSG_LEN(0);
      for (std::size_t i = 0; i < bytes / sizeof(int) && count < max_fds; ++i)
        std::memcpy(&fds[count++], CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
    }
    if (count == 1 && (msg.msg_flags & MSG_CTRUNC) == 0) {
      out = fds[0];
      return {};
    }
    for (std::size_t i = 0; i < count; ++i) detail::close_fd(fds[i]);
    if ((msg.msg_flags & MSG_CTRUNC) != 0 && count == 0)
      if (const int code = descriptor_shortage(socket)) return shortage_failure(code);
    if (n == 0 && count == 0)
      return detail::make_failure("recvmsg", ECONNRESET, "peer closed before sending a descriptor");
    if (count == 0) return detail::make_failure("recvmsg", EBADMSG, "no descriptor in the message");
    return detail::make_failure("recvmsg", EBADMSG, "expected one descriptor, got %zu%s", count,
                                (msg.msg_flags & MSG_CTRUNC) ? " or more" : "");
  });
}

detail::NumberLabel socket_name(int socket) noexcept {
  return {"socket", socket};
}

}  // namespace

void send_fd(int socket, int fd) {
  if (detail::Failure failure = send_one(socket, fd))
    detail::raise(failure, socket_name(socket).text);
}

void send_fd(int socket, int fd, std::error_code& ec) noexcept {
  detail::report(send_one(socket, fd), ec);
}

int receive_fd(int socket) {
  int fd = -1;
  if (detail::Failure failure = receive_one(socket, fd))
    detail::raise(failure, socket_name(socket).text);
  return fd;
}

int receive_fd(int socket, std::error_code& ec) noexcept {
  int fd = -1;
  detail::report(receive_one(socket, fd), ec);
  return fd;
}

}  // namespace mmapxx
