// shm_counter: the slides' shm.c. The same counter as file_counter, kept in a named POSIX shared
// memory object instead of a file: it outlives the process (see /dev/shm) until it is removed.
// Usage: shm_counter [--name /NAME] [--pause]   increments the counter and prints it
//        shm_counter [--name /NAME] --unlink    removes the object
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "course.hpp"
#include "mmapxx/mmapxx.hpp"

int main(int argc, char** argv) {
  std::string name = "/autre_compteur";
  bool pause = false, unlink = false;
  CLI::App app{"Increments a counter kept in POSIX shared memory"};
  app.add_option("--name", name, "shared memory object name")->capture_default_str();
  app.add_flag("--pause", pause, "wait in pause() before unmapping");
  app.add_flag("--unlink", unlink, "remove the object instead of counting");
  CLI11_PARSE(app, argc, argv);

  try {
    if (unlink) {
      mmapxx::SharedMemoryObject::remove(name);
      return 0;
    }
    auto object = mmapxx::SharedMemoryObject::open_or_create(name);  // mode 0600

    // A lock on the object, as on a file, makes concurrent runs take turns; it is taken before the
    // size check so that only one run ever sizes a new object.
    mmapxx::MappedFile<mmapxx::Access::Write> counter;
    long value = 0;
    {
      const course::ExclusiveLock lock(object.fd());
      if (object.size() < 11) object.resize(11);  // a new object is 11 zero bytes: counter 0
      counter = object.map<mmapxx::Access::Write>();
      value = course::increment_counter(counter.bytes());
    }

    std::printf("%ld\n", value);
    if (pause) {
      std::fflush(stdout);
      ::pause();
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shm_counter: %s\n", e.what());
    return 1;
  }
}
