// What the shared-memory tests share: names under this process's own prefix, checks that a test
// leaves nothing in /dev/shm or in System V's table, and a way to exec the helper program.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmapxx/error.hpp"

namespace mmapxx::test {

// The errno an mmapxx call failed with (empty when it did not throw).
inline std::error_code code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  return {};
}

// Every name starts with "/mmapxx-test-<pid>-", so parallel test processes never collide and a
// leak check sees only its own names.
inline std::string shm_prefix() {
  return "/mmapxx-test-" + std::to_string(::getpid()) + "-";
}

inline std::string shm_name(const std::string& tag) {
  static int serial = 0;
  return shm_prefix() + tag + "-" + std::to_string(++serial);
}

// Entries of /dev/shm that carry this process's test prefix.
inline std::set<std::string> shm_entries() {
  const std::string prefix = shm_prefix().substr(1);
  std::set<std::string> out;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.insert(e->d_name);
    ::closedir(d);
  }
  return out;
}

// System V segments created by this process, from /proc/sysvipc/shm (what `ipcs -m` reads).
inline std::set<int> sysv_segments() {
  std::ifstream in("/proc/sysvipc/shm");
  std::set<int> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long key = 0, perms = 0, size = 0, cpid = 0;
    int id = 0;
    fields >> key >> id >> perms >> size >> cpid;
    if (cpid == ::getpid()) out.insert(id);
  }
  return out;
}

// Declared first in a test: fails the test if it leaves a name or a segment behind.
class LeakCheck {
 public:
  LeakCheck() : names_(shm_entries()), segments_(sysv_segments()) {}
  ~LeakCheck() {
    CHECK(shm_entries() == names_);
    CHECK(sysv_segments() == segments_);
  }
  LeakCheck(const LeakCheck&) = delete;
  LeakCheck& operator=(const LeakCheck&) = delete;

 private:
  std::set<std::string> names_;
  std::set<int> segments_;
};

struct ChildResult {
  int status = -1;
  std::string output;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Forks and execs the helper program with `args`; `before_exec` runs in the child first (only
// async-signal-safe calls there). Returns the exit status and everything written to stdout.
template <class BeforeExec>
ChildResult run_helper(const std::vector<std::string>& args, BeforeExec before_exec) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> all{MMAPXX_SHM_HELPER};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    before_exec();
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ChildResult result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

inline ChildResult run_helper(const std::vector<std::string>& args) {
  return run_helper(args, [] {});
}

}  // namespace mmapxx::test
