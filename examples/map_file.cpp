// map_file: maps a file (or a byte range of it) read-only and reports what mmapxx did: the size,
// the page alignment it handled, a checksum of the bytes, how many lines, and page residency.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "mmapxx/mmapxx.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s FILE [OFFSET [LENGTH]]\n", argv[0]);
    return 2;
  }
  try {
    mmapxx::MapOptions options{.offset = argc > 2 ? std::stoull(argv[2]) : 0};
    if (argc > 3) options.length = std::stoull(argv[3]);
    const mmapxx::MappedFile<mmapxx::Access::Read> file(argv[1], options);
    file.advise(mmapxx::Advice::Sequential);

    std::uint64_t checksum = 0;
    for (std::byte b : file) checksum = checksum * 131 + std::to_integer<unsigned>(b);
    const auto lines = std::count(file.begin(), file.end(), std::byte{'\n'});
    const mmapxx::Residency resident = file.residency();

    std::printf(
        "mapped %s: %zu bytes at file offset %llu (page size %zu, view starts %zu bytes "
        "into its first page)\n",
        file.path().c_str(), file.size(), static_cast<unsigned long long>(file.offset()),
        mmapxx::page_size(), static_cast<std::size_t>(file.offset() % mmapxx::page_size()));
    std::printf("lines: %td, checksum: %016llx, resident pages: %zu of %zu\n", lines,
                static_cast<unsigned long long>(checksum), resident.resident, resident.total());
    return 0;
  } catch (const mmapxx::Error& e) {
    std::fprintf(stderr, "map_file: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "map_file: bad argument: %s\n", e.what());
    return 2;
  }
}
