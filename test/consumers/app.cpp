// A consumer of an installed (or subproject) mmapxx: maps its own executable and checks the ELF
// magic, so it needs the headers, the library, the version header and C++20 from its build system.
#include <cstdio>
#include <mmapxx/mmapxx.hpp>

static_assert(MMAPXX_VERSION_MAJOR == 0 && MMAPXX_VERSION_MINOR >= 1);

int main(int, char** argv) {
  const mmapxx::MappedFile<mmapxx::Access::Read> self(argv[0], {.offset = 1, .length = 3});
  const bool elf = self.size() == 3 && self[0] == std::byte{'E'} && self[1] == std::byte{'L'} &&
                   self[2] == std::byte{'F'};
  std::printf("mmapxx %s: %s\n", MMAPXX_VERSION_STRING, elf ? "ELF" : "not ELF");
  return elf ? 0 : 1;
}
