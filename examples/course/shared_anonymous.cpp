// shared_anonymous: the slides' mmap_shared_anonymous.c, the answer to "can we do the same without
// a file?". Shared anonymous memory is inherited by fork and stays shared: the child sees the
// parent's 'b's and the parent sees the child's 'c's. (A private region would not be shared.)
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "course.hpp"
#include "mmapxx/mmapxx.hpp"

int main() {
  try {
    const std::size_t page = mmapxx::page_size();
    mmapxx::AnonymousRegion region(2 * page, {.shared = true});
    const std::span<std::byte> page1 = region.bytes().first(page);
    const std::span<std::byte> page2 = region.bytes().subspan(page, page);
    course::fill(page1, 'a');
    course::fill(page2, 'a');

    course::Turn page2_filled;
    std::fflush(stdout);
    const pid_t child = ::fork();
    if (child < 0) {
      std::perror("fork");
      return 1;
    }
    if (child == 0) {  // fils
      page2_filled.wait();
      std::printf("fils, page 1 : ");
      course::list(page1, 10);
      std::printf("fils, page 2 : ");
      course::list(page2, 10);
      course::fill(page1, 'c');
      std::fflush(stdout);
      ::_exit(0);
    }
    // père
    course::fill(page2, 'b');
    page2_filled.go();
    int status = 0;
    ::waitpid(child, &status, 0);
    std::printf("page 1 père : ");
    course::list(page1, 10);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shared_anonymous: %s\n", e.what());
    return 1;
  }
}
