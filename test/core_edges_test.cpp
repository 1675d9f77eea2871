// The edges of MappedFile (issues 9 and 10): exhausted heap, hostile paths and sizes near 2^64,
// files that must not be changed behind the caller's back, and opens that must not block.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::TempDir;

namespace {

std::size_t vm_size_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  return 0;
}

// Where the allocations go, so that the compiler cannot drop them as unused.
void* volatile sink = nullptr;

bool allocate(std::size_t size) {
  sink = std::malloc(size);
  return sink != nullptr;
}

// Leaves the heap with no byte to give: the address-space limit stops both brk and mmap.
bool exhaust_heap() {
  if (test::shadow_memory) return false;
  const std::size_t used = vm_size_bytes();
  if (used == 0) return false;
  const rlimit limit{used + (8u << 20), used + (8u << 20)};
  if (::setrlimit(RLIMIT_AS, &limit) != 0) return false;
  for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{1} << 16, std::size_t{1} << 12})
    while (allocate(chunk)) {
    }
  // Freed chunks the parent left in malloc's per-size caches serve only their own size: take them.
  for (std::size_t chunk = 2048; chunk >= 8; chunk -= 8)
    while (allocate(chunk)) {
    }
  return !allocate(16);
}

}  // namespace

TEST_CASE("noexcept open reports not_enough_memory when the heap is exhausted", "[no-valgrind]") {
  TempDir dir;
  // Long enough that copying it needs the heap (no small-string buffer).
  const std::string path = dir.file(std::string(200, 'n'));
  test::write_file(path, std::string(4096, 'x'));
  const int status = test::run_in_child([&] {
    if (!exhaust_heap()) return 3;
    std::error_code ec;
    auto file = MappedFile<Access::Read>::open(path, {}, ec);
    if (ec == std::errc::not_enough_memory && !file) return 0;
    std::fprintf(stderr, "open under exhausted heap: error %d (%s)\n", ec.value(),
                 std::strerror(ec.value()));
    return 1;
  });
  INFO("child status " << status);
  REQUIRE(WIFEXITED(status));  // before the fix: std::terminate, SIGABRT
  if (WEXITSTATUS(status) == 3) {
    std::puts(
        "skipped: could not exhaust the heap under RLIMIT_AS (or a sanitizer's shadow memory)");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

namespace {

bool is_refused(const std::error_code& ec) {
  return ec == std::errc::invalid_argument || ec == std::errc::value_too_large;
}

std::uintmax_t size_of(const std::string& path) {
  return std::filesystem::file_size(path);
}

constexpr std::uint64_t two_63 = std::uint64_t{1} << 63;
constexpr std::uint64_t huge_values[] = {
    SIZE_MAX,   SIZE_MAX - 1, SIZE_MAX - 10, SIZE_MAX - 4095, two_63,
    two_63 - 1, two_63 + 1,   two_63 + 4096, two_63 - 4096,
};

}  // namespace

TEST_CASE("resize(SIZE_MAX - 10) of an offset view fails and changes nothing (issue 9, item 2)") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, test::pattern(8192));
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  MappedFile<Access::Write> file(fd, {.offset = 77, .length = 128});
  ::close(fd);
  const std::byte* data = file.data();
  std::error_code ec;
  file.resize(SIZE_MAX - 10, ec);  // before: success, size near 2^64, the file truncated
  CHECK(is_refused(ec));
  CHECK(file.size() == 128);
  CHECK(file.data() == data);
  CHECK(size_of(path) == 8192);
  CHECK(test::read_file(path) == test::pattern(8192));
  CHECK_THROWS_WITH(file.resize(SIZE_MAX - 10), Catch::Contains("Value too large"));
}

