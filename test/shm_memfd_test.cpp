#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "mmapxx/memfd.hpp"
#include "shm_support.hpp"
#include "support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0); }
  ~SocketPair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
};

SealedMemory filled(const std::string& text, Seal seals) {
  SealedMemory memory("mmapxx-test", text.size());
  {
    auto map = memory.map<Access::Write>();
    std::memcpy(map.data(), text.data(), text.size());
  }
  if (seals != Seal::None) memory.seal(seals);
  return memory;
}

std::string contents(const SealedMemory& memory) {
  auto map = memory.map<Access::Read>();
  return {reinterpret_cast<const char*>(map.data()), map.size()};
}

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST_CASE("SealedMemory resizes until sealed, then refuses shrink and grow", "[memfd]") {
  SealedMemory memory("mmapxx-test", 8192);
  CHECK(memory.size() == 8192);
  CHECK(memory.seals() == Seal::None);
  CHECK((::fcntl(memory.fd(), F_GETFD) & FD_CLOEXEC) != 0);
  memory.resize(100);
  CHECK(memory.size() == 100);
  memory.resize(4096);
  CHECK(memory.size() == 4096);

  memory.seal();  // fixed_size
  CHECK(has(memory.seals(), Seal::Shrink | Seal::Grow));
  CHECK(code_of([&] { memory.resize(10); }) == std::errc::operation_not_permitted);
  CHECK(code_of([&] { memory.resize(8192); }) == std::errc::operation_not_permitted);
  CHECK(::ftruncate(memory.fd(), 0) == -1);  // not even behind our back
  CHECK(memory.size() == 4096);
  std::error_code ec;
  memory.resize(1, ec);
  CHECK(ec == std::errc::operation_not_permitted);

  CHECK(code_of([] { SealedMemory(std::string(250, 'n')); }) == std::errc::invalid_argument);
  CHECK(code_of([] { SealedMemory(std::string("a\0b", 3)); }) == std::errc::invalid_argument);
  CHECK(code_of([&] { memory.seal(static_cast<Seal>(1024)); }) == std::errc::invalid_argument);
}

TEST_CASE("a write seal freezes contents and needs no writable mapping", "[memfd]") {
  SealedMemory memory("mmapxx-test", 4096);
  {
    auto map = memory.map<Access::Write>();
    map[0] = std::byte{42};
    CHECK(code_of([&] { memory.seal(Seal::Write); }) == std::errc::device_or_resource_busy);
  }
  memory.seal(Seal::Write | fixed_size | Seal::Final);
  CHECK(code_of([&] { memory.map<Access::Write>(); }) == std::errc::operation_not_permitted);
  CHECK(memory.map<Access::Read>()[0] == std::byte{42});
  CHECK(code_of([&] { memory.seal(Seal::Grow); }) == std::errc::operation_not_permitted);
}

TEST_CASE("a sealed memfd crosses a Unix socket (SCM_RIGHTS) to another process", "[memfd]") {
  SocketPair sockets;
  const int status = run_in_child([&] {
    filled("hello from the child", fixed_size).send(sockets.fd[1]);
    filled("unsealed", Seal::None).send(sockets.fd[1]);
    filled("unsealed again", Seal::None).send(sockets.fd[1]);
    return 0;
  });
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));

  const std::size_t fds_before = open_fd_count();
  auto received = SealedMemory::receive(sockets.fd[0]);
  CHECK(has(received.seals(), fixed_size));
  CHECK(contents(received) == "hello from the child");
  CHECK((::fcntl(received.fd(), F_GETFD) & FD_CLOEXEC) != 0);

  // The receiver detects the missing seals and refuses, without keeping the descriptor.
  std::error_code ec;
  auto refused = SealedMemory::receive(sockets.fd[0], fixed_size, ec);
  CHECK(ec == std::errc::operation_not_permitted);
  CHECK_FALSE(refused);
  CHECK(open_fd_count() == fds_before + 1);
  // Asking for nothing accepts it.
  auto accepted = SealedMemory::receive(sockets.fd[0], Seal::None);
  CHECK(contents(accepted) == "unsealed again");
}

TEST_CASE("receive refuses messages without exactly one descriptor and leaks nothing", "[memfd]") {
  SocketPair sockets;
  const std::size_t fds_before = open_fd_count();
  REQUIRE(::write(sockets.fd[1], "x", 1) == 1);
  CHECK(code_of([&] { receive_fd(sockets.fd[0]); }) == std::errc::bad_message);

  // A pipe cannot carry seals: refused when seals are required, and closed.
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  send_fd(sockets.fd[1], pipe_fds[0]);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  std::error_code ec;
  CHECK_FALSE(SealedMemory::receive(sockets.fd[0], fixed_size, ec));
  CHECK(ec == std::errc::invalid_argument);
  CHECK(open_fd_count() == fds_before);

  ::shutdown(sockets.fd[1], SHUT_WR);
  CHECK(receive_fd(sockets.fd[0], ec) == -1);
  CHECK(ec == std::errc::connection_reset);
  CHECK(code_of([&] { send_fd(sockets.fd[1], -1); }) == std::errc::bad_file_descriptor);
}

TEST_CASE("adopt checks the seals and takes ownership", "[memfd]") {
  auto unsealed = filled("abc", Seal::None);
  const int fd = unsealed.release();
  CHECK_FALSE(unsealed);
  CHECK(code_of([&] { SealedMemory::adopt(fd); }) == std::errc::operation_not_permitted);
  CHECK_FALSE(is_open(fd));  // closed on failure: no leak

  auto sealed = filled("abc", fixed_size);
  const int fd2 = sealed.release();
  {
    auto adopted = SealedMemory::adopt(fd2, fixed_size, "mine");
    CHECK(adopted.name() == "mine");
    CHECK(contents(adopted) == "abc");
  }
  CHECK_FALSE(is_open(fd2));
}

TEST_CASE("a memfd is inherited across fork and exec only when handed over", "[memfd]") {
  auto sealed = filled("inherited bytes", fixed_size);
  // dup2 in the child makes an inheritable copy at a known number; the original stays CLOEXEC.
  const int source = sealed.fd();
  const unsigned required = static_cast<unsigned>(fixed_size);
  const ChildResult ok =
      run_helper({"memfd", "50", std::to_string(required)}, [source] { ::dup2(source, 50); });
  CHECK(ok.ok());
  CHECK(ok.output == "inherited bytes");

  auto unsealed = filled("loose", Seal::None);
  const int loose = unsealed.fd();
  const ChildResult refused =
      run_helper({"memfd", "50", std::to_string(required)}, [loose] { ::dup2(loose, 50); });
  CHECK(refused.exit_code() == 3);
  CHECK(refused.output.rfind("error " + std::to_string(EPERM) + " ", 0) == 0);

  const ChildResult none = run_helper({"fds"});
  REQUIRE(none.ok());
  INFO(none.output);
  CHECK(none.output.find("memfd:") == std::string::npos);
}
