// Running the installed tools from tests: fork/exec with stdout and stderr captured in files,
// optionally stopped at their test pause point (MMAPXX_TOOL_TEST_PAUSE) so a test can truncate
// the input between "mapped" and "read" deterministically.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace mmapxx::test {

struct ToolResult {
  int status = 0;  // as from waitpid
  std::string out;
  std::string err;

  bool exited(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
};

// A scratch directory under the build tree: a real disk filesystem even where /tmp is tmpfs
// (page-cache eviction and SEEK_DATA need one).
class ScratchDir : public TempDir {
 public:
  ScratchDir() : TempDir(TOOLS_SCRATCH) {}

  // Names in the directory that start with '.': what a failed mmcp must not leave behind.
  std::vector<std::string> hidden() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path()))
      if (e.path().filename().string().front() == '.') names.push_back(e.path().filename());
    return names;
  }
};

class ToolRun {
 public:
  // Starts argv[0] with `pause` deciding whether it stops at its test pause point.
  ToolRun(const ScratchDir& dir, std::vector<std::string> argv, bool pause = false,
          int stdout_fd = -1)
      : out_(dir.file("stdout-" + std::to_string(++serial()))),
        err_(dir.file("stderr-" + std::to_string(serial()))) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int out = stdout_fd >= 0 ? stdout_fd : ::open(out_.c_str(), O_WRONLY | O_CREAT, 0600);
      const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT, 0600);
      ::dup2(out, 1);
      ::dup2(err, 2);
      if (pause) ::setenv("MMAPXX_TOOL_TEST_PAUSE", "1", 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }

  // Waits until the tool stops itself at the pause point; false if it ended instead.
  bool wait_paused() {
    int status = 0;
    while (::waitpid(pid_, &status, WUNTRACED) < 0) {
    }
    if (WIFSTOPPED(status)) return true;
    status_ = status;
    done_ = true;
    return false;
  }
  void resume() { ::kill(pid_, SIGCONT); }
  void signal(int sig) { ::kill(pid_, sig); }
  std::string err_so_far() const { return read_file(err_); }

  ToolResult finish() {
    if (!done_)
      while (::waitpid(pid_, &status_, 0) < 0) {
      }
    done_ = true;
    return {status_, read_file(out_), read_file(err_)};
  }

 private:
  static int& serial() {
    static int n = 0;
    return n;
  }
  std::string out_, err_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool done_ = false;
};

inline ToolResult run_tool(const ScratchDir& dir, std::vector<std::string> argv) {
  return ToolRun(dir, std::move(argv)).finish();
}

// True when both files hold the same bytes (pread in 1 MiB pieces: fast for large files).
// `size` pseudo-random bytes, the same for the same seed: contents a copy must reproduce exactly.
inline std::string random_bytes(std::size_t size, unsigned seed = 7) {
  std::mt19937_64 rng(seed);
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = rng();
    std::memcpy(s.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  return s;
}

inline bool same_contents(const std::string& a, const std::string& b) {
  const int fa = ::open(a.c_str(), O_RDONLY | O_CLOEXEC);
  const int fb = ::open(b.c_str(), O_RDONLY | O_CLOEXEC);
  bool same = fa >= 0 && fb >= 0;
  std::vector<char> x(1 << 20), y(1 << 20);
  for (off_t at = 0; same;) {
    const ssize_t n = ::pread(fa, x.data(), x.size(), at);
    const ssize_t m = ::pread(fb, y.data(), y.size(), at);
    same = n == m && n >= 0 && std::memcmp(x.data(), y.data(), static_cast<std::size_t>(n)) == 0;
    if (n <= 0) break;
    at += n;
  }
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  return same;
}

// Output of a shell pipeline (for reference tools: tail, head, fincore).
inline std::string shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed");
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) out.append(buffer, n);
  ::pclose(p);
  return out;
}

}  // namespace mmapxx::test
