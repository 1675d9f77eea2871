// file_counter: the slides' mmap.c. The counter in the file `compteur` (10 digits and a newline)
// is read and written through a shared mapping, without read(2) or write(2).
// Usage: file_counter [pause]   -- with an argument, waits in pause() before unmapping, so the
// mapping can be seen in /proc/PID/maps.
#include <unistd.h>

#include <cstdio>

#include "course.hpp"
#include "mmapxx/mmapxx.hpp"

int main(int argc, char** argv) {
  (void)argv;
  try {
    // Creates the file as 11 zero bytes (zeros count as 0) if it is missing; an existing file is
    // opened as it is.
    mmapxx::MappedFile<mmapxx::Access::Write> counter(
        "compteur", {.creation = mmapxx::Creation::OpenOrCreate, .initial_size = 11});

    // Unlike the slide, two runs at once must not both read the same value: they take turns.
    long value = 0;
    {
      const course::ExclusiveLock lock(counter.fd());
      // A run that opened the file while its creator was still sizing it sees it shorter: the
      // view needs 11 bytes, and resize grows the file that far (never past, never shrinking it).
      if (counter.size() < 11) counter.resize(11);
      value = course::increment_counter(counter.bytes());  // "reads" and writes the file
    }

    std::printf("%ld\n", value);
    if (argc > 1) {
      std::fflush(stdout);
      ::pause();
    }
    return 0;  // the destructor unmaps and closes the file
  } catch (const std::exception& e) {
    std::fprintf(stderr, "file_counter: %s\n", e.what());
    return 1;
  }
}
