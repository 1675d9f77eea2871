// MappedFile: every access mode, offsets and lengths of every alignment, errors that leak nothing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::TempDir;

namespace {

std::string view_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The process umask (umask(2) can only be read by setting it: set it straight back).
unsigned current_umask() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

template <class T>
concept HasMutableData = requires(T t) {
  { t.data() } -> std::same_as<std::byte*>;
};
template <class T>
concept CanFlush = requires(T t) {
  t.flush();
};
template <class T>
concept CanResize = requires(T t) {
  t.resize(1);
};
template <class T>
concept CanTruncateFile = requires(T t) {
  t.truncate_file(1);
};

}  // namespace

static_assert(!HasMutableData<MappedFile<Access::Read>>,
              "read-only mappings expose no writable data");
static_assert(HasMutableData<MappedFile<Access::Write>>);
static_assert(HasMutableData<MappedFile<Access::CopyOnWrite>>);
static_assert(!CanFlush<MappedFile<Access::Read>> && !CanFlush<MappedFile<Access::CopyOnWrite>>);
static_assert(CanFlush<MappedFile<Access::Write>>);
static_assert(CanResize<MappedFile<Access::Read>> && CanResize<MappedFile<Access::Write>> &&
              CanResize<MappedFile<Access::CopyOnWrite>>);
static_assert(CanTruncateFile<MappedFile<Access::Write>> &&
              !CanTruncateFile<MappedFile<Access::Read>> &&
              !CanTruncateFile<MappedFile<Access::CopyOnWrite>>);
static_assert(!std::is_copy_constructible_v<MappedFile<Access::Read>>);
static_assert(std::is_nothrow_move_constructible_v<MappedFile<Access::Read>>);
static_assert(std::is_nothrow_destructible_v<MappedFile<Access::Write>>);

TEST_CASE("Read maps exactly the requested bytes at every alignment") {
  TempDir dir;
  const std::size_t page = page_size();
  const std::string path = dir.file("data");
  const std::string contents = test::pattern(3 * page + 123);
  test::write_file(path, contents);

  for (std::size_t offset : {std::size_t{0}, std::size_t{1}, page - 1, page, page + 1}) {
    for (std::size_t length : {std::size_t{1}, page - 1, page, page + 1}) {
      MappedFile<Access::Read> file(path, {.offset = offset, .length = length});
      INFO("offset " << offset << " length " << length);
      REQUIRE(file.size() == length);
      CHECK(file.offset() == offset);
      CHECK(view_string(file.bytes()) == contents.substr(offset, length));
    }
  }
  MappedFile<Access::Read> rest(path, {.offset = page + 7});
  CHECK(rest.size() == contents.size() - page - 7);
  CHECK(view_string(rest.bytes()) == contents.substr(page + 7));
  CHECK(std::string(reinterpret_cast<const char*>(&*rest.begin()), 3) ==
        contents.substr(page + 7, 3));
  CHECK(test::protection_at(rest.data()) == "r--s");
}

TEST_CASE("Write reaches the file, CopyOnWrite does not") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, std::string(2 * page_size(), 'a'));
  {
    MappedFile<Access::CopyOnWrite> cow(path, {.offset = 10, .length = 5});
    std::memcpy(cow.data(), "PRIVATE", 5);
    CHECK(view_string(cow.bytes()) == "PRIVA");
    CHECK(test::protection_at(cow.data()) == "rw-p");
  }
  CHECK(test::read_file(path) == std::string(2 * page_size(), 'a'));
  {
    MappedFile<Access::Write> shared(path, {.offset = page_size() + 3, .length = 4});
    std::memcpy(shared.data(), "MMAP", 4);
    CHECK(test::protection_at(shared.data()) == "rw-s");
    // Visible through the file before any msync: the page cache is shared.
    CHECK(test::read_file(path).substr(page_size() + 3, 4) == "MMAP");
    shared.flush();
    shared.flush(SyncPolicy::Async, 1, 2);
    shared.flush(SyncPolicy::Invalidate, 0, whole);
  }
  CHECK(test::read_file(path).substr(page_size(), 8) == "aaaMMAPa");
}