TEST_CASE("Every size and offset near 2^64 is refused before any syscall, changing nothing") {
  TempDir dir;
  const std::string path = dir.file("data");
  const std::string contents = test::pattern(3 * page_size());
  test::write_file(path, contents);
  MappedFile<Access::Write> write(path, {.offset = 77, .length = 128});
  MappedFile<Access::Read> read(path, {.offset = 77, .length = 128});
  MappedFile<Access::CopyOnWrite> cow(path, {.offset = 77, .length = 128});
  const std::size_t fds = test::open_fd_count();
  const std::size_t maps = test::mapping_count();
  for (std::uint64_t v : huge_values) {
    INFO("value " << v);
    const auto n = static_cast<std::size_t>(v);
    std::error_code ec;
    CHECK(is_refused((MappedFile<Access::Read>::open(path, {.offset = v}, ec), ec)));
    CHECK(is_refused((MappedFile<Access::Read>::open(path, {.length = n}, ec), ec)));
    CHECK(is_refused((MappedFile<Access::Write>::open(path, {.offset = 77, .length = n}, ec), ec)));
    CHECK(is_refused((MappedFile<Access::Read>::open(path, {.offset = v, .length = 1}, ec), ec)));
    // A device has no size to check against: only the overflow checks stand between the value
    // and mmap (which would otherwise be handed a length rounded up past 2^64 to a few bytes).
    auto zero = MappedFile<Access::Read>::open("/dev/zero", {.offset = v, .length = 4096}, ec);
    CHECK((is_refused(ec) || ec == std::errc::not_enough_memory));
    zero = MappedFile<Access::Read>::open("/dev/zero", {.offset = 4096, .length = n}, ec);
    CHECK((is_refused(ec) || ec == std::errc::not_enough_memory));

    const std::string created = dir.file("created");
    auto made = MappedFile<Access::Write>::open(
        created, {.creation = Creation::CreateNew, .initial_size = v}, ec);
    CHECK(ec);
    CHECK_FALSE(std::filesystem::exists(created));

    for (auto* view :
         {static_cast<detail::MappingCore*>(&write), static_cast<detail::MappingCore*>(&read),
          static_cast<detail::MappingCore*>(&cow)}) {
      const std::byte* data = view->data();
      if (view == &write) write.resize(n, ec);
      if (view == &read) read.resize(n, ec);
      if (view == &cow) cow.resize(n, ec);
      // Write may get as far as posix_fallocate (EFBIG, ENOSPC) for values below 2^63.
      CHECK((view == &write ? static_cast<bool>(ec) : is_refused(ec)));
      CHECK(view->size() == 128);
      CHECK(view->data() == data);
    }
    write.truncate_file(v, ec);
    if (v == two_63 - 1 && !ec) {
      write.truncate_file(contents.size());  // tmpfs takes a sparse 2^63-1 byte file: fine
    } else {
      CHECK(ec);
    }
    CHECK(write.size() == 128);
    write.flush(SyncPolicy::Sync, n, 1, ec);
    CHECK(ec == std::errc::invalid_argument);
    if (n != whole) {  // SIZE_MAX is `whole`, "to the end"
      write.flush(SyncPolicy::Sync, 1, n, ec);
      CHECK(ec == std::errc::invalid_argument);
    }
    write.flush(SyncPolicy::Sync, n, whole, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK(size_of(path) == contents.size());
  }
  CHECK(test::read_file(path) == contents);
  CHECK(test::open_fd_count() == fds);
  CHECK(test::mapping_count() == maps);
}

TEST_CASE("A NUL byte in a path is refused before any syscall and shown as \\0 in messages") {
  TempDir dir;
  const std::string prefix = dir.file("abc");
  const std::string path = prefix + std::string(1, '\0') + "def";
  const std::size_t fds = test::open_fd_count();
  try {
    MappedFile<Access::Write> file(path, {.creation = Creation::CreateNew, .initial_size = 10});
    FAIL("a path with a NUL byte was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(e.path() == path);
    // The whole name is in the message, the NUL written as \0; nothing after it is lost.
    CHECK(std::string(e.what()).find(prefix + "\\0def") != std::string::npos);
    CHECK(std::string(e.what()).find("NUL byte") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(prefix));  // before: the truncated name was created
  test::write_file(prefix, "prefix only");
  std::error_code ec;
  auto read = MappedFile<Access::Read>::open(path, {}, ec);  // before: mapped "abc"
  CHECK(ec == std::errc::invalid_argument);
  CHECK_FALSE(read);
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Error's message escapes NUL bytes in any part") {
  const Error e("shm_open", std::string("/na\0me", 6), std::make_error_code(std::errc::io_error),
                std::string("a\0b", 3));
  CHECK(std::string(e.what()) == "shm_open: /na\\0me: Input/output error (a\\0b)");
  CHECK(e.path().size() == 6);
}

TEST_CASE(
    "A null const char* path is an invalid_argument error, never an exception from noexcept") {
  const char* null = nullptr;
  std::error_code ec;
  auto file = MappedFile<Access::Read>::open(null, {}, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK_FALSE(file);
  try {
    MappedFile<Access::Write> thrown(null);
    FAIL("null path accepted");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(std::string(e.what()).find("null pointer") != std::string::npos);
  }
}

TEST_CASE("std::filesystem::path, std::string, std::string_view and literals all name a file") {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "data";
  test::write_file(path.string(), "contents");
  MappedFile<Access::Read> by_path(path);
  CHECK(by_path.size() == 8);
  CHECK(by_path.path() == path.string());
  std::error_code ec;
  auto opened = MappedFile<Access::CopyOnWrite>::open(path, {.offset = 3}, ec);
  CHECK_FALSE(ec);
  CHECK(opened.size() == 5);
  const std::string as_string = path.string();
  const std::string_view as_view = as_string;
  MappedFile<Access::Read> by_string(as_string);
  MappedFile<Access::Read> by_view{std::filesystem::path(as_view)};
  MappedFile<Access::Read> by_literal(as_string.c_str());
  CHECK(by_string.size() == 8);
  CHECK(by_view.size() == 8);
  CHECK(by_literal.size() == 8);
}

TEST_CASE("flush refuses a policy outside SyncPolicy, and messages show the real range") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, test::pattern(3 * page_size()));
  MappedFile<Access::Write> file(path, {.offset = 5});
  std::error_code ec;
  file.flush(static_cast<SyncPolicy>(42), 0, whole, ec);  // before: taken as MS_SYNC
  CHECK(ec == std::errc::invalid_argument);
  CHECK_THROWS_WITH(file.flush(static_cast<SyncPolicy>(42)), Catch::Contains("42"));
  try {
    file.flush(static_cast<SyncPolicy>(-1));
    FAIL("policy -1 accepted");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(e.operation() == "msync");
  }

  // msync refuses MS_INVALIDATE over locked pages (EBUSY): the message names the whole view.
  if (!test::mlock_is_real) return;
  std::error_code lock_ec;
  auto pinned = MappedFile<Access::Write>::open(path, {.offset = 5, .locked = true}, lock_ec);
  if (lock_ec) {
    std::puts("skipped: cannot mlock here");
    return;
  }
  try {
    pinned.flush(SyncPolicy::Invalidate);
    FAIL("MS_INVALIDATE over locked pages succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::device_or_resource_busy);
    const std::string what = e.what();
    CHECK(what.find("18446744073709551615") == std::string::npos);
    CHECK(what.find("length=" + std::to_string(3 * page_size() - 5)) != std::string::npos);
  }
}

TEST_CASE("A call that fails leaves no file it created (issue 9, item 4)") {
  TempDir dir;
  const std::string path = dir.file("new");
  const std::size_t fds = test::open_fd_count();
  const std::size_t maps = test::mapping_count();
  std::error_code ec;
  // OpenOrCreate cannot know the size before it looks: it creates, the range fails, it unlinks.
  auto late = MappedFile<Access::Write>::open(
      path, {.offset = 8192, .creation = Creation::OpenOrCreate, .initial_size = 4096}, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(path));  // before: a 4096-byte file was left
  // CreateNew and CreateOrTruncate know it: refused before anything is created.
  for (Creation creation : {Creation::CreateNew, Creation::CreateOrTruncate}) {
    auto early = MappedFile<Access::Write>::open(
        path, {.offset = 8192, .creation = creation, .initial_size = 4096}, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK_FALSE(std::filesystem::exists(path));
  }
  // A file that was already there is never removed, whatever fails.
  test::write_file(path, "kept");
  auto existing = MappedFile<Access::Write>::open(
      path, {.offset = 8192, .creation = Creation::OpenOrCreate, .initial_size = 4096}, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(test::read_file(path) == "kept");
  CHECK(test::open_fd_count() == fds);
  CHECK(test::mapping_count() == maps);
}

TEST_CASE("A create on a full filesystem is ENOSPC now and leaves no file", "[no-valgrind]") {
  TempDir dir;
  const std::string mount_point = dir.file("tiny");
  std::filesystem::create_directory(mount_point);
  const int status = test::run_in_child([&] {
    // A private mount namespace: the 1 MiB tmpfs is seen by this child only.
    if (::unshare(CLONE_NEWNS) != 0) return 3;
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 3;
    if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1M") != 0) return 3;
    const std::string path = mount_point + "/big";
    const std::size_t fds = test::open_fd_count();
    std::error_code ec;
    auto file = MappedFile<Access::Write>::open(
        path, {.creation = Creation::CreateNew, .initial_size = 4 << 20}, ec);
    if (ec != std::errc::no_space_on_device) return 4;
    if (std::filesystem::exists(path)) return 5;  // before: the new file stayed behind
    if (test::open_fd_count() != fds) return 6;
    // The filesystem is still usable: a size that fits works.
    auto fits = MappedFile<Access::Write>::open(
        path, {.creation = Creation::CreateNew, .initial_size = 4096}, ec);
    if (ec || fits.size() != 4096) return 7;
    // Growing the view past what the disk holds: ENOSPC, the view and the file as they were.
    const std::byte* data = fits.data();
    fits.resize(4 << 20, ec);
    if (ec != std::errc::no_space_on_device) return 8;
    if (fits.size() != 4096 || fits.data() != data) return 9;
    if (std::filesystem::file_size(path) != 4096) return 10;
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) {
    std::puts("skipped: no private mount namespace with tmpfs here (needs CAP_SYS_ADMIN)");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

namespace {

// Runs `body` in a child that SIGALRM kills after 5 s, so that a call that blocks fails the test
// instead of hanging it.
int within_five_seconds(const std::function<int()>& body) {
  return test::run_in_child([&] {
    ::alarm(5);
    return body();
  });
}

}  // namespace

TEST_CASE("Opening a FIFO, a socket or a device never blocks and is a clear error (item 6)") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string socket_path = dir.file("sock");
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);

  const int status = within_five_seconds([&] {
    for (const std::string& path : {fifo, socket_path}) {
      for (int mode = 0; mode < 3; ++mode) {
        try {
          if (mode == 0) MappedFile<Access::Read> file(path);  // before: blocked forever
          if (mode == 1) MappedFile<Access::CopyOnWrite> file(path, {.length = 4096});
          if (mode == 2) MappedFile<Access::Write> file(path);
          return 10 + mode;
        } catch (const Error& e) {
          const std::string what = e.what();
          if (e.code() != std::errc::no_such_device) return 20 + mode;
          if (what.find("not a regular file") == std::string::npos) return 30 + mode;
          if (what.find("give a length") != std::string::npos) return 40 + mode;  // no use here
        }
      }
    }
    return 0;
  });
  ::close(listener);
  INFO("child status " << status);
  REQUIRE(WIFEXITED(status));  // SIGALRM: the open blocked
  CHECK(WEXITSTATUS(status) == 0);

  // A character device: a length is what it needs, and the message says so.
  try {
    MappedFile<Access::Read> zero("/dev/zero");
    FAIL("/dev/zero mapped without a length");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::no_such_device);
    CHECK(std::string(e.what()).find("give a length") != std::string::npos);
  }
  MappedFile<Access::CopyOnWrite> zero("/dev/zero", {.length = 3 * page_size()});
  CHECK(zero.size() == 3 * page_size());
  CHECK(zero[page_size()] == std::byte{0});
  CHECK((::fcntl(zero.fd(), F_GETFL) & O_NONBLOCK) == 0);  // kept descriptor blocks as usual
}

TEST_CASE("Out of descriptors (RLIMIT_NOFILE): EMFILE naming the call, nothing leaked",
          "[no-valgrind]") {
  TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, "bytes");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const int status = test::run_in_child([&] {
    const std::size_t maps = test::mapping_count();
    // No descriptor number is free any more.
    rlimit old{};
    ::getrlimit(RLIMIT_NOFILE, &old);
    const rlimit limit{static_cast<rlim_t>(fd + 1), old.rlim_max};
    for (int n = 0; n <= fd; ++n)
      if (::fcntl(n, F_GETFD) < 0) ::dup2(fd, n);
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 3;
    std::error_code ec;
    auto by_path = MappedFile<Access::Read>::open(path, {}, ec);
    if (ec != std::errc::too_many_files_open) return 4;
    auto by_fd = MappedFile<Access::Write>::open(fd, {}, ec);  // needs a duplicate
    if (ec != std::errc::too_many_files_open) return 5;
    try {
      MappedFile<Access::Write> thrown(path);
      return 6;
    } catch (const Error& e) {
      if (e.operation() != "open" || e.path() != path) return 7;
    }
    ::setrlimit(RLIMIT_NOFILE, &old);  // reading /proc/self/maps needs a descriptor
    if (test::mapping_count() != maps) return 8;
    return 0;
  });
  ::close(fd);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
