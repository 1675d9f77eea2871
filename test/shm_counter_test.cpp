#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "mmapxx/atomic.hpp"
#include "mmapxx/shared_memory.hpp"
#include "shm_barrier.hpp"
#include "shm_support.hpp"
#include "support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

// Reaps every child in whatever order they end; if one fails, opens the start gate so the others
// do not wait for it forever.
void wait_all(std::size_t children, std::span<std::byte> page) {
  for (std::size_t reaped = 0; reaped < children; ++reaped) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    REQUIRE(pid > 0);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CHECK(ok);
    if (!ok) open_gate(page);
  }
}

// N forked processes each add 1 to the counter M times.
std::uint64_t count_with_fork(int processes, unsigned long times) {
  auto object = SharedMemoryObject::create_unique(shm_prefix() + "fork-");
  object.set_remove_on_destroy(true);
  object.resize(4096);
  auto map = object.map<Access::Write>();
  SharedCounter counter(map.bytes(), counter_offset);
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      arrive_and_wait(map.bytes(), static_cast<std::uint64_t>(processes));
      for (unsigned long i = 0; i < times; ++i) counter.add();
      ::_exit(0);
    }
  }
  wait_all(static_cast<std::size_t>(processes), map.bytes());
  return counter.load();
}

// N exec'd helper processes each open the object by name and add 1 to the counter M times.
std::uint64_t count_with_exec(int processes, unsigned long times) {
  auto object = SharedMemoryObject::create_unique(shm_prefix() + "exec-");
  object.set_remove_on_destroy(true);
  object.resize(4096);
  auto map = object.map<Access::Write>();
  std::string name = object.name();
  std::string path = MMAPXX_SHM_HELPER;
  std::string count = "count";
  std::string m = std::to_string(times);
  std::string n = std::to_string(processes);
  char* argv[] = {path.data(), count.data(), name.data(), m.data(), n.data(), nullptr};
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execv(argv[0], argv);
      ::_exit(127);
    }
  }
  wait_all(static_cast<std::size_t>(processes), map.bytes());
  return SharedCounter(map.bytes(), counter_offset).load();
}

}  // namespace

TEST_CASE("object_at and atomic_at check size and alignment", "[counter]") {
  alignas(16) std::byte buffer[64] = {};
  std::span<std::byte> bytes(buffer);
  CHECK(&object_at<std::uint64_t>(bytes, 8) == reinterpret_cast<std::uint64_t*>(buffer + 8));
  CHECK(code_of([&] { object_at<std::uint64_t>(bytes, 60); }) == std::errc::invalid_argument);
  CHECK(code_of([&] { object_at<std::uint64_t>(bytes, 100); }) == std::errc::invalid_argument);
  CHECK(code_of([&] { object_at<std::uint64_t>(bytes, 4); }) == std::errc::invalid_argument);
  CHECK(code_of([&] { object_at<std::uint32_t>(bytes, 4); }) == std::error_code{});
  CHECK(code_of([&] { atomic_at<std::uint64_t>(bytes, 12); }) == std::errc::invalid_argument);
  atomic_at<std::uint64_t>(bytes, 16).store(7);
  CHECK(object_at<std::uint64_t>(std::span<const std::byte>(bytes), 16) == 7);
  CHECK(code_of([&] { SharedCounter(bytes, 3); }) == std::errc::invalid_argument);
  SharedCounter counter(bytes, 16);
  CHECK(counter.add(3) == 10);
  CHECK(counter.load() == 10);
}

TEST_CASE("8 forked processes x 100000 increments lose no count", "[counter]") {
  LeakCheck leaks;
  CHECK(count_with_fork(8, 100000) == 800000);
}

TEST_CASE("8 exec'd processes x 100000 increments lose no count", "[counter]") {
  LeakCheck leaks;
  CHECK(count_with_exec(8, 100000) == 800000);
}

// Registered only with -Dstress=true (meson test shm_stress).
TEST_CASE("stress: 16 processes x 10000000 increments, fork and exec", "[.][stress]") {
  LeakCheck leaks;
  CHECK(count_with_fork(16, 10000000) == 160000000);
  CHECK(count_with_exec(16, 10000000) == 160000000);
}