TEST_CASE("Shared writes are seen by a forked child and the child's by the parent") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, std::string(100, '-'));
  MappedFile<Access::Write> file(path);
  file[0] = std::byte{'P'};
  const int status = test::run_in_child([&] {
    if (file[0] != std::byte{'P'}) return 3;
    file[1] = std::byte{'C'};
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(file[1] == std::byte{'C'});
  CHECK(test::read_file(path).substr(0, 2) == "PC");
}

TEST_CASE("Private writes stay in the process that made them") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, std::string(100, '-'));
  MappedFile<Access::CopyOnWrite> file(path);
  const int status = test::run_in_child([&] {
    file[0] = std::byte{'C'};
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(file[0] == std::byte{'-'});
  CHECK(test::read_file(path) == std::string(100, '-'));
}

TEST_CASE("Mapping from a caller's descriptor leaves it open") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, "hello, descriptor");
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  {
    MappedFile<Access::Read> file(fd, {.offset = 7});
    CHECK(view_string(file.bytes()) == "descriptor");
    CHECK(file.path() == "fd " + std::to_string(fd));
    const std::size_t fds = test::open_fd_count();
    MappedFile<Access::Write> named(fd, {}, "my file");
    CHECK(named.path() == "my file");
    CHECK(named.fd() != fd);  // its own duplicate, close-on-exec
    CHECK(::fcntl(named.fd(), F_GETFD) == FD_CLOEXEC);
    CHECK(test::open_fd_count() == fds + 1);
    ::close(fd);  // the caller may close theirs: resize still works on the duplicate
    named.resize(4);
    named.truncate_file(4);
    CHECK(test::read_file(path) == "hell");
  }
  CHECK(::fcntl(fd, F_GETFD) < 0);
}

TEST_CASE("A caller's descriptor stays open and unshared for Read and CopyOnWrite") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, "abc");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const std::size_t fds = test::open_fd_count();
  {
    MappedFile<Access::CopyOnWrite> file(fd, {});
    CHECK(file.fd() == -1);  // no duplicate: fstat + mmap, as the raw calls
    CHECK(test::open_fd_count() == fds);
    // With no descriptor of its own, the view can shrink but not grow.
    file.resize(2);
    CHECK(view_string(file.bytes()) == "ab");
    std::error_code ec;
    file.resize(3, ec);
    CHECK(ec == std::errc::bad_file_descriptor);
    CHECK(file.size() == 2);
  }
  CHECK(::fcntl(fd, F_GETFD) >= 0);
  ::close(fd);
}

TEST_CASE("Empty files and empty ranges give empty views without mmap") {
  TempDir dir;
  const std::string path = dir.file("empty");
  test::write_file(path, "");
  const std::size_t maps = test::mapping_count();
  MappedFile<Access::Read> empty(path);
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
  CHECK(empty.bytes().empty());
  CHECK(empty.begin() == empty.end());
  CHECK_FALSE(empty);
  test::write_file(path, "abc");
  MappedFile<Access::Read> at_end(path, {.offset = 3});
  MappedFile<Access::Read> zero_length(path, {.offset = 1, .length = 0});
  CHECK(at_end.empty());
  CHECK(zero_length.empty());
  CHECK(test::mapping_count() == maps);
}

TEST_CASE("Offsets beyond 4 GiB work on a sparse file") {
  TempDir dir;
  const std::string path = dir.file("sparse");
  const std::uint64_t four_gib = std::uint64_t{1} << 32;
  {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(four_gib + 2 * page_size())) == 0);
    REQUIRE(::pwrite(fd, "ACROSS", 6, static_cast<off_t>(four_gib - 3)) == 6);
    ::close(fd);
  }
  MappedFile<Access::Read> across(path, {.offset = four_gib - 3, .length = 6});
  CHECK(view_string(across.bytes()) == "ACROSS");
  MappedFile<Access::Write> above(path, {.offset = four_gib + 3, .length = 2});
  std::memcpy(above.data(), "OK", 2);
  above.flush();
  MappedFile<Access::Read> check(path, {.offset = four_gib - 3});
  CHECK(view_string(check.bytes().first(8)) == "ACROSSOK");
  CHECK(check.size() == 2 * page_size() + 3);
}

