// The program the shared-memory tests exec, so that cross-process claims are tested across a
// real execve and not only fork:
//   shm_helper fds                 prints "N TARGET" for each open descriptor
//   shm_helper count NAME M N      waits until N processes arrived, then adds 1 M times to the
//                                  counter of shm object NAME (layout in shm_barrier.hpp)
//   shm_helper memfd FD SEALS      adopts inherited FD requiring SEALS (a number), prints contents
// Exit 0 on success, 2 on bad usage, 3 on an mmapxx::Error (its errno is printed).
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mmapxx/mmapxx.hpp"
#include "shm_barrier.hpp"

namespace {

int list_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 1;
  const int own = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    char target[4096] = {};
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    if (::readlink(link.c_str(), target, sizeof target - 1) < 0) target[0] = '?';
    std::printf("%d %s\n", fd, target);
  }
  ::closedir(d);
  return 0;
}

int count(const std::string& name, unsigned long times, unsigned long processes) {
  auto object = mmapxx::SharedMemoryObject::open(name);
  auto mapping = object.map<mmapxx::Access::Write>();
  mmapxx::SharedCounter counter(mapping.bytes(), mmapxx::test::counter_offset);
  mmapxx::test::arrive_and_wait(mapping.bytes(), processes);
  for (unsigned long i = 0; i < times; ++i) counter.add();
  return 0;
}

int read_memfd(int fd, unsigned seals) {
  auto memory = mmapxx::SealedMemory::adopt(fd, static_cast<mmapxx::Seal>(seals), "inherited");
  auto mapping = memory.map<mmapxx::Access::Read>();
  std::fwrite(mapping.data(), 1, mapping.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "fds" && argc == 2) return list_fds();
    if (mode == "count" && argc == 5)
      return count(argv[2], std::stoul(argv[3]), std::stoul(argv[4]));
    if (mode == "memfd" && argc == 4)
      return read_memfd(std::stoi(argv[2]), static_cast<unsigned>(std::stoul(argv[3])));
  } catch (const mmapxx::Error& e) {
    std::printf("error %d %s\n", e.code().value(), e.what());
    return 3;
  }
  std::fprintf(stderr, "usage: shm_helper fds | count NAME M N | memfd FD SEALS\n");
  return 2;
}
