// Shared (not process-private) futex wait and wake on a word in a mapping: mmapxx/shared_futex.hpp.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "mmapxx/atomic.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/shared_futex.hpp"

namespace mmapxx {

namespace {

// FUTEX_WAIT and FUTEX_WAKE without FUTEX_PRIVATE_FLAG: the kernel then keys the futex by the
// backing object and offset, so processes mapping it at different addresses meet.
long futex(std::uint32_t* word, int op, std::uint32_t value, const timespec* timeout) noexcept {
  return ::syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

detail::Failure wait_on(std::uint32_t* word, std::uint32_t expected,
                        std::chrono::nanoseconds timeout, WaitResult& out) noexcept {
  timespec relative{};
  const timespec* limit = nullptr;
  if (timeout != no_timeout) {
    if (timeout.count() <= 0) {
      out = std::atomic_ref<std::uint32_t>(*word).load(std::memory_order_acquire) == expected
                ? WaitResult::TimedOut
                : WaitResult::ValueChanged;
      return {};
    }
    relative.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    relative.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    limit = &relative;
  }
  if (futex(word, FUTEX_WAIT, expected, limit) == 0) {
    out = WaitResult::Woken;
    return {};
  }
  switch (errno) {
    case EAGAIN:
      out = WaitResult::ValueChanged;
      return {};
    case EINTR:
      out = WaitResult::Woken;
      return {};
    case ETIMEDOUT:
      out = WaitResult::TimedOut;
      return {};
    default:
      return detail::make_failure("futex", errno, "FUTEX_WAIT");
  }
}

detail::Failure wake(std::uint32_t* word, int count, int& woken) noexcept {
  const long n = futex(word, FUTEX_WAKE, static_cast<std::uint32_t>(count), nullptr);
  if (n < 0) return detail::make_failure("futex", errno, "FUTEX_WAKE");
  woken = static_cast<int>(n);
  return {};
}

}  // namespace

SharedFutex::SharedFutex(std::span<std::byte> bytes, std::size_t offset)
    : word_(&object_at<std::uint32_t>(bytes, offset)) {}

SharedFutex::SharedFutex(std::span<std::byte> bytes, std::size_t offset,
                         std::error_code& ec) noexcept
    : word_(object_at<std::uint32_t>(bytes, offset, ec)) {}

WaitResult SharedFutex::wait(std::uint32_t expected, std::chrono::nanoseconds timeout) const {
  WaitResult result{};
  if (detail::Failure failure = wait_on(word_, expected, timeout, result))
    detail::raise(failure, "");
  return result;
}

WaitResult SharedFutex::wait(std::uint32_t expected, std::chrono::nanoseconds timeout,
                             std::error_code& ec) const noexcept {
  WaitResult result{};
  detail::report(wait_on(word_, expected, timeout, result), ec);
  return result;
}

int SharedFutex::wake_one() const {
  int woken = 0;
  if (detail::Failure failure = wake(word_, 1, woken)) detail::raise(failure, "");
  return woken;
}

int SharedFutex::wake_one(std::error_code& ec) const noexcept {
  int woken = 0;
  detail::report(wake(word_, 1, woken), ec);
  return woken;
}

int SharedFutex::wake_all() const {
  int woken = 0;
  if (detail::Failure failure = wake(word_, INT_MAX, woken)) detail::raise(failure, "");
  return woken;
}

int SharedFutex::wake_all(std::error_code& ec) const noexcept {
  int woken = 0;
  detail::report(wake(word_, INT_MAX, woken), ec);
  return woken;
}

}  // namespace mmapxx