TEST_CASE("CreateNew creates the file at initial_size with real blocks before mapping") {
  TempDir dir;
  const std::string path = dir.file("new");
  {
    MappedFile<Access::Write> file(
        path, {.creation = Creation::CreateNew, .mode = 0600, .initial_size = 10000});
    CHECK(file.created());
    REQUIRE(file.size() == 10000);
    CHECK(std::all_of(file.begin(), file.end(), [](std::byte b) { return b == std::byte{0}; }));
    file.as<std::uint32_t>()[2] = 0x01020304;
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(st.st_size == 10000);
  CHECK((st.st_mode & 07777) == (0600 & ~current_umask()));
  CHECK(st.st_blocks * 512 >= 10000);  // real blocks: posix_fallocate, not a hole
  MappedFile<Access::Read> back(path);
  CHECK_FALSE(back.created());
  CHECK(back.as<std::uint32_t>()[2] == 0x01020304);
  // The file exists now: CreateNew refuses it and leaves it alone.
  std::error_code ec;
  auto again = MappedFile<Access::Write>::open(
      path, {.creation = Creation::CreateNew, .initial_size = 10}, ec);
  CHECK(ec == std::errc::file_exists);
  CHECK(std::filesystem::file_size(path) == 10000);
}

TEST_CASE("OpenOrCreate never resizes an existing file; the default mode is 0666 less umask") {
  TempDir dir;
  const std::string path = dir.file("text");
  test::write_file(path, std::string(100, 't'));
  {
    MappedFile<Access::Write> existing(path,
                                       {.creation = Creation::OpenOrCreate, .initial_size = 65536});
    CHECK_FALSE(existing.created());
    CHECK(existing.size() == 100);
  }
  CHECK(test::read_file(path) == std::string(100, 't'));  // issue 9: it became 65,536 bytes

  const std::string fresh = dir.file("fresh");
  MappedFile<Access::Write> made(fresh, {.creation = Creation::OpenOrCreate, .initial_size = 300});
  CHECK(made.created());
  CHECK(made.size() == 300);
  struct stat st {};
  REQUIRE(::stat(fresh.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == (0666 & ~current_umask()));
}

TEST_CASE("CreateOrTruncate empties an existing file and sizes it; OpenExisting creates nothing") {
  TempDir dir;
  const std::string path = dir.file("log");
  test::write_file(path, std::string(5000, 'x'));
  {
    MappedFile<Access::Write> file(path,
                                   {.creation = Creation::CreateOrTruncate, .initial_size = 10});
    CHECK_FALSE(file.created());
    CHECK(view_string(file.bytes()) == std::string(10, '\0'));
  }
  CHECK(std::filesystem::file_size(path) == 10);
  std::error_code ec;
  const std::string missing = dir.file("missing");
  auto none = MappedFile<Access::Write>::open(missing, {}, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK_FALSE(std::filesystem::exists(missing));
  auto made =
      MappedFile<Access::Write>::open(missing, {.creation = Creation::CreateOrTruncate}, ec);
  CHECK_FALSE(ec);
  CHECK(made.created());
  CHECK(made.empty());
}

TEST_CASE("resize grows the file only as far as the view needs, and never shrinks it") {
  TempDir dir;
  const std::string path = dir.file("grow");
  MappedFile<Access::Write> file(path, {.creation = Creation::CreateNew, .initial_size = 5});
  std::memcpy(file.data(), "hello", 5);
  file.resize(3 * page_size() + 1);
  CHECK(file.size() == 3 * page_size() + 1);
  CHECK(view_string(file.bytes().first(5)) == "hello");
  file[3 * page_size()] = std::byte{'!'};
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<std::size_t>(st.st_size) == 3 * page_size() + 1);
  CHECK(test::read_file(path).back() == '!');

  file.resize(4);
  CHECK(view_string(file.bytes()) == "hell");
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<std::size_t>(st.st_size) == 3 * page_size() + 1);  // the file keeps its data
  file.resize(0);
  CHECK(file.empty());
  file.resize(5);  // from an empty view: mapped again, the bytes are still there
  CHECK(view_string(file.bytes()) == "hello");

  // A window at an offset grows the file to offset + size only when that is past its end.
  MappedFile<Access::Write> window(path, {.offset = 1, .length = 1});
  window.resize(page_size());
  CHECK(window[0] == std::byte{'e'});
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<std::size_t>(st.st_size) == 3 * page_size() + 1);
  window.resize(4 * page_size());
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<std::size_t>(st.st_size) == 1 + 4 * page_size());
}

