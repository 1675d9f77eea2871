// for_each_chunk: every byte once and in order by each method, the Auto choice, stopping, errors
// and truncation during the scan (an Error, never SIGBUS).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <mmapxx/mmapxx.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using mmapxx::for_each_chunk;
using mmapxx::ScanMethod;
using mmapxx::ScanOptions;
using mmapxx::test::pattern;
using mmapxx::test::TempDir;
using mmapxx::test::write_file;

namespace {

std::string collect(const std::string& path, ScanOptions options, mmapxx::ScanResult& result) {
  std::string out;
  result = for_each_chunk(
      path,
      [&](std::span<const std::byte> chunk) {
        out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
      },
      options);
  return out;
}

// Drops the file's pages from the page cache (a real disk: /var/tmp). False where it cannot.
bool evict(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fdatasync(fd) == 0 && ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("for_each_chunk hands out every byte once, in order, by each method", "[scan]") {
  TempDir dir;
  const ScanMethod methods[] = {ScanMethod::Auto, ScanMethod::Map, ScanMethod::Read};
  for (std::size_t size : {std::size_t{1}, std::size_t{4095}, std::size_t{128 << 10},
                           std::size_t{(128 << 10) + 1}, std::size_t{(9 << 20) + 3}}) {
    const std::string path = dir.file("f" + std::to_string(size));
    write_file(path, pattern(size));
    for (ScanMethod method : methods) {
      CAPTURE(size, static_cast<int>(method));
      mmapxx::ScanResult result;
      const std::string got = collect(path, {.method = method}, result);
      CHECK(got == pattern(size));
      CHECK(result.bytes == size);
      CHECK_FALSE(result.stopped);
      if (method != ScanMethod::Auto) CHECK(result.method == method);
    }
  }
}

TEST_CASE("for_each_chunk: chunk sizes are 128 KiB read(2) buffers or 4 MiB windows", "[scan]") {
  TempDir dir;
  const std::string path = dir.file("f");
  write_file(path, pattern((9 << 20) + 3));
  for (auto [method, chunk] : {std::pair{ScanMethod::Read, std::size_t{128} << 10},
                               std::pair{ScanMethod::Map, std::size_t{4} << 20}}) {
    std::vector<std::size_t> sizes;
    for_each_chunk(path, [&](std::span<const std::byte> c) { sizes.push_back(c.size()); },
                   {.method = method});
    REQUIRE(sizes.size() >= 2);
    CHECK(sizes.front() == chunk);
  }
}

TEST_CASE("for_each_chunk: an empty file calls fn never", "[scan]") {
  TempDir dir;
  const std::string path = dir.file("empty");
  write_file(path, "");
  for (ScanMethod method : {ScanMethod::Auto, ScanMethod::Map, ScanMethod::Read}) {
    int calls = 0;
    const auto result =
        for_each_chunk(path, [&](std::span<const std::byte>) { ++calls; }, {.method = method});
    CHECK(calls == 0);
    CHECK(result.bytes == 0);
  }
}

TEST_CASE("for_each_chunk: Auto reads files below the threshold and maps big warm ones", "[scan]") {
  TempDir dir("/var/tmp");
  const std::string path = dir.file("f");
  write_file(path, pattern(8 << 20));
  mmapxx::ScanResult result;
  CHECK(collect(path, {}, result) == pattern(8 << 20));
  CHECK(result.method == ScanMethod::Read);  // 8 MiB < 256 MiB

  // Threshold 0: the probe decides. Resident (just read): mapped, at least the first window.
  CHECK(collect(path, {.map_threshold = 0}, result) == pattern(8 << 20));
  CHECK(result.method == ScanMethod::Map);

  // Not in the page cache: read(2).
  if (!evict(path)) {
    std::puts("skipped: cannot evict the test file's pages here");
    return;
  }
  CHECK(collect(path, {.map_threshold = 0}, result) == pattern(8 << 20));
  CHECK(result.method == ScanMethod::Read);
}

TEST_CASE("for_each_chunk: fn returning false stops the scan", "[scan]") {
  TempDir dir;
  const std::string path = dir.file("f");
  write_file(path, pattern(9 << 20));
  for (ScanMethod method : {ScanMethod::Map, ScanMethod::Read}) {
    int calls = 0;
    const auto result = for_each_chunk(path,
                                       [&](std::span<const std::byte>) {
                                         ++calls;
                                         return false;
                                       },
                                       {.method = method});
    CHECK(calls == 1);
    CHECK(result.stopped);
    CHECK(result.bytes == (method == ScanMethod::Map ? 4u << 20 : 128u << 10));
  }
}

TEST_CASE("for_each_chunk: a file truncated during the scan is an EFAULT Error, not SIGBUS",
          "[scan]") {
  TempDir dir;
  for (ScanMethod method : {ScanMethod::Auto, ScanMethod::Map, ScanMethod::Read}) {
    CAPTURE(static_cast<int>(method));
    const std::string path = dir.file("t");
    write_file(path, pattern(12 << 20));
    std::uint64_t seen = 0;
    // After the first chunk the file shrinks to 6 MiB: the next mapped window faults at 6 MiB,
    // read(2) meets end of file early.
    auto shrink = [&](std::span<const std::byte> chunk) {
      if (seen == 0 && ::truncate(path.c_str(), 6 << 20) != 0) throw std::runtime_error("truncate");
      std::uint8_t sum = 0;
      for (std::byte b : chunk) sum = static_cast<std::uint8_t>(sum + static_cast<std::uint8_t>(b));
      volatile std::uint8_t keep = sum;
      (void)keep;
      seen += chunk.size();
    };
    const ScanOptions options{.method = method, .map_threshold = 0};
    std::error_code ec;
    const auto result = for_each_chunk(path, shrink, options, ec);
    CHECK(ec == std::errc::bad_address);
    CHECK(result.bytes <= 6u << 20);
    CHECK(result.bytes == seen);

    write_file(path, pattern(12 << 20));
    seen = 0;
    try {
      for_each_chunk(path, shrink, options);
      FAIL("no error");
    } catch (const mmapxx::Error& e) {
      CHECK(e.code() == std::errc::bad_address);
      CHECK(e.path() == path);
      CHECK(std::string(e.what()).find("shrank") != std::string::npos);
    }
  }
}

TEST_CASE("for_each_chunk: a mapped chunk that fn reads after the file shrank is an EFAULT Error",
          "[scan]") {
  TempDir dir;
  const std::string path = dir.file("t");
  write_file(path, pattern(8 << 20));
  std::uint64_t read_bytes = 0;
  std::error_code ec;
  // fn shrinks the file to 1 MiB, then reads its whole 4 MiB window: SIGBUS at 1 MiB, translated.
  const auto result = for_each_chunk(
      path,
      [&](std::span<const std::byte> chunk) {
        if (::truncate(path.c_str(), 1 << 20) != 0) throw std::runtime_error("truncate");
        for (std::size_t i = 0; i < chunk.size(); i += 4096) {
          (void)*static_cast<const volatile std::byte*>(chunk.data() + i);
          read_bytes = i + 4096;
        }
      },
      {.method = ScanMethod::Map}, ec);
  CHECK(ec == std::errc::bad_address);
  CHECK(read_bytes == 1u << 20);
  CHECK(result.bytes == 0);
}

TEST_CASE("for_each_chunk: a scan started inside fn gets its own buffer", "[scan]") {
  TempDir dir;
  const std::string outer = dir.file("outer"), inner = dir.file("inner");
  write_file(outer, pattern(300 << 10));
  write_file(inner, pattern(200 << 10, 7));
  std::string got_outer, got_inner;
  for_each_chunk(
      outer,
      [&](std::span<const std::byte> chunk) {
        const std::string before(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        got_inner.clear();
        for_each_chunk(inner,
                       [&](std::span<const std::byte> c) {
                         got_inner.append(reinterpret_cast<const char*>(c.data()), c.size());
                       },
                       {.method = ScanMethod::Read});
        // The outer chunk is untouched by the inner scan.
        got_outer.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        CHECK(got_outer.substr(got_outer.size() - before.size()) == before);
      },
      {.method = ScanMethod::Read});
  CHECK(got_outer == pattern(300 << 10));
  CHECK(got_inner == pattern(200 << 10, 7));
}

TEST_CASE("for_each_chunk: bad input is a clear error before any syscall, and leaks nothing",
          "[scan]") {
  TempDir dir;
  std::error_code ec;
  auto ignore = [](std::span<const std::byte>) {};
  for_each_chunk("", ignore, ec);
  CHECK(ec == std::errc::invalid_argument);
  for_each_chunk(std::string("a\0b", 3), ignore, ec);  // a NUL inside: never opens "a"
  CHECK(ec == std::errc::invalid_argument);
  for_each_chunk(dir.file("missing"), ignore, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  const std::size_t fds = mmapxx::test::open_fd_count();
  for_each_chunk(dir.path(), ignore, ec);  // a directory
  CHECK(ec == std::errc::no_such_device);
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for_each_chunk(fifo, ignore, ec);  // must not block
  CHECK(ec == std::errc::no_such_device);
  const std::string path = dir.file("f");
  write_file(path, pattern(100));
  for_each_chunk(path, ignore, {.method = static_cast<ScanMethod>(7)}, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(mmapxx::test::open_fd_count() == fds);
  CHECK_THROWS_AS(for_each_chunk(dir.file("missing"), ignore), mmapxx::Error);
}

TEST_CASE("for_each_chunk: an exception from fn passes through, file closed and unmapped",
          "[scan]") {
  TempDir dir;
  const std::string path = dir.file("f");
  write_file(path, pattern(9 << 20));
  const std::size_t fds = mmapxx::test::open_fd_count();
  const std::size_t maps = mmapxx::test::mapping_count();
  for (ScanMethod method : {ScanMethod::Map, ScanMethod::Read}) {
    std::error_code ec;
    CHECK_THROWS_AS(for_each_chunk(
                        path, [](std::span<const std::byte>) { throw std::logic_error("from fn"); },
                        {.method = method}, ec),
                    std::logic_error);
    CHECK(mmapxx::test::open_fd_count() == fds);
    CHECK(mmapxx::test::mapping_count() == maps);
  }
}

TEST_CASE(
    "for_each_chunk: a file that fstat calls empty but that reads bytes (procfs) is read "
    "to its end",
    "[scan]") {
  // /proc files report st_size 0: Auto and Read go by read(2) to end of file, Map by the size.
  for (ScanMethod method : {ScanMethod::Auto, ScanMethod::Read}) {
    CAPTURE(static_cast<int>(method));
    mmapxx::ScanResult result;
    const std::string status = collect("/proc/self/status", {.method = method}, result);
    CHECK(status.find("Name:") != std::string::npos);
    CHECK(result.bytes == status.size());
    // Longer than the first 128 KiB buffer, where the size comes from fstat (0 here).
    if (::access("/proc/kallsyms", R_OK) == 0) {
      const std::string symbols = collect("/proc/kallsyms", {.method = method}, result);
      CHECK(result.bytes == symbols.size());
      CHECK(symbols.size() > (128u << 10));
    }
  }
  mmapxx::ScanResult result;
  CHECK(collect("/proc/self/status", {.method = ScanMethod::Map}, result).empty());
}

// Minor faults per MiB to touch `length` bytes at `offset` of a fresh mapping of the file.
double faults_per_mib(const std::string& path, std::size_t offset, std::size_t length) {
  mmapxx::MappedFile<mmapxx::Access::Read> file(path);
  rusage before{}, after{};
  ::getrusage(RUSAGE_THREAD, &before);
  for (std::size_t i = offset; i < offset + length; i += 4096)
    (void)*static_cast<const volatile std::byte*>(file.data() + i);
  ::getrusage(RUSAGE_THREAD, &after);
  return static_cast<double>(after.ru_minflt - before.ru_minflt) /
         static_cast<double>(length >> 20);
}

TEST_CASE("for_each_chunk: Auto judges the folios in the middle of the file, not at its start",
          "[scan]") {
  // The first 8 MiB written 4 KiB at a time (4 KiB folios, as readahead's ramp-up leaves the
  // start of a file), the rest read back through readahead (large folios). Auto must map:
  // every chunk after the first 128 KiB a 4 MiB window.
  TempDir dir("/var/tmp");
  const std::string path = dir.file("f");
  const std::size_t head = 8 << 20, size = 160 << 20;
  const std::string content = pattern(size);
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    for (std::size_t at = 0; at < size;) {
      const std::size_t piece = at < head ? 4096 : (1 << 20);
      REQUIRE(::write(fd, content.data() + at, piece) == static_cast<ssize_t>(piece));
      at += piece;
    }
    REQUIRE(::fdatasync(fd) == 0);
    ::close(fd);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  if (::posix_fadvise(fd, head, 0, POSIX_FADV_DONTNEED) != 0) {
    ::close(fd);
    std::puts("skipped: cannot evict the test file's pages here");
    return;
  }
  std::vector<char> buffer(1 << 20);
  for (off_t at = head; at < static_cast<off_t>(size); at += 1 << 20)
    REQUIRE(::pread(fd, buffer.data(), buffer.size(), at) == 1 << 20);
  ::close(fd);
  // The window Auto probes: 4 MiB on a 2 MiB boundary in the middle of [128 KiB, size).
  const std::size_t middle =
      ((128 << 10) + (size - (128 << 10) - (4 << 20)) / 2) & ~((2u << 20) - 1);
  const double head_faults = faults_per_mib(path, 128 << 10, 4 << 20);
  const double middle_faults = faults_per_mib(path, middle, 4 << 20);
  if (head_faults <= 12 || middle_faults > 12) {
    std::printf(
        "skipped: this kernel's folios do not make the case (%.1f faults/MiB at the start, "
        "%.1f in the middle)\n",
        head_faults, middle_faults);
    return;
  }
  std::vector<std::size_t> sizes;
  std::string got;
  const auto result =
      for_each_chunk(path,
                     [&](std::span<const std::byte> c) {
                       sizes.push_back(c.size());
                       got.append(reinterpret_cast<const char*>(c.data()), c.size());
                     },
                     {.map_threshold = 0});
  CHECK(got == content);
  CHECK(result.method == ScanMethod::Map);
  REQUIRE(sizes.size() >= 3);
  CHECK(sizes[0] == 128u << 10);
  CHECK(sizes[1] == 4u << 20);
  CHECK(sizes[2] == 4u << 20);
}
