// A process-shared robust pthread mutex placed in shared memory: mmapxx/robust_mutex.hpp.
#include "mmapxx/robust_mutex.hpp"

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <new>
#include <string>

#include "mmapxx/error.hpp"

namespace mmapxx {

namespace {

detail::Failure locate(const char* operation, std::span<std::byte> bytes, std::size_t offset,
                       pthread_mutex_t*& out) noexcept {
  if (offset > bytes.size() || RobustMutex::size > bytes.size() - offset)
    return detail::invalid_argument(operation,
                                    "a mutex of %zu bytes at offset %zu does not fit in %zu bytes",
                                    RobustMutex::size, offset, bytes.size());
  std::byte* at = bytes.data() + offset;
  if (reinterpret_cast<std::uintptr_t>(at) % RobustMutex::alignment != 0)
    return detail::invalid_argument(operation, "offset %zu is not aligned to %zu", offset,
                                    RobustMutex::alignment);
  out = reinterpret_cast<pthread_mutex_t*>(at);
  return {};
}

detail::Failure initialise(pthread_mutex_t* mutex) noexcept {
  pthread_mutexattr_t attributes;
  int code = ::pthread_mutexattr_init(&attributes);
  if (code != 0) return detail::make_failure("pthread_mutexattr_init", code);
  code = ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (code == 0) code = ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  if (code == 0) code = ::pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
  if (code == 0) code = ::pthread_mutex_init(::new (mutex) pthread_mutex_t, &attributes);
  ::pthread_mutexattr_destroy(&attributes);
  if (code != 0) return detail::make_failure("pthread_mutex_init", code);
  return {};
}

detail::Failure create_at(std::span<std::byte> bytes, std::size_t offset,
                          pthread_mutex_t*& out) noexcept {
  if (detail::Failure failure = locate("pthread_mutex_init", bytes, offset, out)) return failure;
  return initialise(out);
}

// Translates a pthread lock return code into a result or a failure.
detail::Failure lock_outcome(const char* operation, int code, LockResult& out) noexcept {
  switch (code) {
    case 0:
      out = LockResult::Acquired;
      return {};
    case EOWNERDEAD:
      out = LockResult::OwnerDied;
      return {};
    case EBUSY:
    case ETIMEDOUT:
      out = LockResult::Busy;
      return {};
    case ENOTRECOVERABLE:
      return detail::make_failure(
          operation, code,
          "a previous owner died holding it and consistent() was never called: the protected "
          "data cannot be trusted; create() the mutex again once no process uses it");
    case EDEADLK:
      return detail::make_failure(operation, code, "this thread already owns the mutex");
    default:
      return detail::make_failure(operation, code);
  }
}

detail::Failure null_mutex(const char* operation) noexcept {
  return detail::invalid_argument(operation, "no mutex: create() or attach() failed");
}

detail::Failure lock_for(pthread_mutex_t* mutex, std::chrono::nanoseconds timeout,
                         LockResult& out) noexcept {
  if (mutex == nullptr) return null_mutex("pthread_mutex_lock");
  if (timeout == no_timeout)
    return lock_outcome("pthread_mutex_lock", ::pthread_mutex_lock(mutex), out);
  if (timeout.count() <= 0)
    return lock_outcome("pthread_mutex_trylock", ::pthread_mutex_trylock(mutex), out);
  timespec deadline{};
  ::clock_gettime(CLOCK_MONOTONIC, &deadline);
  const auto total = deadline.tv_nsec + timeout.count() % 1'000'000'000;
  deadline.tv_sec += static_cast<time_t>(timeout.count() / 1'000'000'000 + total / 1'000'000'000);
  deadline.tv_nsec = static_cast<long>(total % 1'000'000'000);
  return lock_outcome("pthread_mutex_clocklock",
                      ::pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &deadline), out);
}

template <class Call>
detail::Failure call_on(const char* operation, pthread_mutex_t* mutex, Call call) noexcept {
  if (mutex == nullptr) return null_mutex(operation);
  if (const int code = call(mutex); code != 0) return detail::make_failure(operation, code);
  return {};
}

}  // namespace

RobustMutex RobustMutex::create(std::span<std::byte> bytes, std::size_t offset) {
  pthread_mutex_t* mutex = nullptr;
  if (detail::Failure failure = create_at(bytes, offset, mutex)) detail::raise(failure, "");
  return RobustMutex(mutex);
}

RobustMutex RobustMutex::create(std::span<std::byte> bytes, std::size_t offset,
                                std::error_code& ec) noexcept {
  pthread_mutex_t* mutex = nullptr;
  if (detail::report(create_at(bytes, offset, mutex), ec)) return RobustMutex(nullptr);
  return RobustMutex(mutex);
}

RobustMutex RobustMutex::attach(std::span<std::byte> bytes, std::size_t offset) {
  pthread_mutex_t* mutex = nullptr;
  if (detail::Failure failure = locate("attach", bytes, offset, mutex)) detail::raise(failure, "");
  return RobustMutex(mutex);
}

RobustMutex RobustMutex::attach(std::span<std::byte> bytes, std::size_t offset,
                                std::error_code& ec) noexcept {
  pthread_mutex_t* mutex = nullptr;
  if (detail::report(locate("attach", bytes, offset, mutex), ec)) return RobustMutex(nullptr);
  return RobustMutex(mutex);
}

LockResult RobustMutex::lock(std::chrono::nanoseconds timeout) {
  LockResult result{};
  if (detail::Failure failure = lock_for(mutex_, timeout, result)) detail::raise(failure, "");
  return result;
}

LockResult RobustMutex::lock(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  LockResult result{};
  detail::report(lock_for(mutex_, timeout, result), ec);
  return result;
}

LockResult RobustMutex::try_lock() {
  return lock(std::chrono::nanoseconds::zero());
}

LockResult RobustMutex::try_lock(std::error_code& ec) noexcept {
  return lock(std::chrono::nanoseconds::zero(), ec);
}

void RobustMutex::consistent() {
  if (detail::Failure failure =
          call_on("pthread_mutex_consistent", mutex_, ::pthread_mutex_consistent))
    detail::raise(failure, "");
}

void RobustMutex::consistent(std::error_code& ec) noexcept {
  detail::report(call_on("pthread_mutex_consistent", mutex_, ::pthread_mutex_consistent), ec);
}

void RobustMutex::unlock() {
  if (detail::Failure failure = call_on("pthread_mutex_unlock", mutex_, ::pthread_mutex_unlock))
    detail::raise(failure, "");
}

void RobustMutex::unlock(std::error_code& ec) noexcept {
  detail::report(call_on("pthread_mutex_unlock", mutex_, ::pthread_mutex_unlock), ec);
}

}  // namespace mmapxx
