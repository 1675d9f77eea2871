// A single-producer/single-consumer byte queue over a mirrored buffer: mmapxx/spsc_queue.hpp.
//
// head counts bytes ever committed, tail bytes ever consumed (64-bit: they never wrap in
// practice); the ring position is the counter modulo capacity. The producer owns head, the
// consumer tail. Sleeping uses a Dekker-style handshake: the sleeper reads the sequence word,
// sets its "waiting" flag, rechecks the counters and only then calls FUTEX_WAIT; the other side
// stores its counter, then reads the flag (all seq_cst), so one of them always sees the other
// and a wake is never lost, while the common path makes no syscall.
#include "mmapxx/spsc_queue.hpp"

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <string>

#include "mmapxx/page.hpp"

namespace mmapxx {

struct SpscQueue::Control {
  std::uint64_t magic;
  std::uint64_t capacity;
  alignas(64) std::uint64_t head;  // producer: bytes committed
  std::uint32_t data_seq;          // bumped to wake the consumer
  std::uint32_t consumer_waiting;  // 1 while the consumer may sleep on data_seq
  alignas(64) std::uint64_t tail;  // consumer: bytes consumed
  std::uint32_t space_seq;         // bumped to wake the producer
  std::uint32_t producer_waiting;  // 1 while the producer may sleep on space_seq
  alignas(64) std::uint32_t closed;
};

namespace {

constexpr std::uint64_t queue_magic = 0x6d6d61707878'5131;  // "mmapxxQ1"

template <class T>
std::atomic_ref<T> at(T& value) noexcept {
  return std::atomic_ref<T>(value);
}

using Clock = std::chrono::steady_clock;

// Wakes the peer if it announced that it may sleep.
void notify(std::uint32_t& waiting, std::uint32_t& seq) noexcept {
  if (at(waiting).load(std::memory_order_seq_cst) == 0) return;
  at(seq).fetch_add(1, std::memory_order_seq_cst);
  std::error_code ignored;  // EFAULT/EINVAL cannot happen on our own aligned, mapped word
  SharedFutex(seq).wake_all(ignored);
}

// Publishes n more bytes on our own counter (head for the producer, tail for the consumer: no one
// else stores it), then wakes the peer if it may sleep.
void advance(std::uint64_t& counter, std::uint64_t n, std::uint32_t& waiting,
             std::uint32_t& seq) noexcept {
  at(counter).store(at(counter).load(std::memory_order_relaxed) + n, std::memory_order_seq_cst);
  notify(waiting, seq);
}

// Sleeps until ready() or the deadline; the handshake is described at the top of the file.
template <class Ready>
bool sleep_until(std::uint32_t& waiting, std::uint32_t& seq, std::chrono::nanoseconds timeout,
                 Ready ready) noexcept {
  const bool forever = timeout == no_timeout;
  const auto deadline = forever ? Clock::time_point::max() : Clock::now() + timeout;
  for (;;) {
    if (ready()) return true;
    const std::uint32_t seen = at(seq).load(std::memory_order_seq_cst);
    at(waiting).store(1, std::memory_order_seq_cst);
    if (ready()) {
      at(waiting).store(0, std::memory_order_relaxed);
      return true;
    }
    std::chrono::nanoseconds left = no_timeout;
    if (!forever) {
      left = deadline - Clock::now();
      if (left.count() <= 0) {
        at(waiting).store(0, std::memory_order_relaxed);
        return ready();
      }
    }
    std::error_code ignored;
    SharedFutex(seq).wait(seen, left, ignored);
    at(waiting).store(0, std::memory_order_relaxed);
  }
}

}  // namespace

SpscQueue::SpscQueue(std::size_t capacity) {
  if (detail::Failure failure = make(capacity)) detail::raise(failure, "spsc queue");
}

SpscQueue SpscQueue::create(std::size_t capacity, std::error_code& ec) noexcept {
  SpscQueue queue;
  if (detail::report(queue.make(capacity), ec)) return {};
  return queue;
}

SpscQueue SpscQueue::attach(SealedMemory memory) {
  SpscQueue queue;
  const std::string name = memory.name();
  if (detail::Failure failure = queue.attach_to(std::move(memory))) detail::raise(failure, name);
  return queue;
}

SpscQueue SpscQueue::attach(SealedMemory memory, std::error_code& ec) noexcept {
  SpscQueue queue;
  if (detail::report(queue.attach_to(std::move(memory)), ec)) return {};
  return queue;
}

detail::Failure SpscQueue::make(std::size_t capacity) noexcept {
  if (capacity == 0 || capacity % page_size() != 0 || capacity > SIZE_MAX / 4)
    return detail::invalid_argument("spsc queue",
                                    "capacity %zu is not a non-zero multiple of the page size %zu",
                                    capacity, page_size());
  std::error_code ec;
  SealedMemory memory = SealedMemory::create("mmapxx-spsc", page_size() + capacity, ec);
  if (!ec) memory.seal(fixed_size, ec);
  if (ec) return detail::make_failure("memfd_create", ec.value(), "for a queue");
  MappedFile<Access::Write> control = memory.map<Access::Write>({.length = sizeof(Control)}, ec);
  if (ec) return detail::make_failure("mmap", ec.value(), "queue control page");
  auto* c = reinterpret_cast<Control*>(control.data());
  c->capacity = capacity;
  at(c->magic).store(queue_magic, std::memory_order_release);
  return attach_to(std::move(memory));
}

detail::Failure SpscQueue::attach_to(SealedMemory memory) noexcept {
  std::error_code ec;
  const std::uint64_t total = memory.size(ec);
  if (ec) return detail::make_failure("fstat", ec.value());
  if (total <= page_size())
    return detail::invalid_argument("spsc queue", "not an mmapxx queue: %" PRIu64 " bytes", total);
  MappedFile<Access::Write> control = memory.map<Access::Write>({.length = sizeof(Control)}, ec);
  if (ec) return detail::make_failure("mmap", ec.value(), "queue control page");
  const auto* c = reinterpret_cast<const Control*>(control.data());
  const std::uint64_t capacity = total - page_size();
  if (at(const_cast<std::uint64_t&>(c->magic)).load(std::memory_order_acquire) != queue_magic ||
      c->capacity != capacity)
    return detail::invalid_argument(
        "spsc queue", "not an mmapxx queue (no control page for %" PRIu64 " bytes)", capacity);
  MirroredBuffer ring = MirroredBuffer::create(memory, page_size(), capacity, ec);
  if (ec) return detail::make_failure("mmap", ec.value(), "mirroring the queue's ring");
  memory_ = std::move(memory);
  control_ = std::move(control);
  ring_ = std::move(ring);
  return {};
}

std::span<std::byte> SpscQueue::write_area() noexcept {
  if (!*this) return {};  // an empty queue has no control page: no space, never a crash
  Control& c = control();
  const std::uint64_t head = at(c.head).load(std::memory_order_relaxed);
  const std::uint64_t tail = at(c.tail).load(std::memory_order_acquire);
  return {ring_.data() + head % capacity(), capacity() - static_cast<std::size_t>(head - tail)};
}

detail::Failure SpscQueue::commit_bytes(std::size_t n) noexcept {
  if (!*this)
    return n == 0 ? detail::Failure{}
                  : detail::invalid_argument("commit", "commit(%zu) on an empty queue", n);
  Control& c = control();
  const std::uint64_t head = at(c.head).load(std::memory_order_relaxed);
  const std::uint64_t tail = at(c.tail).load(std::memory_order_acquire);
  if (n > capacity() - (head - tail))
    return detail::invalid_argument("commit", "commit(%zu) exceeds the free space %" PRIu64, n,
                                    capacity() - (head - tail));
  if (n != 0) advance(c.head, n, c.consumer_waiting, c.data_seq);
  return {};
}

void SpscQueue::commit(std::size_t n) {
  if (detail::Failure failure = commit_bytes(n)) detail::raise(failure, memory_.name());
}

void SpscQueue::commit(std::size_t n, std::error_code& ec) noexcept {
  detail::report(commit_bytes(n), ec);
}

std::size_t SpscQueue::write(std::span<const std::byte> data) noexcept {
  const std::span<std::byte> area = write_area();
  const std::size_t n = std::min(area.size(), data.size());
  if (n == 0) return 0;
  std::memcpy(area.data(), data.data(), n);
  Control& c = control();
  advance(c.head, n, c.consumer_waiting, c.data_seq);
  return n;
}

bool SpscQueue::wait_for_space(std::size_t n, std::chrono::nanoseconds timeout) noexcept {
  if (!*this || n > capacity()) return false;
  Control& c = control();
  bool was_closed = false;
  const bool ready = sleep_until(c.producer_waiting, c.space_seq, timeout, [&] {
    if (at(c.closed).load(std::memory_order_acquire)) return was_closed = true;
    return write_area().size() >= n;
  });
  return ready && !was_closed;
}

std::span<const std::byte> SpscQueue::read_area() const noexcept {
  if (!*this) return {};
  Control& c = control();
  const std::uint64_t tail = at(c.tail).load(std::memory_order_relaxed);
  const std::uint64_t head = at(c.head).load(std::memory_order_acquire);
  return {ring_.data() + tail % capacity(), static_cast<std::size_t>(head - tail)};
}

detail::Failure SpscQueue::consume_bytes(std::size_t n) noexcept {
  if (!*this)
    return n == 0 ? detail::Failure{}
                  : detail::invalid_argument("consume", "consume(%zu) on an empty queue", n);
  Control& c = control();
  const std::uint64_t tail = at(c.tail).load(std::memory_order_relaxed);
  const std::uint64_t head = at(c.head).load(std::memory_order_acquire);
  if (n > head - tail)
    return detail::invalid_argument("consume", "consume(%zu) exceeds the readable bytes %" PRIu64,
                                    n, head - tail);
  if (n != 0) advance(c.tail, n, c.producer_waiting, c.space_seq);
  return {};
}

void SpscQueue::consume(std::size_t n) {
  if (detail::Failure failure = consume_bytes(n)) detail::raise(failure, memory_.name());
}

void SpscQueue::consume(std::size_t n, std::error_code& ec) noexcept {
  detail::report(consume_bytes(n), ec);
}

std::size_t SpscQueue::read(std::span<std::byte> data) noexcept {
  const std::span<const std::byte> area = read_area();
  const std::size_t n = std::min(area.size(), data.size());
  if (n == 0) return 0;
  std::memcpy(data.data(), area.data(), n);
  Control& c = control();
  advance(c.tail, n, c.producer_waiting, c.space_seq);
  return n;
}

bool SpscQueue::wait_for_data(std::size_t n, std::chrono::nanoseconds timeout) noexcept {
  if (!*this || n > capacity()) return false;
  Control& c = control();
  bool ended = false;
  const bool ready = sleep_until(c.consumer_waiting, c.data_seq, timeout, [&] {
    if (read_area().size() >= n) return true;
    // Closed: nothing more will come; recheck, since the last commit may precede the close.
    if (at(c.closed).load(std::memory_order_acquire)) return ended = read_area().size() < n, true;
    return false;
  });
  return ready && !ended;
}

void SpscQueue::close() noexcept {
  if (!*this) return;
  Control& c = control();
  at(c.closed).store(1, std::memory_order_seq_cst);
  for (auto [waiting, seq] : {std::pair{&c.consumer_waiting, &c.data_seq},
                              std::pair{&c.producer_waiting, &c.space_seq}}) {
    at(*seq).fetch_add(1, std::memory_order_seq_cst);
    std::error_code ignored;
    if (at(*waiting).load(std::memory_order_seq_cst)) SharedFutex(*seq).wake_all(ignored);
  }
}

bool SpscQueue::closed() const noexcept {
  if (!*this) return false;
  return at(control().closed).load(std::memory_order_acquire) != 0;
}

}  // namespace mmapxx
