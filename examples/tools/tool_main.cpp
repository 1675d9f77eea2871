#include "tool_main.hpp"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mmapxx/error.hpp"

namespace mmtools {

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) noexcept {
  const std::string name = app.get_name();
  try {
    // A closed pipe must be an EPIPE we can handle, never a death by signal.
    ::signal(SIGPIPE, SIG_IGN);
    app.set_version_flag("--version", MMAPXX_VERSION);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int code = app.exit(e);
      return code == 0 ? 0 : 2;
    }
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", name.c_str(), e.what());
    return 2;
  } catch (const QuietFailure&) {
    return 1;
  } catch (const Failure& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return 1;
  } catch (const mmapxx::Error& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return 1;
  }
}

void fail_errno(const std::string& what, int error) {
  throw Failure(what + ": " + std::strerror(error));
}

void fail_truncated(const std::string& name, std::uint64_t offset, const std::string& how) {
  throw Failure(name + ": file was truncated while reading (" + how + " at offset " +
                std::to_string(offset) + ")");
}

void pause_for_test() noexcept {
  // Atomic: mmcp -j reaches it from several threads; only the first stops the process.
  static std::atomic<bool> paused{false};
  if (std::getenv("MMAPXX_TOOL_TEST_PAUSE") == nullptr || paused.exchange(true)) return;
  ::raise(SIGSTOP);
}

}  // namespace mmtools
