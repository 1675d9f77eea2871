// dev_zero: the Wikipedia mmap example. Two shared regions, one anonymous (MAP_ANONYMOUS) and one
// backed by /dev/zero (the historical way to get the same thing), behave alike across fork: the
// child sees the string the parent writes after the fork.
// The slide's sleep(2)/sleep(3) become turns taken through pipes, so the output order is fixed.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "course.hpp"
#include "mmapxx/mmapxx.hpp"

namespace {

void show(mmapxx::AnonymousRegion& anon, mmapxx::AnonymousRegion& zero) {
  std::printf("PID %d:\tanonymous %s, zero-backed %s\n", static_cast<int>(::getpid()),
              reinterpret_cast<const char*>(anon.data()),
              reinterpret_cast<const char*>(zero.data()));
}

void copy(mmapxx::AnonymousRegion& region, const char* text) {
  std::strcpy(reinterpret_cast<char*>(region.data()), text);
}

}  // namespace

int main() {
  try {
    mmapxx::AnonymousRegion anon(4096, {.shared = true});
    mmapxx::AnonymousRegion zero(4096, {.shared = true, .dev_zero = true});
    copy(anon, "string 1");
    copy(zero, "string 1");
    show(anon, zero);

    course::Turn child_shown, parent_wrote;
    std::fflush(stdout);
    const pid_t child = ::fork();
    if (child < 0) {
      std::perror("fork");
      return 1;
    }
    if (child == 0) {
      show(anon, zero);
      child_shown.go();
      parent_wrote.wait();
      show(anon, zero);  // the parent's "string 2", in both regions
      std::fflush(stdout);
      ::_exit(0);
    }
    child_shown.wait();
    copy(anon, "string 2");
    copy(zero, "string 2");
    show(anon, zero);
    parent_wrote.go();
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dev_zero: %s\n", e.what());
    return 1;
  }
}
