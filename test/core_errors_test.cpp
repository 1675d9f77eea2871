// Every error path: the right errno, a message naming the call and the path, and nothing leaked.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::TempDir;

namespace {

// Runs `attempt` (which must throw Error), checks errno and message, and that no descriptor and no
// mapping outlived the failure.
template <class Attempt>
Error expect_error(std::errc expected, Attempt attempt) {
  const std::size_t fds = test::open_fd_count();
  const std::size_t maps = test::mapping_count();
  try {
    attempt();
  } catch (const Error& e) {
    CHECK(e.code() == std::make_error_code(expected));
    CHECK(e.code().category() == std::generic_category());
    CHECK(test::open_fd_count() == fds);
    CHECK(test::mapping_count() == maps);
    return e;
  }
  FAIL("no error");
  throw;
}

}  // namespace

TEST_CASE("Missing file: open fails with ENOENT, named in the message") {
  TempDir dir;
  const std::string path = dir.file("missing");
  Error e = expect_error(std::errc::no_such_file_or_directory,
                         [&] { MappedFile<Access::Read> file(path); });
  CHECK(e.operation() == "open");
  CHECK(e.path() == path);
  CHECK(std::string(e.what()) == "open: " + path + ": No such file or directory");

  std::error_code ec;
  auto file = MappedFile<Access::Read>::open(path, {}, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK_FALSE(file);
  // The option-free forms, as MappedFile(path): a C string, a std::string, a filesystem path.
  const std::size_t fds = test::open_fd_count();
  ec.clear();
  CHECK_FALSE(MappedFile<Access::Read>::open(path.c_str(), ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
  ec.clear();
  CHECK_FALSE(MappedFile<Access::Write>::open(path, ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
  ec.clear();
  CHECK_FALSE(MappedFile<Access::CopyOnWrite>::open(std::filesystem::path(path), ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK(test::open_fd_count() == fds);
  CHECK_FALSE(std::filesystem::exists(path));  // OpenExisting: nothing created
  test::write_file(path, "present");
  auto found = MappedFile<Access::Read>::open(path.c_str(), ec);
  REQUIRE_FALSE(ec);
  CHECK(found.size() == 7);
  CHECK(found.path() == path);
  const char* null_path = nullptr;
  CHECK_FALSE(MappedFile<Access::Read>::open(null_path, ec));
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("Permission denied reads like the spec's example") {
  if (::geteuid() == 0) {
    // root bypasses file modes, so deny through a read-only descriptor instead: Write needs O_RDWR.
    TempDir dir;
    const std::string path = dir.file("ro");
    test::write_file(path, std::string(8192, 'x'));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    Error e = expect_error(std::errc::permission_denied, [&] {
      MappedFile<Access::Write> file(fd, {.offset = 4096, .length = 100}, path);
    });
    CHECK(std::string(e.what()) ==
          "mmap: " + path + ": Permission denied (offset=4096, length=100)");
    ::close(fd);
  } else {
    TempDir dir;
    const std::string path = dir.file("secret");
    test::write_file(path, "x");
    ::chmod(path.c_str(), 0);
    expect_error(std::errc::permission_denied, [&] { MappedFile<Access::Read> file(path); });
  }
}

TEST_CASE("Offset or range past end of file is rejected before mmap") {
  TempDir dir;
  const std::string path = dir.file("small");
  test::write_file(path, std::string(100, 'x'));
  Error past = expect_error(std::errc::invalid_argument,
                            [&] { MappedFile<Access::Read> file(path, {.offset = 101}); });
  CHECK(std::string(past.what()).find("offset 101 is past end of file (size 100)") !=
        std::string::npos);
  Error beyond = expect_error(std::errc::invalid_argument, [&] {
    MappedFile<Access::Read> file(path, {.offset = 50, .length = 51});
  });
  CHECK(std::string(beyond.what()).find("runs past end of file") != std::string::npos);
  std::error_code ec;
  auto file = MappedFile<Access::Read>::open(path, {.offset = 5000}, ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("Directories and bad descriptors are clear errors", "[no-valgrind]") {
  TempDir dir;
  expect_error(std::errc::is_a_directory,
               [&] { MappedFile<Access::Read> file(dir.path().string()); });
  expect_error(std::errc::bad_file_descriptor, [&] { MappedFile<Access::Read> file(-1, {}); });
  expect_error(std::errc::bad_file_descriptor, [&] { MappedFile<Access::Read> file(987, {}); });
  expect_error(std::errc::invalid_argument, [&] { MappedFile<Access::Read> file(""); });
  expect_error(std::errc::invalid_argument, [&] {
    MappedFile<Access::Read> file(dir.file("x"), {.creation = Creation::OpenOrCreate});
  });
  CHECK_FALSE(std::filesystem::exists(dir.file("x")));
}

TEST_CASE("Non-regular files need an explicit length") {
  expect_error(std::errc::no_such_device, [] { MappedFile<Access::Read> file("/dev/null"); });
}

TEST_CASE("Explicit huge pages on a file are rejected; on anonymous memory they need a reserve") {
  TempDir dir;
  const std::string path = dir.file("f");
  test::write_file(path, "abc");
  expect_error(std::errc::invalid_argument,
               [&] { MappedFile<Access::Read> file(path, {.huge_pages = HugePages::Explicit}); });
  std::error_code ec;
  auto region = AnonymousRegion::create(1, {.huge_pages = HugePages::Explicit}, ec);
  if (test::read_file("/proc/sys/vm/nr_hugepages") == "0\n") {
    CHECK(ec == std::errc::not_enough_memory);
    try {
      AnonymousRegion r(1, {.huge_pages = HugePages::Explicit});
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("nr_hugepages") != std::string::npos);
    }
  } else if (!ec) {
    CHECK(region.size() == 1);
    CHECK(region.capacity() % (2u << 20) == 0);
  }
}

TEST_CASE("Page-level calls reject ranges outside the view") {
  AnonymousRegion region(2 * page_size());
  expect_error(std::errc::invalid_argument,
               [&] { region.advise(Advice::Random, 3 * page_size()); });
  expect_error(std::errc::invalid_argument, [&] { region.lock(page_size(), page_size() + 1); });
  expect_error(std::errc::invalid_argument,
               [&] { (void)region.residency(0, 2 * page_size() + 1); });
  Error e = expect_error(std::errc::invalid_argument,
                         [&] { (void)region.protect(Protection::Read, 1, 2 * page_size()); });
  CHECK(e.operation() == "mprotect");
  std::error_code ec;
  region.advise(Advice::Normal, 0, 0, ec);
  CHECK_FALSE(ec);
  region.advise(Advice::Normal, 2 * page_size() + 1, 0, ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("A failing resize leaves file and mapping as they were") {
  TempDir dir;
  const std::string path = dir.file("f");
  test::write_file(path, "abc");
  MappedFile<Access::Write> file(path);
  std::error_code ec;
  file.resize(std::size_t{1} << 62, ec);  // far beyond any file system's limit
  CHECK(ec);
  CHECK(file.size() == 3);
  CHECK(test::read_file(path) == "abc");
  MappedFile<Access::Write> unmapped;
  unmapped.resize(10, ec);
  CHECK(ec == std::errc::bad_file_descriptor);
}

TEST_CASE("A detail longer than its inline capacity is cut and ends in ...") {
  using mmapxx::detail::FailureDetail;
  const std::string long_text(3 * FailureDetail::capacity, 'x');
  // Through the printf form, as the library builds them (no allocation).
  const auto failure = mmapxx::detail::invalid_argument("open", "name %s", long_text.c_str());
  const std::string_view detail = failure.detail;
  CHECK(detail.size() == FailureDetail::capacity);
  CHECK(detail.substr(0, 5) == "name ");
  CHECK(detail.substr(detail.size() - 3) == "...");
  // Exactly at capacity nothing is cut.
  const FailureDetail exact(std::string(FailureDetail::capacity, 'y'));
  CHECK(exact.view() == std::string(FailureDetail::capacity, 'y'));
  // The Error a user catches carries the cut text, never more.
  try {
    mmapxx::detail::raise(failure, "/p");
    FAIL("no error");
  } catch (const mmapxx::Error& e) {
    CHECK(std::string(e.what()).find(std::string(detail)) != std::string::npos);
    CHECK(std::string(e.what()).size() < 2 * FailureDetail::capacity);
  }
}
