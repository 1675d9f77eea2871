// Messages from a child process to its parent through a byte ring: mmapxx's SpscQueue (a
// mirrored ring: every message contiguous, read in place) against a pipe (64 KiB and 1 MiB
// buffers), a Unix stream socket, and a ring of the same size without the mirror, where a message
// that wraps is copied in two pieces on each side. 4 KiB and 64 KiB messages.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <mmapxx/mmapxx.hpp>

#include "content.hpp"
#include "io.hpp"
#include "process.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

template <class Child, class Parent>
void with_child(Child child, Parent parent) {
  mmbench::with_child(child, parent, "ring");
}

using namespace std::chrono_literals;

// Both rings hold 1 MiB + 4 KiB, so 64 KiB messages do not divide it: one in about 16 wraps
// (4 KiB messages never do; there the rings differ only by the mirror's second mapping).
constexpr std::size_t ring_bytes = MiB + 4 * KiB;
constexpr std::size_t source_bytes = MiB;  // the producer cycles through 1 MiB of content

// A pipe (capacity > 0: F_SETPIPE_SZ) or, with capacity < 0, a Unix stream socket pair.
Method stream_method(std::string name, int capacity, std::shared_ptr<Buffer> src,
                     std::size_t message, std::size_t count) {
  return {std::move(name), [=](Sink& s) {
            int fd[2];
            if (capacity < 0 ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) != 0
                             : ::pipe2(fd, O_CLOEXEC) != 0)
              throw std::runtime_error("ring: pipe/socketpair");
            if (capacity > 0) ::fcntl(fd[1], F_SETPIPE_SZ, capacity);
            Buffer in(message);
            const std::size_t per_source = source_bytes / message;
            with_child(
                [&] {
                  ::close(fd[0]);
                  for (std::size_t i = 0; i < count; ++i)
                    write_all(fd[1], src->data() + (i % per_source) * message, message);
                },
                [&] {
                  ::close(fd[1]);
                  for (std::size_t i = 0; i < count; ++i) {
                    read_exact_stream(fd[0], in.data(), message);
                    s.consume(in.data(), message);
                  }
                  ::close(fd[0]);
                });
          }};
}

Method mirrored_method(std::shared_ptr<Buffer> src, std::size_t message, std::size_t count) {
  return {"SpscQueue (mirrored, 1MiB+4KiB)", [=](Sink& s) {
            mmapxx::SpscQueue queue(ring_bytes);
            const std::size_t per_source = source_bytes / message;
            with_child(
                [&] {
                  for (std::size_t i = 0; i < count; ++i) {
                    if (!queue.wait_for_space(message, 10s)) throw std::runtime_error("stall");
                    std::memcpy(queue.write_area().data(), src->data() + (i % per_source) * message,
                                message);
                    queue.commit(message);
                  }
                },
                [&] {
                  for (std::size_t i = 0; i < count; ++i) {
                    if (!queue.wait_for_data(message, 10s)) throw std::runtime_error("stall");
                    s.consume(queue.read_area().data(), message);  // in place, even if it wraps
                    queue.consume(message);
                  }
                });
          }};
}

// The same protocol over one mapping of the ring: a wrapping message is two memcpy for the
// producer and, for the consumer, a copy into a scratch buffer before it can be read as one.
struct PlainRing {
  std::uint64_t head, tail;
  std::uint32_t data_seq, consumer_waiting, space_seq, producer_waiting;
};

template <class T>
std::atomic_ref<T> at(T& v) {
  return std::atomic_ref<T>(v);
}

void notify(std::uint32_t& waiting, std::uint32_t& seq) {
  if (at(waiting).load() == 0) return;
  at(seq).fetch_add(1);
  mmapxx::SharedFutex(seq).wake_all();
}

template <class Ready>
void wait_until(std::uint32_t& waiting, std::uint32_t& seq, Ready ready) {
  while (!ready()) {
    const std::uint32_t seen = at(seq).load();
    at(waiting).store(1);
    if (!ready() && mmapxx::SharedFutex(seq).wait(seen, 10s) == mmapxx::WaitResult::TimedOut)
      throw std::runtime_error("stall");
    at(waiting).store(0);
  }
}

Method copy_on_wrap_method(std::shared_ptr<Buffer> src, std::size_t message, std::size_t count) {
  return {"plain ring, copy on wrap (1MiB+4KiB)", [=](Sink& s) {
            mmapxx::AnonymousRegion region(4096 + ring_bytes, {.shared = true});
            auto& r = *reinterpret_cast<PlainRing*>(region.data());
            std::byte* ring = region.data() + 4096;
            Buffer scratch(message);
            const std::size_t per_source = source_bytes / message;
            with_child(
                [&] {
                  for (std::size_t i = 0; i < count; ++i) {
                    const std::uint64_t head = at(r.head).load(std::memory_order_relaxed);
                    wait_until(r.producer_waiting, r.space_seq,
                               [&] { return ring_bytes - (head - at(r.tail).load()) >= message; });
                    const std::byte* from = src->data() + (i % per_source) * message;
                    const std::size_t pos = head % ring_bytes;
                    const std::size_t first = std::min(message, ring_bytes - pos);
                    std::memcpy(ring + pos, from, first);
                    std::memcpy(ring, from + first, message - first);
                    at(r.head).store(head + message);
                    notify(r.consumer_waiting, r.data_seq);
                  }
                },
                [&] {
                  for (std::size_t i = 0; i < count; ++i) {
                    const std::uint64_t tail = at(r.tail).load(std::memory_order_relaxed);
                    wait_until(r.consumer_waiting, r.data_seq,
                               [&] { return at(r.head).load() - tail >= message; });
                    const std::size_t pos = tail % ring_bytes;
                    if (pos + message <= ring_bytes) {
                      s.consume(ring + pos, message);
                    } else {
                      const std::size_t first = ring_bytes - pos;
                      std::memcpy(scratch.data(), ring + pos, first);
                      std::memcpy(scratch.data() + first, ring, message - first);
                      s.consume(scratch.data(), message);
                    }
                    at(r.tail).store(tail + message);
                    notify(r.producer_waiting, r.space_seq);
                  }
                });
          }};
}

}  // namespace

void scenario_ring(Context& ctx) {
  const std::size_t total = ctx.config.verify ? 8 * MiB : ctx.config.quick ? 256 * MiB : GiB;
  auto src = std::make_shared<Buffer>(source_bytes);
  fill_content(src->data(), src->size, 0);
  for (const std::size_t message : {4 * KiB, 64 * KiB}) {
    const std::size_t count = total / message;
    Group g{.scenario = "ring",
            .case_name = std::to_string(message / KiB) + "KiB messages",
            .size = total,
            .state = "-",
            .unit = Unit::GBps,
            .work = static_cast<double>(count * message),
            .repeats = ctx.config.repeats(7),
            .expected = expected_digest(0, src->size) * (count * message / source_bytes)};
    ctx.run(g, {stream_method("pipe (64KiB buffer)", 0, src, message, count),
                stream_method("pipe (1MiB buffer)", 1 << 20, src, message, count),
                stream_method("unix socket", -1, src, message, count),
                copy_on_wrap_method(src, message, count), mirrored_method(src, message, count)});
  }
}

}  // namespace mmbench
