// Two-process scenarios: a producer in a forked child, the consumer here.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace mmbench {

// Runs `child` in a forked process and `parent` here; the child's failure is an error here,
// named by `what`.
template <class Child, class Parent>
void with_child(Child child, Parent parent, const char* what) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 0;
    try {
      child();
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  parent();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(std::string(what) + ": producer process failed");
}

}  // namespace mmbench
