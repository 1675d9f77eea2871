// page_cache_stats: counts that agree with mincore and fincore, in bounded memory, with clear
// errors.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <mmapxx/mmapxx.hpp>

#include "support.hpp"

using namespace mmapxx::test;

namespace {

std::uint64_t fincore_pages(const std::string& path) {
  std::string out;
  if (FILE* p = ::popen(("fincore --noheadings --output PAGES '" + path + "'").c_str(), "r")) {
    char line[128];
    while (std::fgets(line, sizeof line, p)) out += line;
    ::pclose(p);
  }
  return std::stoull(out);
}

}  // namespace

TEST_CASE("page_cache_stats agrees with residency() and fincore", "[residency]") {
  TempDir dir("/var/tmp");  // tmpfs pages cannot be evicted
  const std::string path = dir.file("f");
  write_file(path, std::string((8 << 20) + 100, 'r'));
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::fdatasync(fd) == 0);
  REQUIRE(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
  std::string buffer(1 << 20, '\0');
  REQUIRE(::pread(fd, buffer.data(), buffer.size(), 2 << 20) ==
          static_cast<ssize_t>(buffer.size()));

  const mmapxx::PageCacheStats all = mmapxx::page_cache_stats(fd, 0, mmapxx::to_end_of_file, path);
  CHECK(all.pages == 2049);  // 8 MiB + 100 bytes
  CHECK(all.cached >= 256);  // readahead may bring in more
  mmapxx::MappedFile<mmapxx::Access::Read> map(fd, {}, path);
  CHECK(all.cached == map.residency().resident);
  CHECK(all.cached == fincore_pages(path));
  CHECK(mmapxx::page_cache_stats(std::filesystem::path(path)).cached == all.cached);
  // A range: the 1 MiB read is all there; clipped at end of file.
  const auto part = mmapxx::page_cache_stats(fd, 2 << 20, 1 << 20);
  CHECK(part.pages == 256);
  CHECK(part.cached == 256);
  CHECK(mmapxx::page_cache_stats(fd, (8 << 20) - 1, 1 << 30).pages == 2);
  CHECK(mmapxx::page_cache_stats(fd, 1 << 30, 10).pages == 0);

  if (all.source == mmapxx::PageCacheSource::Cachestat) {
    // Dirty pages are visible to cachestat until written back.
    REQUIRE(::pwrite(fd, "dirty", 5, 0) == 5);
    CHECK(mmapxx::page_cache_stats(fd, 0, 4096).dirty +
              mmapxx::page_cache_stats(fd, 0, 4096).writeback ==
          1);
    REQUIRE(::fdatasync(fd) == 0);
    CHECK(mmapxx::page_cache_stats(fd, 0, 4096).dirty == 0);
  } else {
    std::puts("note: no cachestat here (Linux < 6.5): mincore fallback measured");
  }
  ::close(fd);
}

TEST_CASE("page_cache_stats refuses bad input clearly", "[residency]") {
  TempDir dir("/var/tmp");
  const std::string path = dir.file("f");
  write_file(path, "x");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::error_code ec;
  mmapxx::page_cache_stats(fd, 10, UINT64_MAX - 5, ec);
  CHECK(ec == std::errc::invalid_argument);
  const auto none = mmapxx::page_cache_stats(-1, 0, 1, ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK(none.pages == 0);
  mmapxx::page_cache_stats(std::filesystem::path(dir.path()), 0, 1, ec);
  CHECK(ec == std::errc::invalid_argument);  // a directory
  mmapxx::page_cache_stats(std::filesystem::path(dir.file("missing")), 0, 1, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  try {
    mmapxx::page_cache_stats(std::filesystem::path(dir.file("missing")));
    FAIL("no error");
  } catch (const mmapxx::Error& e) {
    CHECK(e.operation() == "open");
    CHECK(e.path() == dir.file("missing"));
  }
  // The NUL-terminated form: a literal keeps the error_code form noexcept (no string is built).
  static_assert(noexcept(mmapxx::page_cache_stats("/no/such/file", 0, 1, ec)));
  mmapxx::page_cache_stats("/no/such/file", 0, 1, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  mmapxx::page_cache_stats(static_cast<const char*>(nullptr), 0, 1, ec);
  CHECK(ec == std::errc::invalid_argument);
  mmapxx::page_cache_stats("", 0, 1, ec);
  CHECK(ec == std::errc::invalid_argument);
  mmapxx::page_cache_stats(std::filesystem::path(std::string("a\0b", 3)), 0, 1, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(mmapxx::page_cache_stats(path.c_str()).pages == 1);
  ::close(fd);
}