TEST_CASE("Resizing a view never destroys the file's data (issue 9, item 1)") {
  TempDir dir;
  const std::string path = dir.file("big");
  const std::string ten_mb = test::pattern(10'000'000);
  test::write_file(path, ten_mb);
  {
    MappedFile<Access::Write> head(path, {.length = 4096});
    head.resize(8192);  // before: the file became 8 KiB
    CHECK(view_string(head.bytes()) == ten_mb.substr(0, 8192));
  }
  CHECK(std::filesystem::file_size(path) == 10'000'000);
  CHECK(test::read_file(path) == ten_mb);

  const std::string mib = dir.file("mib");
  test::write_file(mib, test::pattern(1 << 20));
  {
    MappedFile<Access::Write> small(mib, {.length = 100});
    small.resize(50);  // before: a 50-byte file
    CHECK(small.size() == 50);
  }
  CHECK(std::filesystem::file_size(mib) == std::uintmax_t{1} << 20);
}

TEST_CASE("truncate_file is the explicit way to shrink a file, and cuts the view first") {
  TempDir dir;
  const std::string path = dir.file("cut");
  test::write_file(path, test::pattern(3 * page_size()));
  MappedFile<Access::Write> file(path, {.offset = 10});
  file.truncate_file(page_size() + 20);
  CHECK(std::filesystem::file_size(path) == page_size() + 20);
  CHECK(file.size() == page_size() + 10);  // no mapped byte past the new end
  CHECK(view_string(file.bytes()) == test::pattern(page_size() + 10, 10));
  file.truncate_file(5);  // the file now ends before the view starts
  CHECK(file.empty());
  CHECK(std::filesystem::file_size(path) == 5);
  file.truncate_file(100);  // growing leaves the view alone (and the file sparse)
  CHECK(file.empty());
  CHECK(std::filesystem::file_size(path) == 100);
  file.resize(90);
  CHECK(view_string(file.bytes()) == std::string(90, '\0'));
}

TEST_CASE("Read and CopyOnWrite resize only the view: a reader follows a growing file") {
  TempDir dir;
  const std::string path = dir.file("log");
  test::write_file(path, "first line\n");
  MappedFile<Access::Read> reader(path);
  MappedFile<Access::CopyOnWrite> cow(path);
  REQUIRE(reader.size() == 11);
  const int writer = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  REQUIRE(writer >= 0);
  const std::string more = "second line, long enough to cross nothing\n";
  REQUIRE(::write(writer, more.data(), more.size()) == static_cast<ssize_t>(more.size()));
  ::close(writer);
  const std::size_t end = std::filesystem::file_size(path);
  reader.resize(end);
  CHECK(view_string(reader.bytes()) == "first line\n" + more);
  cow.resize(end);
  CHECK(view_string(cow.bytes()) == "first line\n" + more);
  cow.resize(5);
  CHECK(view_string(cow.bytes()) == "first");

  // Past end of file is refused, and changes nothing.
  std::error_code ec;
  const std::byte* before = reader.data();
  reader.resize(end + 1, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(reader.size() == end);
  CHECK(reader.data() == before);
  CHECK_THROWS_WITH(cow.resize(end + 4096), Catch::Contains("past end of file"));
  CHECK(std::filesystem::file_size(path) == end);
}

TEST_CASE("populate, locked, transparent huge pages and no_reserve map the same bytes") {
  TempDir dir;
  const std::string path = dir.file("data");
  const std::string contents = test::pattern(5 * page_size());
  test::write_file(path, contents);
  const MapOptions variants[] = {
      {.populate = true},
      {.locked = true},
      {.huge_pages = HugePages::Transparent},
      {.no_reserve = true},
      {.offset = 3, .length = 100, .populate = true, .locked = true},
  };
  for (const MapOptions& options : variants) {
    MappedFile<Access::CopyOnWrite> file(path, options);
    CHECK(view_string(file.bytes()) == contents.substr(options.offset, file.size()));
  }
}

TEST_CASE("as<T> checks size and alignment") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, std::string(12, '\x01'));
  MappedFile<Access::Read> file(path);
  CHECK(file.as<std::uint32_t>().size() == 3);
  CHECK(file.as<std::uint32_t>()[0] == 0x01010101u);
  CHECK_THROWS_WITH(file.as<std::uint64_t>(), Catch::Contains("not a multiple of 8"));
  std::error_code ec;
  CHECK(file.as<std::uint32_t>(ec).size() == 3);
  CHECK_FALSE(ec);
  CHECK(file.as<std::uint64_t>(ec).empty());
  CHECK(ec == std::errc::invalid_argument);
  MappedFile<Access::Read> shifted(path, {.offset = 1, .length = 8});
  CHECK(shifted.as<std::uint32_t>(ec).empty());
  CHECK(ec == std::errc::invalid_argument);
  CHECK(shifted.as<char>(ec).size() == 8);
  CHECK_FALSE(ec);
  try {
    (void)shifted.as<std::uint32_t>();
    FAIL("misaligned view accepted");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(std::string(e.what()).find("aligned") != std::string::npos);
  }
}

