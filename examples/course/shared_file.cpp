// shared_file: the slides' mmap_shared_file.c. A parent and its child share a two-page file
// `temp` through a shared mapping: what one writes, the other reads, and the file keeps it.
// Usage: shared_file [SECONDS]   -- the child also sleeps SECONDS (default 0) before reading; the
// order of events does not depend on it, since the parent tells the child when page 2 is filled.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "course.hpp"
#include "mmapxx/mmapxx.hpp"

int main(int argc, char** argv) {
  try {
    const unsigned seconds = argc > 1 ? std::stoul(argv[1]) : 0;
    const std::size_t page = mmapxx::page_size();

    // Two pages of 'a', written to the file the ordinary way.
    {
      const std::string pages(2 * page, 'a');
      std::FILE* f = std::fopen("temp", "w");
      if (f == nullptr || std::fwrite(pages.data(), 1, pages.size(), f) != pages.size() ||
          std::fclose(f) != 0) {
        std::perror("temp");
        return 1;
      }
      std::printf("remplissage du fichier\n");
    }

    mmapxx::MappedFile<mmapxx::Access::Write> file("temp");
    const std::span<std::byte> page1 = file.bytes().first(page);
    const std::span<std::byte> page2 = file.bytes().subspan(page, page);

    course::Turn page2_filled;
    std::fflush(stdout);  // else the child would print the parent's buffered lines again
    const pid_t child = ::fork();
    if (child < 0) {
      std::perror("fork");
      return 1;
    }
    if (child == 0) {  // fils
      page2_filled.wait();
      ::sleep(seconds);
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
    std::fprintf(stderr, "shared_file: %s\n", e.what());
    return 1;
  }
}
