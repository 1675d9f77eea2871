// MirroredBuffer and SpscQueue: aliasing halves, every message size around the wrap, and a
// producer and consumer in two processes (fork, and fork + exec of address_helper).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "address_support.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/mirrored_buffer.hpp"
#include "mmapxx/spsc_queue.hpp"
#include "support.hpp"

#ifndef MMAPXX_ADDRESS_HELPER
#error "MMAPXX_ADDRESS_HELPER must name the address_helper program"
#endif

using namespace mmapxx;
using namespace std::chrono_literals;
using mmapxx::test::mapping_count;
using mmapxx::test::open_fd_count;
using mmapxx::test::protection_at;

namespace {

std::error_code code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  return {};
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

}  // namespace

TEST_CASE("MirroredBuffer: data()[i] and data()[i + S] are the same byte", "[address][mirror]") {
  const std::size_t maps = mapping_count();
  const std::size_t fds = open_fd_count();
  {
    const std::size_t S = 4 * page_size();
    MirroredBuffer mirror(S, "mirror-test");
    REQUIRE(mirror.size() == S);
    CHECK(mirror.bytes().size() == 2 * S);
    CHECK(mirror.second().data() == mirror.data() + S);
    for (std::size_t i = 0; i < S; i += 97) {
      mirror.data()[i] = std::byte(i & 0xff);
      CHECK(mirror.data()[i + S] == std::byte(i & 0xff));
    }
    mirror.data()[2 * S - 1] = std::byte{0x5a};
    CHECK(mirror.data()[S - 1] == std::byte{0x5a});
    // A range that crosses the end reads as one contiguous block.
    std::memcpy(mirror.data() + S - 3, "wrapped", 7);
    CHECK(std::memcmp(mirror.data(), "pped", 4) == 0);
    CHECK(protection_at(mirror.data()) == "rw-s");
    CHECK(protection_at(mirror.data() + S) == "rw-s");
    CHECK(has(mirror.memory().seals(), fixed_size));
  }
  CHECK(mapping_count() == maps);
  CHECK(open_fd_count() == fds);

  CHECK(code_of([] { MirroredBuffer(page_size() + 1); }) == std::errc::invalid_argument);
  std::error_code ec;
  MirroredBuffer::create(0, "zero", ec);
  CHECK(ec == std::errc::invalid_argument);
  SealedMemory memory("small", page_size());
  MirroredBuffer::create(memory, 0, 2 * page_size(), ec);  // past the object's end
  CHECK(ec == std::errc::invalid_argument);
  MirroredBuffer::create(memory, 100, page_size(), ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(mapping_count() == maps);
}

TEST_CASE("MirroredBuffer from a SealedMemory received from another process", "[address][mirror]") {
  int sockets[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) == 0);
  const std::size_t S = 2 * page_size();
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 1;
    try {
      SealedMemory received = SealedMemory::receive(sockets[1]);
      MirroredBuffer mirror(received, 0, S);
      std::memcpy(mirror.data() + S - 2, "from child", 10);  // wraps
      code = 0;
    } catch (...) {
      code = 2;
    }
    ::_exit(code);
  }
  MirroredBuffer mine(S, "sent");
  mine.memory().send(sockets[0]);
  const int status = wait_status(child);
  ::close(sockets[0]);
  ::close(sockets[1]);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(std::memcmp(mine.data() + S - 2, "from child", 10) == 0);
  CHECK(std::memcmp(mine.data(), "om child", 8) == 0);
}

