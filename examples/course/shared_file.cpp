// shared_file: the slides' mmap_shared_file.c. A parent and its child share a two-page file
// `temp` through a shared mapping: what one writes, the other reads, and the file keeps it.
// Usage: shared_file [SECONDS]   -- the child also sleeps SECONDS (default 0) before reading; the
// order of events does not depend on it, since the parent tells the child when page 2 is filled.
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
    return course::parent_and_child(file.bytes(), seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shared_file: %s\n", e.what());
    return 1;
  }
}