TEST_CASE("Moving a mapping transfers ownership exactly once") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, "moved bytes");
  const std::size_t maps = test::mapping_count();
  const std::size_t fds = test::open_fd_count();
  {
    MappedFile<Access::Write> a(path);
    MappedFile<Access::Write> b(std::move(a));
    CHECK(a.data() == nullptr);
    CHECK(a.fd() == -1);
    CHECK(view_string(b.bytes()) == "moved bytes");
    MappedFile<Access::Write> c;
    c = std::move(b);
    CHECK(c.path() == path);
    c = MappedFile<Access::Write>(path, {.length = 5});
    CHECK(view_string(c.bytes()) == "moved");
  }
  CHECK(test::mapping_count() == maps);
  CHECK(test::open_fd_count() == fds);
}

// A thread reuses the path buffer of the last MappedFile it destroyed (no malloc/free per map):
// every path() must still be exactly its own, for paths shorter and longer than the last one,
// with several views alive at once, and on threads that end (ASan and valgrind see a leak).
TEST_CASE("path() is always the view's own, though the path buffer is reused") {
  TempDir dir;
  std::vector<std::string> paths;
  for (std::size_t length : {1, 40, 33, 200, 64, 5000}) {
    std::string name(length, 'p');
    if (length > 200) name = std::string(200, 'd') + "/" + std::string(200, 'e') + "/f";
    std::filesystem::create_directories(std::filesystem::path(dir.file(name)).parent_path());
    paths.push_back(dir.file(name));
    test::write_file(paths.back(), paths.back());
  }
  // A heap buffer (32 bytes or more) is kept and serves the next path that fits in it.
  const char* kept = nullptr;
  std::size_t kept_size = 0;
  for (const std::string& path : paths) {
    MappedFile<Access::Read> file(path);
    CHECK(file.path() == path);
    CHECK(view_string(file.bytes()) == path);
    if (kept != nullptr && path.size() <= kept_size) {
      CHECK(file.path().data() == kept);
    } else if (path.size() >= 32) {
      kept = file.path().data();
      kept_size = path.size();
    }
  }
  {
    MappedFile<Access::Read> a(paths[1]);
    MappedFile<Access::Read> b(paths[3]);
    std::error_code ec;
    auto c = MappedFile<Access::Read>::open(paths[2], {}, ec);
    REQUIRE_FALSE(ec);
    CHECK(a.path() == paths[1]);
    CHECK(b.path() == paths[3]);
    CHECK(c.path() == paths[2]);
  }
  std::thread([&] {
    for (int i = 0; i < 3; ++i)
      for (const std::string& path : paths) CHECK(MappedFile<Access::Read>(path).path() == path);
  }).join();
}

TEST_CASE("Advice given at map time applies before populating, and its failure leaks nothing",
          "[no-valgrind]") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, test::pattern(8 * page_size()));
  MappedFile<Access::Read> random(path, {.populate = true, .advice = Advice::Random});
  CHECK(random.residency().resident == 8);
  CHECK(view_string(random.bytes()) == test::pattern(8 * page_size()));
  const std::size_t maps = test::mapping_count();
  const std::size_t fds = test::open_fd_count();
  std::error_code ec;
  // Populating for writing needs a writable mapping: the kernel refuses, mmapxx unmaps and closes.
  auto refused = MappedFile<Access::Read>::open(path, {.advice = Advice::PopulateWrite}, ec);
  CHECK(ec);
  CHECK_FALSE(refused);
  CHECK(test::mapping_count() == maps);
  CHECK(test::open_fd_count() == fds);
}