TEST_CASE("SpscQueue: every message size at every position around the wrap", "[address][spsc]") {
  SpscQueue queue(page_size());
  const std::size_t C = queue.capacity();
  std::vector<std::byte> out(C), filler(C);
  std::uint64_t seed = 1;
  std::size_t position = 0;  // head (= tail) modulo C
  for (std::size_t size = 1; size <= C; size += (size < 64 || size > C - 64) ? 1 : 61) {
    for (std::size_t target : {std::size_t{0}, std::size_t{1}, C - size / 2, C - 1, C / 2}) {
      // Empty the queue with head and tail at `target`, then send one message of `size` bytes.
      const std::size_t fill = (target + C - position) % C;
      REQUIRE(queue.write({filler.data(), fill}) == fill);
      REQUIRE(queue.read({filler.data(), fill}) == fill);
      for (std::size_t i = 0; i < size; ++i) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        out[i] = std::byte(seed >> 56);
      }
      auto area = queue.write_area();
      REQUIRE(area.size() == C);
      std::memcpy(area.data(), out.data(), size);  // may cross the end: one memcpy
      queue.commit(size);
      auto readable = queue.read_area();
      REQUIRE(readable.size() == size);
      REQUIRE(std::memcmp(readable.data(), out.data(), size) == 0);
      queue.consume(size);
      position = (target + size) % C;
    }
  }
  CHECK(queue.read_area().empty());
}

TEST_CASE("SpscQueue: misuse is a clear error, waits time out, close ends the consumer",
          "[address][spsc]") {
  SpscQueue queue(page_size());
  CHECK(code_of([&] { queue.commit(queue.capacity() + 1); }) == std::errc::invalid_argument);
  CHECK(code_of([&] { queue.consume(1); }) == std::errc::invalid_argument);
  auto start = std::chrono::steady_clock::now();
  CHECK(!queue.wait_for_data(1, 30ms));
  CHECK(std::chrono::steady_clock::now() - start >= 30ms);
  CHECK(!queue.wait_for_data(queue.capacity() + 1, no_timeout));  // can never be satisfied
  std::vector<std::byte> full(queue.capacity());
  CHECK(queue.write(full) == queue.capacity());
  CHECK(queue.write(full) == 0);
  CHECK(!queue.wait_for_space(1, 10ms));
  CHECK(queue.wait_for_data(queue.capacity(), 0ns));
  queue.close();
  CHECK(queue.closed());
  CHECK(!queue.wait_for_space(1, no_timeout));
  CHECK(queue.wait_for_data(10, no_timeout));  // what is left is still readable
  CHECK(queue.read(full) == queue.capacity());
  CHECK(!queue.wait_for_data(1, no_timeout));  // closed and empty: returns at once

  CHECK(code_of([] { SpscQueue(100); }) == std::errc::invalid_argument);
  SealedMemory not_a_queue("nq", 2 * page_size());
  not_a_queue.seal();
  std::error_code ec;
  SpscQueue::attach(std::move(not_a_queue), ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("SpscQueue across fork: 16 MiB of varied messages through a 64 KiB ring",
          "[address][spsc]") {
  SpscQueue queue(64 * 1024);
  constexpr std::uint64_t total = 16u << 20;
  const pid_t producer = ::fork();
  REQUIRE(producer >= 0);
  if (producer == 0) {
    // The child maps the queue again from the memory, as a peer process would.
    int code = 0;
    try {
      SpscQueue mine =
          SpscQueue::attach(SealedMemory::adopt(::fcntl(queue.memory().fd(), F_DUPFD_CLOEXEC, 0)));
      code = mmapxx::test::produce(mine, total) ? 0 : 3;
    } catch (...) {
      code = 2;
    }
    ::_exit(code);
  }
  const bool ok = mmapxx::test::consume(queue, total);
  const int status = wait_status(producer);
  CHECK(ok);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("SpscQueue across exec: the consumer is another program given the memfd",
          "[address][spsc]") {
  SpscQueue queue(64 * 1024);
  constexpr std::uint64_t total = 8u << 20;
  const int inherited = ::fcntl(queue.memory().fd(), F_DUPFD, 10);  // no O_CLOEXEC: survives exec
  REQUIRE(inherited >= 0);
  const pid_t consumer = ::fork();
  REQUIRE(consumer >= 0);
  if (consumer == 0) {
    const std::string fd = std::to_string(inherited);
    const std::string bytes = std::to_string(total);
    ::execl(MMAPXX_ADDRESS_HELPER, MMAPXX_ADDRESS_HELPER, "consume", fd.c_str(), bytes.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(inherited);
  const bool ok = mmapxx::test::produce(queue, total);
  const int status = wait_status(consumer);
  CHECK(ok);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
