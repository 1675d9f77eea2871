// SharedFutex and RobustMutex across real processes: a waiter in one process woken from another,
// timeouts that expire, and a mutex whose owner is killed with SIGKILL while holding it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/atomic.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/robust_mutex.hpp"
#include "mmapxx/shared_futex.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using mmapxx::LockResult;
using mmapxx::RobustMutex;
using mmapxx::SharedFutex;
using mmapxx::WaitResult;

namespace {

using Clock = std::chrono::steady_clock;

// The errno an mmapxx call failed with (empty when it did not throw).
std::error_code code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const mmapxx::Error& e) {
    return e.code();
  }
  return {};
}

// Polls an atomic word until it holds `value` (test scaffolding only, bounded at 10 s).
bool await_value(std::atomic_ref<std::uint32_t> word, std::uint32_t value) {
  const auto deadline = Clock::now() + 10s;
  while (word.load() != value)
    if (Clock::now() > deadline)
      return false;
    else
      std::this_thread::sleep_for(1ms);
  return true;
}

pid_t fork_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 98;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

}  // namespace

TEST_CASE("SharedFutex wakes a waiter in another process mapping the memory elsewhere",
          "[sync][futex]") {
  // The child maps the memfd itself after fork, so the word sits at a different address in each
  // process: a private futex would never wake it.
  mmapxx::SealedMemory memory("futex-" + std::to_string(::getpid()), 4096);
  auto parent_view = memory.map<mmapxx::Access::Write>();
  SharedFutex futex(parent_view.bytes(), 0);
  auto ready = mmapxx::atomic_at<std::uint32_t>(parent_view.bytes(), 4);

  const pid_t child = fork_child([&] {
    auto other = memory.map<mmapxx::Access::Write>();  // a second mapping of the same memory
    if (other.data() == parent_view.data()) return 3;
    SharedFutex mine(other.bytes(), 0);
    mmapxx::atomic_at<std::uint32_t>(other.bytes(), 4).store(1);
    while (mine.word().load() == 0) {
      const auto start = Clock::now();
      const WaitResult result = mine.wait(0, 10s);
      if (result == WaitResult::TimedOut) return 4;
      if (Clock::now() - start > 9s) return 5;
    }
    return mine.word().load() == 7 ? 0 : 6;
  });
  REQUIRE(await_value(ready, 1));
  std::this_thread::sleep_for(50ms);  // let the child fall asleep in FUTEX_WAIT
  futex.word().store(7);
  int woken = 0;
  const auto deadline = Clock::now() + 5s;
  do woken += futex.wake_one();
  while (woken == 0 && Clock::now() < deadline && (std::this_thread::sleep_for(1ms), true) &&
         ::waitpid(child, nullptr, WNOHANG) == 0);
  const int status = wait_status(child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("SharedFutex wait times out, reports a changed value, and never blocks on zero timeout",
          "[sync][futex]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  SharedFutex futex(region.bytes(), 8);

  auto start = Clock::now();
  CHECK(futex.wait(0, 50ms) == WaitResult::TimedOut);
  CHECK(Clock::now() - start >= 50ms);

  CHECK(futex.wait(0, 0ns) == WaitResult::TimedOut);
  futex.word().store(1);
  CHECK(futex.wait(0, 0ns) == WaitResult::ValueChanged);
  CHECK(futex.wait(0, 10s) == WaitResult::ValueChanged);  // does not sleep: the word is 1
  CHECK(futex.wake_all() == 0);

  std::error_code ec;
  CHECK(futex.wait(1, 1ms, ec) == WaitResult::TimedOut);
  CHECK(!ec);
  CHECK(futex.wake_one(ec) == 0);
  CHECK(!ec);
}

TEST_CASE("SharedFutex refuses a misaligned or out-of-range word", "[sync][futex]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  CHECK(code_of([&] { SharedFutex(region.bytes(), 2); }) == std::errc::invalid_argument);
  CHECK(code_of([&] { SharedFutex(region.bytes(), 4094); }) == std::errc::invalid_argument);
}

TEST_CASE("SharedFutex wake_all wakes every waiting process", "[sync][futex]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  SharedFutex futex(region.bytes(), 0);
  auto sleepers = mmapxx::atomic_at<std::uint32_t>(region.bytes(), 4);
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i)
    children.push_back(fork_child([&] {
      sleepers.fetch_add(1);
      while (futex.word().load() == 0)
        if (futex.wait(0, 10s) == WaitResult::TimedOut) return 4;
      return 0;
    }));
  REQUIRE(await_value(sleepers, 3));
  std::this_thread::sleep_for(50ms);
  futex.word().store(1);
  futex.wake_all();
  for (pid_t child : children) {
    const int status = wait_status(child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("RobustMutex: the owner is SIGKILLed holding it, the next locker learns OwnerDied",
          "[sync][robust]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  RobustMutex mutex = RobustMutex::create(region.bytes(), 64);
  auto held = mmapxx::atomic_at<std::uint32_t>(region.bytes(), 0);

  const pid_t owner = fork_child([&] {
    RobustMutex mine = RobustMutex::attach(region.bytes(), 64);
    if (mine.lock() != LockResult::Acquired) return 3;
    held.store(1);
    ::pause();  // killed here, holding the lock
    return 4;
  });
  REQUIRE(await_value(held, 1));
  CHECK(mutex.try_lock() == LockResult::Busy);
  CHECK(mutex.lock(20ms) == LockResult::Busy);  // a timed lock that expires

  REQUIRE(::kill(owner, SIGKILL) == 0);
  const int status = wait_status(owner);
  REQUIRE(WIFSIGNALED(status));

  REQUIRE(mutex.lock(5s) == LockResult::OwnerDied);
  mutex.consistent();
  mutex.unlock();
  CHECK(mutex.lock() == LockResult::Acquired);
  CHECK(code_of([&] { mutex.consistent(); }) == std::errc::invalid_argument);  // not owner-died
  mutex.unlock();
  CHECK(code_of([&] { mutex.unlock(); }) == std::errc::operation_not_permitted);
}

TEST_CASE("RobustMutex: a waiter blocked in lock() wakes with OwnerDied when the owner dies",
          "[sync][robust]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  RobustMutex mutex = RobustMutex::create(region.bytes());
  auto held = mmapxx::atomic_at<std::uint32_t>(region.bytes(), 128);
  const pid_t owner = fork_child([&] {
    if (mutex.lock() != LockResult::Acquired) return 3;
    held.store(1);
    ::pause();
    return 4;
  });
  REQUIRE(await_value(held, 1));
  std::thread killer([&] {
    std::this_thread::sleep_for(50ms);
    ::kill(owner, SIGKILL);
  });
  const auto start = Clock::now();
  const LockResult result = mutex.lock(10s);
  killer.join();
  wait_status(owner);
  CHECK(result == LockResult::OwnerDied);
  CHECK(Clock::now() - start < 9s);
  mutex.consistent();
  mutex.unlock();
}

TEST_CASE("RobustMutex: unlocking without consistent() leaves it ENOTRECOVERABLE, a clear Error",
          "[sync][robust]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  RobustMutex mutex = RobustMutex::create(region.bytes());
  const int status = mmapxx::test::run_in_child([&] {
    (void)mutex.lock();
    ::raise(SIGKILL);
    return 0;
  });
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(mutex.lock() == LockResult::OwnerDied);
  mutex.unlock();  // no consistent(): the data is declared lost
  try {
    (void)mutex.lock();
    FAIL("lock() succeeded on an unrecoverable mutex");
  } catch (const mmapxx::Error& e) {
    CHECK(e.code() == std::errc::state_not_recoverable);
    CHECK(std::string(e.what()).find("consistent()") != std::string::npos);
  }
  std::error_code ec;
  CHECK(mutex.try_lock(ec) == LockResult::Acquired);  // the result is meaningless with ec set
  CHECK(ec == std::errc::state_not_recoverable);
}

TEST_CASE("RobustMutex: a relock by the owner, a bad place and error_code overloads",
          "[sync][robust]") {
  mmapxx::AnonymousRegion region(4096, {.shared = true});
  std::error_code ec;
  RobustMutex::create(region.bytes(), 4090, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(code_of([&] { RobustMutex::attach(region.bytes(), 3); }) == std::errc::invalid_argument);
  RobustMutex mutex = RobustMutex::create(region.bytes(), 0, ec);
  REQUIRE(!ec);
  CHECK(mutex.lock(mmapxx::no_timeout, ec) == LockResult::Acquired);
  CHECK(!ec);
  CHECK(code_of([&] { (void)mutex.lock(); }) == std::errc::resource_deadlock_would_occur);
  mutex.unlock(ec);
  CHECK(!ec);
  // The lock is usable from a child after exec-free fork and back.
  const int status = mmapxx::test::run_in_child([&] {
    if (mutex.lock() != LockResult::Acquired) return 3;
    mutex.unlock();
    return 0;
  });
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
