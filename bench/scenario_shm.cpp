// 64 KiB messages from a child process to its parent: through a pipe (two copies, through the
// kernel) against a ring in shared anonymous memory (one copy in, read in place). A run forks
// the producer, consumes every message, and waits for the child.
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <new>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "process.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

template <class Child, class Parent>
void with_child(Child child, Parent parent) {
  mmbench::with_child(child, parent, "shm");
}

constexpr std::size_t message = 64 * KiB;
constexpr std::size_t source_messages = 16;  // the producer cycles through 1 MiB of content
// Small enough that the ring stays in L2: a 1 MiB ring measured 2x slower than two buffers.
constexpr std::size_t ring_slots = 4;

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

struct RingHeader {
  std::atomic<std::uint32_t> head{0};  // messages published
  std::atomic<std::uint32_t> tail{0};  // messages consumed
  std::atomic<std::uint32_t> head_waiting{0};
  std::atomic<std::uint32_t> tail_waiting{0};
};

std::uint32_t* futex_word(std::atomic<std::uint32_t>& a) {
  return reinterpret_cast<std::uint32_t*>(&a);
}

// Spins briefly (the peer is on the other core), then sleeps in a shared (not private) futex.
void wait_change(std::atomic<std::uint32_t>& var, std::uint32_t seen,
                 std::atomic<std::uint32_t>& waiting) {
  for (int spin = 0; spin < 100; ++spin) {
    if (var.load(std::memory_order_acquire) != seen) return;
    __builtin_ia32_pause();
  }
  while (true) {
    waiting.store(1);
    if (var.load() != seen) return;
    syscall(SYS_futex, futex_word(var), FUTEX_WAIT, seen, nullptr, nullptr, 0);
    if (var.load(std::memory_order_acquire) != seen) return;
  }
}

void publish(std::atomic<std::uint32_t>& var, std::uint32_t value,
             std::atomic<std::uint32_t>& waiting) {
  var.store(value);
  if (waiting.exchange(0) != 0)
    syscall(SYS_futex, futex_word(var), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

struct Pipe {
  int fd[2] = {-1, -1};
  explicit Pipe(int capacity = 0) {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    if (capacity > 0) ::fcntl(fd[1], F_SETPIPE_SZ, capacity);
  }
  ~Pipe() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

Method pipe_method(std::string name, int capacity, std::shared_ptr<Buffer> src, std::size_t count) {
  return {std::move(name), [=](Sink& s) {
            Pipe p(capacity);
            Buffer in(message);
            with_child(
                [&] {
                  ::close(p.fd[0]);
                  for (std::size_t i = 0; i < count; ++i)
                    write_all(p.fd[1], src->data() + (i % source_messages) * message, message);
                },
                [&] {
                  ::close(p.fd[1]);
                  p.fd[1] = -1;
                  for (std::size_t i = 0; i < count; ++i) {
                    read_exact_stream(p.fd[0], in.data(), message);
                    s.consume(in.data(), message);
                  }
                });
          }};
}

Method ring_method(std::shared_ptr<Buffer> src, std::size_t count) {
  return {"shared ring (futex)", [=](Sink& s) {
            mmapxx::AnonymousRegion region(4096 + ring_slots * message, {.shared = true});
            auto* ring = new (region.data()) RingHeader;
            std::byte* slots = region.data() + 4096;
            const auto n = static_cast<std::uint32_t>(count);
            with_child(
                [&] {
                  for (std::uint32_t i = 0; i < n; ++i) {
                    while (i - ring->tail.load(std::memory_order_acquire) == ring_slots)
                      wait_change(ring->tail, i - ring_slots, ring->tail_waiting);
                    std::memcpy(slots + (i % ring_slots) * message,
                                src->data() + (i % source_messages) * message, message);
                    publish(ring->head, i + 1, ring->head_waiting);
                  }
                },
                [&] {
                  for (std::uint32_t i = 0; i < n; ++i) {
                    while (ring->head.load(std::memory_order_acquire) == i)
                      wait_change(ring->head, i, ring->head_waiting);
                    s.consume(slots + (i % ring_slots) * message, message);
                    publish(ring->tail, i + 1, ring->tail_waiting);
                  }
                });
          }};
}

Method ping_pong_method(std::shared_ptr<Buffer> src, std::size_t count) {
  return {"shared 2 buffers, pipe signals", [=](Sink& s) {
            mmapxx::AnonymousRegion region(2 * message, {.shared = true});
            Pipe full, empty;
            const char token = 1;
            with_child(
                [&] {
                  char t;
                  for (std::size_t i = 0; i < count; ++i) {
                    if (i >= 2 && ::read(empty.fd[0], &t, 1) != 1) throw std::runtime_error("");
                    std::memcpy(region.data() + (i % 2) * message,
                                src->data() + (i % source_messages) * message, message);
                    if (::write(full.fd[1], &token, 1) != 1) throw std::runtime_error("");
                  }
                },
                [&] {
                  char t;
                  for (std::size_t i = 0; i < count; ++i) {
                    if (::read(full.fd[0], &t, 1) != 1) throw std::runtime_error("pipe read");
                    s.consume(region.data() + (i % 2) * message, message);
                    if (::write(empty.fd[1], &token, 1) != 1)
                      throw std::runtime_error("pipe write");
                  }
                });
          }};
}

}  // namespace

void scenario_shm(Context& ctx) {
  const std::size_t total = ctx.config.verify ? 8 * MiB : ctx.config.quick ? 256 * MiB : GiB;
  const std::size_t count = total / message;  // a multiple of source_messages
  auto src = std::make_shared<Buffer>(source_messages * message);
  fill_content(src->data(), src->size, 0);
  Group g{.scenario = "shm",
          .case_name = "64KiB messages",
          .size = total,
          .state = "-",
          .unit = Unit::GBps,
          .work = static_cast<double>(total),
          .repeats = ctx.config.repeats(11),
          .expected = expected_digest(0, src->size) * (count / source_messages)};
  ctx.run(g, {pipe_method("pipe (64KiB buffer)", 0, src, count),
              pipe_method("pipe (1MiB buffer)", 1 << 20, src, count), ring_method(src, count),
              ping_pong_method(src, count)});
}

}  // namespace mmbench
