// What README.md, docs/core.md and the public headers promise, checked as a user would write it:
// the documented names, sizes, offsets, errnos, noexcept overloads and what a failure leaves.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::TempDir;

namespace {

std::uintmax_t file_size(const std::string& path) {
  return std::filesystem::file_size(path);
}

template <class Attempt>
Error thrown_by(Attempt attempt) {
  try {
    attempt();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no Error thrown");
  throw std::logic_error("unreachable");
}

struct Record {
  std::uint32_t a;
  std::uint32_t b;
};

}  // namespace

// docs/core.md: "Every throwing call has a noexcept overload taking std::error_code& last".
TEST_CASE("docs: the error_code overloads of the core types are noexcept", "[docs][core]") {
  std::error_code ec;
  MappedFile<Access::Write> w;
  MappedFile<Access::Read> r;
  AnonymousRegion a;
  static_assert(noexcept(MappedFile<Access::Read>::open("x", MapOptions{}, ec)));
  const std::string name = "x";
  const std::filesystem::path fs_name = "x";
  static_assert(noexcept(MappedFile<Access::Read>::open(name, MapOptions{}, ec)));
  static_assert(noexcept(MappedFile<Access::Read>::open(fs_name, MapOptions{}, ec)));
  static_assert(noexcept(MappedFile<Access::Write>::open(0, MapOptions{}, ec)));
  static_assert(noexcept(w.resize(1, ec)));
  static_assert(noexcept(w.truncate_file(1, ec)));
  static_assert(noexcept(w.flush(SyncPolicy::Sync, 0, whole, ec)));
  static_assert(noexcept(w.as<Record>(ec)));
  static_assert(noexcept(r.as<Record>(ec)));
  static_assert(noexcept(w.as<Record>(0, 1, ec)));
  static_assert(noexcept(r.as<Record>(0, 1, ec)));
  static_assert(noexcept(r.advise(Advice::Random, 0, whole, ec)));
  static_assert(noexcept(r.advise_unchecked(UncheckedAdvice::DontNeed, 0, whole, ec)));
  static_assert(noexcept(r.lock(0, whole, ec)));
  static_assert(noexcept(r.unlock(0, whole, ec)));
  static_assert(noexcept(r.residency(0, whole, ec)));
  static_assert(noexcept(r.protect(Protection::Read, 0, whole, ec)));
  static_assert(noexcept(w.set_protection(Protection::Read, 0, whole, ec)));
  static_assert(noexcept(r.protection_at(0, ec)));
  static_assert(noexcept(AnonymousRegion::create(1, AnonymousOptions{}, ec)));
  static_assert(noexcept(a.resize(1, ec)));
  static_assert(noexcept(AddressReservation::create(1, ec)));
  std::string shm_name = "/x";
  static_assert(noexcept(SharedMemoryObject::create_unique(std::move(shm_name), 0600, ec)));
  static_assert(noexcept(SharedMemoryObject::remove(shm_name, ec)));
  // Read has no writable accessor, at compile time (README, docs/core.md).
  static_assert(std::is_same_v<decltype(r.data()), const std::byte*>);
  static_assert(std::is_same_v<decltype(r.bytes()), std::span<const std::byte>>);
  static_assert(std::is_same_v<decltype(w.bytes()), std::span<std::byte>>);
  static_assert(std::is_same_v<decltype(r.as<Record>()), std::span<const Record>>);
  CHECK(!ec);
}

TEST_CASE("docs: a byte range maps exactly the bytes asked for", "[docs][core]") {
  TempDir dir;
  const std::string path = dir.file("range.bin");
  test::write_file(path, test::pattern(10000));
  MappedFile<Access::Read> view(path, {.offset = 4097, .length = 300});
  CHECK(view.offset() == 4097);
  CHECK(view.size() == 300);
  CHECK(!view.empty());
  CHECK(view.end() - view.begin() == 300);
  CHECK(view.path() == path);
  CHECK(std::string(view.label()) == path);
  const std::string expected = test::pattern(10000).substr(4097, 300);
  CHECK(std::string(reinterpret_cast<const char*>(view.data()), view.size()) == expected);
  CHECK(view[0] == std::byte(expected[0]));
  // The default length is "to end of file".
  MappedFile<Access::Read> tail(path, {.offset = 9000});
  CHECK(tail.size() == 1000);
  CHECK(tail.protection() == Protection::Read);
}

TEST_CASE("docs: AnonymousRegion size() is what was asked, capacity() whole pages",
          "[docs][core]") {
  AnonymousRegion region(5000);
  CHECK(region.size() == 5000);
  CHECK(region.capacity() == align_up<std::size_t>(5000, page_size()));
  CHECK(region.as<std::uint8_t>().size() == 5000);
  CHECK(region.bytes().size() == 5000);
  CHECK(!region.shared());
  CHECK(std::string(region.label()) == "anonymous memory");
  AnonymousRegion none(0);
  CHECK(none.empty());
  CHECK(!none);
  CHECK(none.capacity() == 0);
  region.resize(100);
  CHECK(region.size() == 100);
  CHECK(region.capacity() == page_size());
  AnonymousRegion shared(page_size(), {.shared = true});
  CHECK(shared.shared());
  std::error_code ec;
  shared.resize(2 * page_size(), ec);  // a shared region cannot grow past capacity()
  CHECK(ec == std::errc::not_supported);
  CHECK(shared.size() == page_size());
}

TEST_CASE("docs: page helpers are constexpr for any unsigned type", "[docs][core]") {
  static_assert(align_down(5000u, 4096u) == 4096u);
  static_assert(align_up(5000u, 4096u) == 8192u);
  static_assert(is_aligned(8192u, 4096u));
  static_assert(align_up(std::uint64_t{1}, std::uint64_t{4096}) == 4096);
  static_assert(align_down(std::uint16_t{5000}, std::uint16_t{4096}) == 4096);
  CHECK(page_size() == static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
}

TEST_CASE("docs: the creation table of docs/core.md", "[docs][core]") {
  TempDir dir;
  const std::string path = dir.file("c.bin");

  SECTION("OpenExisting on a missing file is ENOENT and creates nothing") {
    auto e = thrown_by([&] { MappedFile<Access::Write> f(path); });
    CHECK(e.code() == std::errc::no_such_file_or_directory);
    CHECK(!std::filesystem::exists(path));
  }
  SECTION("CreateNew creates; on an existing file EEXIST, the file left alone") {
    {
      MappedFile<Access::Write> f(path, {.creation = Creation::CreateNew, .initial_size = 64});
      CHECK(f.created());
      CHECK(f.size() == 64);
    }
    CHECK(file_size(path) == 64);
    auto e =
        thrown_by([&] { MappedFile<Access::Write> f(path, {.creation = Creation::CreateNew}); });
    CHECK(e.code() == std::errc::file_exists);
    CHECK(file_size(path) == 64);
  }
  SECTION("OpenOrCreate on an existing 100-byte file maps those 100 bytes") {
    test::write_file(path, test::pattern(100));
    MappedFile<Access::Write> f(path, {.creation = Creation::OpenOrCreate, .initial_size = 4096});
    CHECK(!f.created());
    CHECK(f.size() == 100);
    CHECK(file_size(path) == 100);
    CHECK(test::read_file(path) == test::pattern(100));
  }
  SECTION("CreateOrTruncate empties an existing file to initial_size") {
    test::write_file(path, test::pattern(100));
    MappedFile<Access::Write> f(path, {.creation = Creation::CreateOrTruncate, .initial_size = 10});
    CHECK(!f.created());
    CHECK(f.size() == 10);
    CHECK(std::string(reinterpret_cast<const char*>(f.data()), 10) == std::string(10, '\0'));
  }
  SECTION("initial_size with OpenExisting is invalid_argument") {
    test::write_file(path, "x");
    auto e = thrown_by([&] { MappedFile<Access::Write> f(path, {.initial_size = 10}); });
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(file_size(path) == 1);
  }
  SECTION("creation with Read or CopyOnWrite is invalid_argument before any syscall") {
    auto e =
        thrown_by([&] { MappedFile<Access::Read> f(path, {.creation = Creation::OpenOrCreate}); });
    CHECK(e.code() == std::errc::invalid_argument);
    auto e2 = thrown_by(
        [&] { MappedFile<Access::CopyOnWrite> f(path, {.creation = Creation::CreateNew}); });
    CHECK(e2.code() == std::errc::invalid_argument);
    CHECK(!std::filesystem::exists(path));
  }
  SECTION("mode is narrowed by the umask; above 07777 is invalid_argument") {
    const mode_t old = ::umask(022);
    { MappedFile<Access::Write> f(path, {.creation = Creation::CreateNew, .initial_size = 1}); }
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    const std::string other = dir.file("m.bin");
    auto e = thrown_by([&] {
      MappedFile<Access::Write> f(other, {.creation = Creation::CreateNew, .mode = 010000});
    });
    ::umask(old);
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(!std::filesystem::exists(other));
  }
}

TEST_CASE("docs: rules worth knowing (paths, special files, ranges, sizes)", "[docs][core]") {
  TempDir dir;
  const std::string path = dir.file("r.bin");
  test::write_file(path, test::pattern(100));

  SECTION("an empty path, a null path or a NUL byte is invalid_argument") {
    CHECK(thrown_by([] { MappedFile<Access::Read> f(""); }).code() == std::errc::invalid_argument);
    CHECK(thrown_by([] { MappedFile<Access::Read> f(static_cast<const char*>(nullptr)); }).code() ==
          std::errc::invalid_argument);
    const std::string nul = dir.file("a") + std::string(1, '\0') + "b";
    auto e = thrown_by([&] {
      MappedFile<Access::Write> f(nul, {.creation = Creation::CreateNew, .initial_size = 1});
    });
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(e.path() == nul);                                         // path() keeps the bytes
    CHECK(std::string(e.what()).find("\\0") != std::string::npos);  // what() shows \0
    CHECK(!std::filesystem::exists(dir.file("a")));
  }
  SECTION("a FIFO is ENODEV; /dev/zero maps with an explicit length only") {
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(thrown_by([&] { MappedFile<Access::Read> f(fifo); }).code() == std::errc::no_such_device);
    std::error_code ec;
    auto nolength = MappedFile<Access::Read>::open("/dev/zero", {}, ec);
    CHECK(ec);
    CHECK(!nolength);
    MappedFile<Access::Read> zero("/dev/zero", {.length = 4096});
    CHECK(zero.size() == 4096);
    CHECK(zero[4095] == std::byte{0});
  }
  SECTION("an empty file gives an empty view; an offset past end is invalid_argument") {
    const std::string empty = dir.file("empty");
    test::write_file(empty, "");
    MappedFile<Access::Read> e(empty);
    CHECK(e.empty());
    CHECK(e.data() == nullptr);
    CHECK(!e);
    auto past = thrown_by([&] { MappedFile<Access::Read> f(path, {.offset = 101}); });
    CHECK(past.code() == std::errc::invalid_argument);
    CHECK(past.operation() == "mmap");
    CHECK(past.path() == path);
    auto over = thrown_by([&] { MappedFile<Access::Read> f(path, {.offset = 50, .length = 51}); });
    CHECK(over.code() == std::errc::invalid_argument);
  }
  SECTION("sizes near 2^64 are EOVERFLOW (value_too_large)") {
    CHECK(thrown_by([&] {
            MappedFile<Access::Read> f(path, {.offset = std::uint64_t{1} << 63});
          }).code() == std::errc::value_too_large);
    CHECK(thrown_by([&] {
            MappedFile<Access::Read> f(path, {.offset = 10, .length = SIZE_MAX - 5});
          }).code() == std::errc::value_too_large);
    MappedFile<Access::Write> w(path);
    std::error_code ec;
    w.resize(SIZE_MAX, ec);
    CHECK(ec == std::errc::value_too_large);
    w.truncate_file(std::uint64_t{1} << 63, ec);
    CHECK(ec == std::errc::value_too_large);
    CHECK(w.size() == 100);
    CHECK(file_size(path) == 100);
  }
}

TEST_CASE("docs: resize() and truncate_file() change what their names say", "[docs][core]") {
  TempDir dir;
  const std::string path = dir.file("g.bin");
  test::write_file(path, test::pattern(8192));

  SECTION("Write: resize grows the file to offset() + n and never shrinks it") {
    MappedFile<Access::Write> w(path, {.offset = 100, .length = 100});
    w.resize(10000);
    CHECK(w.size() == 10000);
    CHECK(file_size(path) == 10100);
    w.resize(10);
    CHECK(w.size() == 10);
    CHECK(file_size(path) == 10100);
    w.resize(0);
    CHECK(w.empty());
    CHECK(file_size(path) == 10100);
  }
  SECTION("Read: resize past end of file is invalid_argument, the view unchanged") {
    MappedFile<Access::Read> r(path, {.length = 100});
    auto e = thrown_by([&] { r.resize(8193); });
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(r.size() == 100);
    r.resize(8192);
    CHECK(r.size() == 8192);
    CHECK(file_size(path) == 8192);
  }
  SECTION("truncate_file below offset() empties the view") {
    MappedFile<Access::Write> w(path, {.offset = 5000});
    w.truncate_file(4000);
    CHECK(w.empty());
    CHECK(file_size(path) == 4000);
    w.truncate_file(20000);  // a hole, the view unchanged
    CHECK(file_size(path) == 20000);
  }
  SECTION("Read from a descriptor keeps none: fd() is -1, growing is EBADF") {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    MappedFile<Access::Read> r(fd, {.length = 100}, "named");
    CHECK(r.fd() == -1);
    CHECK(r.path() == "named");
    std::error_code ec;
    r.resize(200, ec);
    CHECK(ec == std::errc::bad_file_descriptor);
    r.resize(50, ec);
    CHECK(!ec);
    CHECK(r.size() == 50);
    ::close(fd);
  }
  SECTION("Write from a descriptor keeps its own duplicate") {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    MappedFile<Access::Write> w(fd, {});
    CHECK(w.fd() >= 0);
    CHECK(w.fd() != fd);
    CHECK((::fcntl(w.fd(), F_GETFD) & FD_CLOEXEC) != 0);
    ::close(fd);
    w.resize(9000);
    CHECK(file_size(path) == 9000);
  }
}

TEST_CASE("docs: as<T>() and as<T>(offset, count) check size and alignment", "[docs][core]") {
  TempDir dir;
  const std::string path = dir.file("as.bin");
  test::write_file(path, test::pattern(4 + 3 * sizeof(Record)));
  MappedFile<Access::Write> w(path);
  CHECK(w.as<Record>(4, 3).size() == 3);
  CHECK(reinterpret_cast<const std::byte*>(w.as<Record>(4, 3).data()) == w.data() + 4);

  std::error_code ec;
  CHECK(w.as<Record>(ec).empty());  // 28 bytes are not a whole number of Records
  CHECK(ec == std::errc::invalid_argument);
  auto e = thrown_by([&] { (void)w.as<Record>(); });
  CHECK(e.code() == std::errc::invalid_argument);
  CHECK(e.path() == path);

  auto range = thrown_by([&] { (void)w.as<Record>(4, 4); });
  CHECK(range.code() == std::errc::invalid_argument);
  CHECK(range.operation() == "as");
  CHECK(range.path() == path);
  CHECK(thrown_by([&] { (void)w.as<Record>(2, 1); }).code() == std::errc::invalid_argument);
  CHECK(thrown_by([&] { (void)w.as<Record>(4, SIZE_MAX / 4); }).code() ==
        std::errc::invalid_argument);
  CHECK(w.as<Record>(4, 4, ec).empty());
  CHECK(ec == std::errc::invalid_argument);
  CHECK(w.as<Record>(4, 0, ec).empty());
  CHECK(!ec);
}

TEST_CASE("docs: page-level calls refuse ranges outside the view before any syscall",
          "[docs][core]") {
  AnonymousRegion region(3 * page_size());
  std::error_code ec;
  region.advise(Advice::Random, 0, 3 * page_size() + 1, ec);
  CHECK(ec == std::errc::invalid_argument);
  auto e = thrown_by([&] { region.advise(Advice::Random, 3 * page_size() + 1, 0); });
  CHECK(e.operation() == "madvise");
  region.lock(2, SIZE_MAX - 1, ec);  // offset + length passes 2^64: an error, never wrapped
  CHECK(ec == std::errc::invalid_argument);
  auto none = region.residency(0, 0);
  CHECK(none.total() == 0);
  auto all = region.residency(1, 2 * page_size());  // aligned outward: 3 pages
  CHECK(all.total() == 3);
  CHECK(all.pages.size() == all.total());
  region.as<std::uint8_t>()[0] = 1;
  CHECK(region.residency(0, 1).resident == 1);
  {
    auto guard = region.protect(Protection::Read, page_size(), 1);
    CHECK(guard.active());
    CHECK(region.protection_at(page_size()) == Protection::Read);
    CHECK(region.protection_at(0) == (Protection::Read | Protection::Write));
    CHECK(region.protection() == (Protection::Read | Protection::Write));
  }
  CHECK(region.protection_at(page_size()) == (Protection::Read | Protection::Write));
  region.protection_at(3 * page_size(), ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("docs: flush() refuses a policy outside SyncPolicy in both overloads", "[docs][core]") {
  TempDir dir;
  const std::string path = dir.file("f.bin");
  test::write_file(path, test::pattern(100));
  MappedFile<Access::Write> w(path);
  const auto bad = static_cast<SyncPolicy>(77);
  std::error_code ec;
  w.flush(bad, 0, whole, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(thrown_by([&] { w.flush(bad); }).code() == std::errc::invalid_argument);
  w.flush(SyncPolicy::Async, 0, whole, ec);
  CHECK(!ec);
}

TEST_CASE("docs: Error reads op: path: strerror (detail), errno in generic_category",
          "[docs][core]") {
  Error e("mmap", "/data/x", std::make_error_code(std::errc::permission_denied),
          "offset=4096, length=100");
  CHECK(std::string(e.what()) == "mmap: /data/x: Permission denied (offset=4096, length=100)");
  CHECK(e.code().category() == std::generic_category());
  CHECK(e.operation() == "mmap");
  CHECK(e.path() == "/data/x");
  CHECK(e.detail() == "offset=4096, length=100");
  const std::system_error& base = e;
  CHECK(base.code().value() == EACCES);
}
