// Faults that are not ours die (or reach the program's own handler) exactly as without mmapxx.
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <thread>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

// The child's death with mmapxx's handler installed must equal its death without it; with the
// default action that is death by `signal`.
void check_dies_as_without_mmapxx(const std::function<void()>& body, int signal) {
  guarded([] {});  // make sure our handler is installed (children inherit it)
  const int with = run_dying_child(body);
  const int without = run_dying_child(body, true);
  CHECK(with == without);
  if (initial_is_default(signal)) {
    CHECK(WIFSIGNALED(with));
    CHECK(WTERMSIG(with) == signal);
  }
}

volatile bool stop_recursion = false;

[[gnu::noinline]] int recurse(int depth) {
  if (stop_recursion) return 0;
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return recurse(depth + 1) + frame[0];
}

}  // namespace

TEST_CASE("the same faults outside guarded kill with the same signal") {
  TruncatedFile t;
  check_dies_as_without_mmapxx([&] { load(t.file.data() + 2 * page_size()); }, SIGBUS);

  AnonymousRegion region(2 * page_size());
  auto read_only = region.protect(Protection::Read, 0, page_size());
  check_dies_as_without_mmapxx([&] { store(region.data(), std::byte{1}); }, SIGSEGV);
  auto none = region.protect(Protection::None, page_size(), page_size());
  check_dies_as_without_mmapxx([&] { load(region.data() + page_size()); }, SIGSEGV);
}

TEST_CASE("a null-pointer dereference inside guarded is not ours") {
  check_dies_as_without_mmapxx(
      [] {
        guarded([] {
          const std::byte* volatile null = nullptr;
          load(null);
        });
      },
      SIGSEGV);
}

TEST_CASE("SIGBUS/SIGSEGV sent by a user are not swallowed, even inside guarded") {
  TruncatedFile t;  // a registered mapping exists; the sent signal must still not be claimed
  check_dies_as_without_mmapxx([] { guarded([] { ::raise(SIGBUS); }); }, SIGBUS);
  check_dies_as_without_mmapxx([] { guarded([] { ::kill(::getpid(), SIGBUS); }); }, SIGBUS);
  check_dies_as_without_mmapxx([] { guarded([] { ::raise(SIGSEGV); }); }, SIGSEGV);
  check_dies_as_without_mmapxx(
      [] {
        guarded([] {
          union sigval value {};
          ::sigqueue(::getpid(), SIGSEGV, value);
        });
      },
      SIGSEGV);
}

TEST_CASE("a sent signal whose si_addr names a mapped byte is still not claimed") {
  TruncatedFile t;
  void* inside = const_cast<std::byte*>(t.file.data()) + 2 * page_size();
  check_dies_as_without_mmapxx(
      [&] {
        guarded([&] {
          siginfo_t info{};
          info.si_signo = SIGBUS;
          info.si_code = SI_QUEUE;  // user-sent; the kernel lets a process forge this to itself
          info.si_addr = inside;
          ::syscall(SYS_rt_tgsigqueueinfo, ::getpid(), ::gettid(), SIGBUS, &info);
        });
      },
      SIGBUS);
}

TEST_CASE("a stack overflow inside guarded dies instead of looping, on any thread") {
  check_dies_as_without_mmapxx([] { guarded([] { recurse(0); }); }, SIGSEGV);
  check_dies_as_without_mmapxx(
      [] {
        std::thread thread([] { guarded([] { recurse(0); }); });
        thread.join();
      },
      SIGSEGV);
}

TEST_CASE("a handler installed before mmapxx still gets the faults that are not ours") {
  const int with_info = run_fresh("user-siginfo-handler");
  CHECK(WIFEXITED(with_info));
  CHECK(WEXITSTATUS(with_info) == 0);
  const int plain = run_fresh("user-plain-handler");
  CHECK(WIFEXITED(plain));
  CHECK(WEXITSTATUS(plain) == 0);
}

TEST_CASE("SIG_IGN before mmapxx: sent signals stay ignored, real faults still kill") {
  const int status = run_fresh("ignored");
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
}
