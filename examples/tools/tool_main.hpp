// What every tool shares: exit codes (0 success, 1 failure, 2 usage error), messages on stderr
// as "tool: ...", SIGPIPE ignored, and the test hook that makes truncation races deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace CLI {
class App;
}

namespace mmtools {

struct Failure : std::runtime_error {  // exit 1; what() is printed after "tool: "
  using std::runtime_error::runtime_error;
};
struct UsageError : std::runtime_error {  // exit 2
  using std::runtime_error::runtime_error;
};
struct QuietFailure {};  // exit 1 without a message (the reader of our output went away)

// Parses the command line, then runs body. Every exception becomes a message and an exit code.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) noexcept;

[[noreturn]] void fail_errno(const std::string& what, int error);
[[noreturn]] void fail_truncated(const std::string& name, std::uint64_t offset,
                                 const std::string& how);

// When MMAPXX_TOOL_TEST_PAUSE is set, stops the process (SIGSTOP) the first time it is reached,
// right after the first mapping is made, so a test can truncate the file and then SIGCONT it.
void pause_for_test() noexcept;

}  // namespace mmtools
