// What the fault tests share: volatile accesses the compiler cannot drop, a file truncated under
// its mapping, and ways to compare a child's death with and without mmapxx's handler.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <functional>
#include <mmapxx/mmapxx.hpp>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "support.hpp"

namespace mmapxx::test {

// no_sanitize("null"): the fault tests load through null on purpose (the kernel must fault, and
// the handler must pass it on); UBSan would stop the process first.
__attribute__((no_sanitize("null"))) inline std::byte load(const std::byte* p) {
  return *static_cast<const volatile std::byte*>(p);
}
inline void store(std::byte* p, std::byte value) {
  *static_cast<volatile std::byte*>(p) = value;
}

// A file of `mapped_pages` pages, mapped whole, then truncated to `kept_bytes`: reading a page
// past the new end is SIGBUS.
struct TruncatedFile {
  TempDir dir;
  std::string path = dir.file("shrunk.bin");
  MappedFile<Access::Read> file;

  explicit TruncatedFile(std::size_t mapped_pages = 4, std::size_t kept_bytes = page_size(),
                         const MapOptions& options = {}) {
    write_file(path, pattern(mapped_pages * page_size()));
    file = MappedFile<Access::Read>(path, options);
    if (::truncate(path.c_str(), static_cast<off_t>(kept_bytes)) != 0)
      throw std::runtime_error("truncate failed");
  }
};

// The SIGSEGV/SIGBUS actions the process started with, before mmapxx installed anything
// (recorded by fault_main.cpp first thing in main).
const struct sigaction& initial_action(int signal);
void record_initial_actions();

// Runs a scenario of fault_scenarios.cpp in a freshly exec'd copy of this program, so that it
// starts with no mmapxx handler installed; returns the wait status.
int run_fresh(const std::string& scenario);
int run_scenario(const std::string& scenario);  // in the fresh process; its exit code

// Runs body in a child without core dumps; with `without_mmapxx`, the child first puts back the
// initial actions, i.e. it behaves as the same program would without mmapxx.
inline int run_dying_child(const std::function<void()>& body, bool without_mmapxx = false) {
  return run_in_child([&] {
    const struct rlimit no_core { 0, 0 };
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (without_mmapxx) {
      ::sigaction(SIGSEGV, &initial_action(SIGSEGV), nullptr);
      ::sigaction(SIGBUS, &initial_action(SIGBUS), nullptr);
    }
    body();
    return 0;
  });
}

inline bool initial_is_default(int signal) {
  const struct sigaction& a = initial_action(signal);
  return !(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL;
}

// The FaultError that guarded(body) throws; a test failure when it throws none.
inline FaultError catch_fault(const std::function<void()>& body) {
  try {
    guarded(body);
  } catch (const FaultError& e) {
    return e;
  }
  FAIL("guarded() did not throw FaultError");
  throw std::logic_error("unreachable");
}

}  // namespace mmapxx::test
