// mirrored_pipeline: a producer and a consumer process joined by an SpscQueue, a ring in a
// sealed memfd mapped twice back to back (MirroredBuffer), so every message is contiguous even
// where it wraps. The memfd goes to the consumer over a Unix socket (SCM_RIGHTS); the consumer
// sleeps on a shared futex while the ring is empty, the producer while it is full.
//
//   mirrored_pipeline [MESSAGES]    sends MESSAGES messages (default 100000) of 1..4000 bytes
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "mmapxx/mmapxx.hpp"

namespace {

using namespace std::chrono_literals;

// A message is a 4-byte length and that many payload bytes.
std::uint32_t message_size(std::uint64_t k) {
  return 1 + static_cast<std::uint32_t>((k * 7919) % 4000);
}

struct Totals {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  void add(const std::byte* payload, std::uint32_t size) {
    ++messages;
    bytes += size;
    for (std::uint32_t i = 0; i < size; ++i)
      checksum = checksum * 131 + std::to_integer<unsigned>(payload[i]);
  }
};

int consumer(int socket) {
  // The peer's memfd, refused unless it is sealed against shrinking and growing.
  mmapxx::SpscQueue queue = mmapxx::SpscQueue::attach(mmapxx::SealedMemory::receive(socket));
  Totals totals;
  for (;;) {
    // Waits (sleeping, 10 s at most) for a header, then for the whole message.
    if (!queue.wait_for_data(4, 10s)) break;  // closed and drained, or the producer is gone
    std::uint32_t size = 0;
    std::memcpy(&size, queue.read_area().data(), 4);
    if (!queue.wait_for_data(4 + size, 10s)) return 1;
    totals.add(queue.read_area().data() + 4, size);  // contiguous, even across the wrap
    queue.consume(4 + size);
  }
  std::printf("consumer: %llu messages, %llu bytes, checksum %llu\n",
              static_cast<unsigned long long>(totals.messages),
              static_cast<unsigned long long>(totals.bytes),
              static_cast<unsigned long long>(totals.checksum));
  return queue.closed() ? 0 : 1;
}

int producer(mmapxx::SpscQueue& queue, std::uint64_t messages) {
  Totals totals;
  for (std::uint64_t k = 0; k < messages; ++k) {
    const std::uint32_t size = message_size(k);
    if (!queue.wait_for_space(4 + size, 10s)) return 1;  // the consumer stopped reading
    std::byte* area = queue.write_area().data();
    std::memcpy(area, &size, 4);
    for (std::uint32_t i = 0; i < size; ++i) area[4 + i] = std::byte((k + i) & 0xff);
    totals.add(area + 4, size);
    queue.commit(4 + size);
  }
  queue.close();
  std::fflush(stdout);
  std::printf("producer: %llu messages, %llu bytes, checksum %llu\n",
              static_cast<unsigned long long>(totals.messages),
              static_cast<unsigned long long>(totals.bytes),
              static_cast<unsigned long long>(totals.checksum));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::uint64_t messages = argc > 1 ? std::stoull(argv[1]) : 100000;
    int sockets[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) return 1;
    std::fflush(stdout);
    const pid_t child = ::fork();
    if (child < 0) return 1;
    if (child == 0) {
      ::close(sockets[0]);
      int code = 1;
      try {
        code = consumer(sockets[1]);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
      }
      std::fflush(stdout);
      ::_exit(code);
    }
    ::close(sockets[1]);
    // 64 KiB of ring, made after the fork: the consumer gets it only through the socket.
    mmapxx::SpscQueue queue(64 * 1024);
    queue.memory().send(sockets[0]);
    ::close(sockets[0]);
    const int sent = producer(queue, messages);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
    }
    return sent == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mirrored_pipeline: %s\n", e.what());
    return 1;
  }
}
