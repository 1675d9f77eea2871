// Durability helpers: sync_data, sync_directory, ReplacementFile (atomic create and replace,
// nothing left behind on failure, on destruction, or when the process is killed).
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <mmapxx/mmapxx.hpp>

#include "support.hpp"

using namespace mmapxx::test;

namespace {

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

void write_fd(int fd, const std::string& text) {
  REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
}

std::errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mmapxx::Error& e) {
    return static_cast<std::errc>(e.code().value());
  }
  return std::errc{};
}

}  // namespace

TEST_CASE("sync_data and sync_directory succeed on files and directories, fail clearly otherwise",
          "[durability]") {
  TempDir dir("/var/tmp");
  const std::string file = dir.file("f");
  write_file(file, "data");
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::error_code ec;
  mmapxx::sync_data(fd, ec);
  CHECK_FALSE(ec);
  mmapxx::sync_data(fd, "f");
  ::close(fd);
  mmapxx::sync_data(fd, ec);  // closed
  CHECK(ec == std::errc::bad_file_descriptor);
  try {
    mmapxx::sync_data(fd, "closed");
    FAIL("no error");
  } catch (const mmapxx::Error& e) {
    CHECK(e.operation() == "fdatasync");
    CHECK(e.path() == "closed");
  }

  const std::size_t fds = open_fd_count();
  mmapxx::sync_directory(dir.path());
  mmapxx::sync_directory(dir.path(), ec);
  CHECK_FALSE(ec);
  mmapxx::sync_directory(dir.file("missing"), ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  mmapxx::sync_directory(file, ec);
  CHECK(ec == std::errc::not_a_directory);
  mmapxx::sync_directory("", ec);
  CHECK(ec == std::errc::invalid_argument);
  mmapxx::sync_directory(std::string("/var/tmp\0/x", 11), ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(code_of([&] { mmapxx::sync_directory(dir.file("missing")); }) ==
        std::errc::no_such_file_or_directory);
  CHECK(open_fd_count() == fds);
}

TEST_CASE("ReplacementFile creates its target only on commit, with the mode asked for",
          "[durability]") {
  for (const char* base : {"/var/tmp", "/dev/shm"}) {
    INFO(base);
    TempDir dir(base);
    const std::string target = dir.file("new.txt");
    const mode_t mask = ::umask(077);
    {
      mmapxx::ReplacementFile out(target);
      REQUIRE(out.is_open());
      CHECK(out.unnamed());  // ext4 and tmpfs support O_TMPFILE
      CHECK(out.temporary_path().empty());
      write_fd(out.fd(), "complete");
      CHECK(names_in(dir.path()).empty());  // nothing has a name yet
      out.commit({.mode = 0644, .durable = true});
      CHECK_FALSE(out.is_open());
    }
    ::umask(mask);
    CHECK(read_file(target) == "complete");
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"new.txt"});
  }
}

TEST_CASE("ReplacementFile replaces an existing file atomically, or keeps it on request",
          "[durability]") {
  TempDir dir("/var/tmp");
  const std::string target = dir.file("t");
  write_file(target, "old");
  REQUIRE(::link(target.c_str(), dir.file("old-link").c_str()) == 0);
  {
    mmapxx::ReplacementFile out(target);
    write_fd(out.fd(), "new contents");
    CHECK(read_file(target) == "old");  // untouched until commit
    out.commit({.mode = 0600});
  }
  CHECK(read_file(target) == "new contents");
  CHECK(read_file(dir.file("old-link")) == "old");  // a new inode replaced the name
  CHECK(names_in(dir.path()) == std::vector<std::string>{"old-link", "t"});

  {
    mmapxx::ReplacementFile out(target);
    write_fd(out.fd(), "should not land");
    std::error_code ec;
    out.commit({.existing = mmapxx::Existing::Keep}, ec);
    CHECK(ec == std::errc::file_exists);
    CHECK(out.is_open());  // still uncommitted: the destructor removes it
    CHECK(code_of([&] { out.commit({.existing = mmapxx::Existing::Keep}); }) ==
          std::errc::file_exists);
  }
  CHECK(read_file(target) == "new contents");
  CHECK(names_in(dir.path()) == std::vector<std::string>{"old-link", "t"});

  mmapxx::ReplacementFile fresh(dir.file("fresh"));
  write_fd(fresh.fd(), "x");
  fresh.commit({.existing = mmapxx::Existing::Keep});
  CHECK(read_file(dir.file("fresh")) == "x");
}

