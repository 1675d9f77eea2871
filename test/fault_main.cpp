// The fault tests' own main: Catch2 is built with CATCH_CONFIG_NO_POSIX_SIGNALS so that its
// handlers do not sit in front of ours, and "--scenario NAME" runs one fresh-process scenario.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstring>

#include "fault_support.hpp"

namespace mmapxx::test {

namespace {
struct sigaction initial_segv;
struct sigaction initial_bus;
}  // namespace

void record_initial_actions() {
  ::sigaction(SIGSEGV, nullptr, &initial_segv);
  ::sigaction(SIGBUS, nullptr, &initial_bus);
}

const struct sigaction& initial_action(int signal) {
  return signal == SIGBUS ? initial_bus : initial_segv;
}

int run_fresh(const std::string& scenario) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const struct rlimit no_core { 0, 0 };
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::execl("/proc/self/exe", "fault_scenario", "--scenario", scenario.c_str(), nullptr);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

}  // namespace mmapxx::test

int main(int argc, char** argv) {
  mmapxx::test::record_initial_actions();
  if (argc == 3 && std::strcmp(argv[1], "--scenario") == 0)
    return mmapxx::test::run_scenario(argv[2]);
  return Catch::Session().run(argc, argv);
}