TEST_CASE(
    "ReplacementFile in a borrowed directory descriptor: created with its mode, the "
    "descriptor never closed",
    "[durability]") {
  for (const char* base : {"/var/tmp", "/dev/shm"}) {
    INFO(base);
    TempDir dir(base);
    const int directory = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(directory >= 0);
    const std::size_t fds = open_fd_count();
    const mode_t mask = ::umask(022);
    for (int i = 0; i < 3; ++i) {
      // One descriptor for every file; keep_mode: the mode given at creation, less the umask.
      mmapxx::ReplacementFile out(directory, dir.file("f" + std::to_string(i)), 0666);
      CHECK(out.unnamed());
      write_fd(out.fd(), "file " + std::to_string(i));
      out.commit({.mode = 0600, .keep_mode = true});
    }
    {
      // Without keep_mode, commit's mode wins; a discarded file leaves the descriptor open too.
      mmapxx::ReplacementFile out(directory, dir.file("f0"), 0666);
      write_fd(out.fd(), "replaced");
      out.commit({.mode = 0640, .durable = true});
      mmapxx::ReplacementFile dropped(directory, dir.file("dropped"));
    }
    ::umask(mask);
    CHECK(::fcntl(directory, F_GETFD) >= 0);
    CHECK(open_fd_count() == fds);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"f0", "f1", "f2"});
    CHECK(read_file(dir.file("f0")) == "replaced");
    CHECK(read_file(dir.file("f2")) == "file 2");
    struct stat st {};
    REQUIRE(::stat(dir.file("f0").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    REQUIRE(::stat(dir.file("f1").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    std::error_code ec;
    mmapxx::ReplacementFile::create(-1, dir.file("x"), 0600, ec);
    CHECK(ec == std::errc::invalid_argument);
    mmapxx::ReplacementFile::create(directory, dir.path().string() + "/", 0600, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK(code_of([&] { mmapxx::ReplacementFile(directory, ""); }) == std::errc::invalid_argument);
    CHECK(open_fd_count() == fds);
    ::close(directory);
  }
}

TEST_CASE("ReplacementFile refuses bad targets before any syscall and leaks nothing",
          "[durability]") {
  TempDir dir("/var/tmp");
  const std::size_t fds = open_fd_count();
  std::error_code ec;
  for (const std::string& bad :
       {std::string(), dir.path().string() + "/", std::string("a\0b", 3), std::string("..")}) {
    INFO("target '" << bad << "'");
    const auto file = mmapxx::ReplacementFile::create(bad, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK_FALSE(file.is_open());
    CHECK(code_of([&] { mmapxx::ReplacementFile{bad}; }) == std::errc::invalid_argument);
  }
  mmapxx::ReplacementFile::create(dir.file("no/such/dir/x"), ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  try {
    mmapxx::ReplacementFile out(dir.file("missing/x"));
    FAIL("no error");
  } catch (const mmapxx::Error& e) {
    CHECK(e.operation() == "open");
    CHECK(e.path() == dir.file("missing/x"));
  }
  // A directory in the way: the commit fails, the directory stays, the file vanishes.
  std::filesystem::create_directory(dir.file("sub"));
  {
    mmapxx::ReplacementFile out(dir.file("sub"));
    out.commit({}, ec);
    CHECK((ec == std::errc::is_a_directory || ec == std::errc::file_exists));
  }
  CHECK(std::filesystem::is_directory(dir.file("sub")));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"sub"});
  CHECK(open_fd_count() == fds);
}

TEST_CASE("ReplacementFile destroyed, discarded or killed before commit leaves nothing",
          "[durability]") {
  TempDir dir("/var/tmp");
  {
    mmapxx::ReplacementFile out(dir.file("a"));
    write_fd(out.fd(), "abandoned");
  }
  mmapxx::ReplacementFile moved_from(dir.file("b"));
  mmapxx::ReplacementFile b = std::move(moved_from);
  CHECK_FALSE(moved_from.is_open());
  b.discard();
  b.discard();
  CHECK_FALSE(b.is_open());
  std::error_code ec;
  b.commit({}, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(names_in(dir.path()).empty());

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    mmapxx::ReplacementFile out(dir.file("killed"));
    const std::string data(1 << 20, 'k');
    if (::write(out.fd(), data.data(), data.size()) < 0) ::_exit(3);
    ::kill(::getpid(), SIGKILL);
    ::_exit(2);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(names_in(dir.path()).empty());
}

TEST_CASE("A file written through a mapping of a ReplacementFile commits whole", "[durability]") {
  TempDir dir("/var/tmp");
  const std::string target = dir.file("mapped");
  mmapxx::ReplacementFile out(target);
  REQUIRE(::ftruncate(out.fd(), 8192) == 0);
  {
    mmapxx::MappedFile<mmapxx::Access::Write> map(out.fd(), {}, target);
    std::fill(map.data(), map.data() + map.size(), std::byte{'m'});
    map.flush();
  }
  out.commit({.mode = 0600, .durable = true});
  CHECK(read_file(target) == std::string(8192, 'm'));
}

TEST_CASE("ReplacementFile commits without CAP_DAC_READ_SEARCH", "[durability]") {
  TempDir dir("/var/tmp");
  const std::string target = dir.file("no-cap");
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Drop the capability linkat(AT_EMPTY_PATH) needs, so the fallback path runs.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) != 0) ::_exit(10);
    data[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
    if (::syscall(SYS_capset, &header, data) != 0) ::_exit(11);
    mmapxx::ReplacementFile out(target);
    if (!out.unnamed()) ::_exit(12);
    // Linux 6.10+ lets the opener link its own file without the capability.
    // (Probed on a file of its own: an O_TMPFILE linked once and unlinked cannot be linked again.)
    const int probe = ::open(dir.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    const bool direct =
        ::linkat(probe, "", AT_FDCWD, dir.file("probe").c_str(), AT_EMPTY_PATH) == 0;
    if (direct) ::unlink(dir.file("probe").c_str());
    ::close(probe);
    if (::write(out.fd(), "via proc", 8) != 8) ::_exit(14);
    std::error_code ec;
    out.commit({.mode = 0600}, ec);
    ::_exit(ec ? 15 : direct ? 20 : 0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 20)
    std::puts(
        "note: this kernel links an O_TMPFILE with AT_EMPTY_PATH without CAP_DAC_READ_SEARCH "
        "(Linux 6.10+): the /proc/self/fd fallback was not needed");
  INFO("child exit " << WEXITSTATUS(status));
  CHECK((WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 20));
  CHECK(read_file(target) == "via proc");
}
