#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <climits>
#include <cstring>
#include <filesystem>

#include "mmapxx/shared_memory.hpp"
#include "shm_support.hpp"
#include "support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

// Runs `call`, which must throw an mmapxx::Error; returns it.
template <class Call>
Error error_of(Call call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no mmapxx::Error was thrown");
  throw std::logic_error("unreachable");
}

unsigned mode_on_disk(const std::string& name) {
  struct stat st {};
  REQUIRE(::stat(("/dev/shm" + name).c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("shm names are validated before any system call", "[shm][names]") {
  LeakCheck leaks;
  const std::string long_ok = "/" + std::string(NAME_MAX, 'a');
  struct Case {
    std::string name;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty"},
      {"no-slash", "start with '/'"},
      {"/", "nothing after '/'"},
      {"/a/b", "'/' after the first"},
      {"/mmapxx-test-x/", "'/' after the first"},
      {"/.", "\"/.\""},
      {"/..", "\"/..\""},
      {long_ok + "b", "NAME_MAX"},
      {std::string("/mmapxx-test-nul\0x", 18), "NUL"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK_FALSE(is_valid_shm_name(c.name));
    const Error e = error_of([&] { SharedMemoryObject::create(c.name); });
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(e.detail().find(c.why) != std::string::npos);
    CHECK(error_of([&] { SharedMemoryObject::open(c.name); }).code() ==
          std::errc::invalid_argument);
    CHECK(error_of([&] { SharedMemoryObject::open_or_create(c.name); }).code() ==
          std::errc::invalid_argument);
    CHECK(error_of([&] { SharedMemoryObject::remove(c.name); }).code() ==
          std::errc::invalid_argument);
    std::error_code ec;
    CHECK_FALSE(SharedMemoryObject::create(c.name, 0600, ec));
    CHECK(ec == std::errc::invalid_argument);
    CHECK_FALSE(SharedMemoryObject::open(c.name, ec));
    CHECK(ec == std::errc::invalid_argument);
  }
  // glibc would have used "/mmapxx-test-nul" (cut at the NUL) and ENAMETOOLONG for the long name:
  // EINVAL with our detail proves the check ran first.
  CHECK(is_valid_shm_name(long_ok));
  CHECK(is_valid_shm_name("/mmapxx-test-ok"));
  // Bad modes are refused too.
  CHECK(error_of([] { SharedMemoryObject::create(shm_name("mode"), 04600); }).code() ==
        std::errc::invalid_argument);
  // The longest valid name really works.
  const std::string longest = shm_prefix() + std::string(NAME_MAX + 1 - shm_prefix().size(), 'L');
  REQUIRE(longest.size() == NAME_MAX + 1);
  auto object = SharedMemoryObject::create(longest);
  object.unlink();
}

TEST_CASE("exclusive create, open of a missing name, open_or_create", "[shm]") {
  LeakCheck leaks;
  const std::string name = shm_name("excl");
  auto first = SharedMemoryObject::create(name);
  first.set_remove_on_destroy(true);
  CHECK(first.created());
  CHECK(first.name() == name);

  const std::size_t fds_before = open_fd_count();
  const Error e = error_of([&] { SharedMemoryObject::create(name); });
  CHECK(e.code() == std::errc::file_exists);
  CHECK(e.operation() == "shm_open");
  CHECK(e.path() == name);
  CHECK(std::string(e.what()) == "shm_open: " + name + ": File exists");
  std::error_code ec;
  CHECK_FALSE(SharedMemoryObject::create(name, 0600, ec));
  CHECK(ec == std::errc::file_exists);

  const std::string missing = shm_name("missing");
  CHECK(error_of([&] { SharedMemoryObject::open(missing); }).code() ==
        std::errc::no_such_file_or_directory);
  CHECK_FALSE(SharedMemoryObject::open(missing, ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK(error_of([&] { SharedMemoryObject::remove(missing); }).code() ==
        std::errc::no_such_file_or_directory);

  auto again = SharedMemoryObject::open_or_create(name);
  CHECK_FALSE(again.created());
  auto fresh = SharedMemoryObject::open_or_create(missing, 0600, ec);
  REQUIRE_FALSE(ec);
  CHECK(fresh.created());
  fresh.unlink();
  CHECK_FALSE(fresh.remove_on_destroy());
  CHECK(error_of([&] { fresh.unlink(); }).code() == std::errc::no_such_file_or_directory);
  // Failed calls kept no descriptor: only `again` and `fresh` were added.
  CHECK(open_fd_count() == fds_before + 2);
}

TEST_CASE("open_or_create never fails while peers create and remove the name", "[shm]") {
  LeakCheck leaks;
  const std::string name = shm_name("race");
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      for (int i = 0; i < 300 && code == 0; ++i) {
        std::error_code ec;
        auto object = SharedMemoryObject::open_or_create(name, 0600, ec);
        if (ec || !object) code = 1;
        SharedMemoryObject::remove(name, ec);  // ENOENT when a peer removed it first: fine
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  std::error_code ignored;
  SharedMemoryObject::remove(name, ignored);
}

TEST_CASE("create_unique makes fresh unguessable names", "[shm]") {
  LeakCheck leaks;
  const std::string prefix = shm_prefix() + "u-";
  auto a = SharedMemoryObject::create_unique(prefix);
  auto b = SharedMemoryObject::create_unique(prefix);
  a.set_remove_on_destroy(true);
  b.set_remove_on_destroy(true);
  CHECK(a.name().rfind(prefix, 0) == 0);
  CHECK(a.name().size() > prefix.size() + 8);
  CHECK(a.name() != b.name());
  CHECK(a.created());
  CHECK(a.mode() == 0600);
  CHECK(error_of([] { SharedMemoryObject::create_unique("no-slash"); }).code() ==
        std::errc::invalid_argument);
  CHECK(error_of([] { SharedMemoryObject::create_unique("/a/"); }).code() ==
        std::errc::invalid_argument);
  CHECK(error_of([] {
          SharedMemoryObject::create_unique("/" + std::string(NAME_MAX - 4, 'p'));
        }).code() == std::errc::invalid_argument);
}

TEST_CASE("the mode is the one asked for whatever the umask", "[shm]") {
  LeakCheck leaks;
  const mode_t saved = ::umask(077);
  const std::string strict = shm_name("umask077");
  auto group = SharedMemoryObject::create(strict, 0640);
  group.set_remove_on_destroy(true);
  ::umask(000);
  const std::string open = shm_name("umask000");
  auto owner = SharedMemoryObject::create(open);  // default 0600, not 0666 & ~umask
  owner.set_remove_on_destroy(true);
  auto both = SharedMemoryObject::open_or_create(shm_name("umask000b"), 0604);
  both.set_remove_on_destroy(true);
  ::umask(saved);
  CHECK(group.mode() == 0640);
  CHECK(mode_on_disk(strict) == 0640);
  CHECK(owner.mode() == 0600);
  CHECK(mode_on_disk(open) == 0600);
  CHECK(both.mode() == 0604);
}

TEST_CASE("a symlink planted in /dev/shm is refused", "[shm]") {
  LeakCheck leaks;
  TempDir dir;
  const std::string target = dir.file("victim");
  write_file(target, "precious");
  const std::string name = shm_name("link");
  const std::string link = "/dev/shm" + name;
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  CHECK(error_of([&] { SharedMemoryObject::open(name); }).code() ==
        std::errc::too_many_symbolic_link_levels);
  CHECK(error_of([&] { SharedMemoryObject::open_or_create(name); }).code() ==
        std::errc::too_many_symbolic_link_levels);
  CHECK(error_of([&] { SharedMemoryObject::create(name); }).code() == std::errc::file_exists);
  CHECK(read_file(target) == "precious");
  std::filesystem::remove(link);
}

TEST_CASE("resize grows with real pages and shrinks", "[shm]") {
  LeakCheck leaks;
  auto object = SharedMemoryObject::create(shm_name("resize"));
  object.set_remove_on_destroy(true);
  CHECK(object.size() == 0);
  CHECK(object.map<Access::Read>().empty());
  object.resize(10000);
  CHECK(object.size() == 10000);
  {
    auto map = object.map<Access::Write>();
    REQUIRE(map.size() == 10000);
    const std::string bytes = pattern(10000);
    std::memcpy(map.data(), bytes.data(), bytes.size());
  }
  struct stat st {};
  REQUIRE(::fstat(object.fd(), &st) == 0);
  CHECK(st.st_blocks * 512 >= 10000);  // allocated, not a sparse hole

  object.resize(100);
  CHECK(object.size() == 100);
  auto view = object.map<Access::Read>();
  CHECK(std::string(reinterpret_cast<const char*>(view.data()), view.size()) == pattern(100));
  object.resize(100);  // same size: nothing to do
  std::error_code ec;
  object.resize(0, ec);
  CHECK_FALSE(ec);
  CHECK(object.size() == 0);

  // More than the machine's memory fails now, before any allocation (not with SIGBUS on first
  // touch, nor with the OOM killer), and changes nothing.
  const Error e = error_of([&] { object.resize(std::uint64_t{1} << 50); });
  CHECK(e.code() == std::errc::not_enough_memory);
  CHECK(e.operation() == "resize");
  CHECK(std::string(e.what()).find("MemAvailable") != std::string::npos);
  CHECK(object.size() == 0);
}

TEST_CASE("a mapping is shared with a forked process that opens the name", "[shm]") {
  LeakCheck leaks;
  const std::string name = shm_name("fork");
  auto object = SharedMemoryObject::create(name);
  object.set_remove_on_destroy(true);
  object.resize(4096);
  auto map = object.map<Access::Write>();
  std::memcpy(map.data(), "parent", 6);
  const int status = run_in_child([&] {
    auto peer = SharedMemoryObject::open(name);
    auto view = peer.map<Access::Write>({.offset = 0, .length = 4096});
    if (std::memcmp(view.data(), "parent", 6) != 0) return 1;
    std::memcpy(view.data() + 100, "child", 5);
    return 0;
  });
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(std::memcmp(map.data() + 100, "child", 5) == 0);
  auto copy = object.map<Access::CopyOnWrite>();
  copy[0] = std::byte{'X'};
  CHECK(map[0] == std::byte{'p'});
}

TEST_CASE("open_read_only maps for reading and refuses writing", "[shm]") {
  LeakCheck leaks;
  const std::string name = shm_name("readonly");
  auto object = SharedMemoryObject::create(name, 0644);
  object.set_remove_on_destroy(true);
  object.resize(4096);
  object.map<Access::Write>()[7] = std::byte{7};

  auto reader = SharedMemoryObject::open_read_only(name);
  CHECK(reader.map<Access::Read>()[7] == std::byte{7});
  auto copy = reader.map<Access::CopyOnWrite>();
  copy[7] = std::byte{8};  // private: the object keeps 7
  CHECK(reader.map<Access::Read>()[7] == std::byte{7});
  CHECK(error_of([&] { reader.map<Access::Write>(); }).code() == std::errc::permission_denied);
  CHECK(error_of([&] { reader.resize(8192); }).code() == std::errc::bad_file_descriptor);
  std::error_code ec;
  CHECK_FALSE(SharedMemoryObject::open_read_only(shm_name("absent"), ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
}

TEST_CASE("remove-on-destroy: only the owner process, only its own object", "[shm]") {
  LeakCheck leaks;
  const std::string name = shm_name("owner");
  {
    auto object = SharedMemoryObject::create(name);
    object.set_remove_on_destroy(true);
    // A forked child destroying its inherited copy must not remove the parent's name.
    const int status = run_in_child([&] {
      SharedMemoryObject inherited = std::move(object);
      { SharedMemoryObject gone = std::move(inherited); }
      return 0;
    });
    CHECK(WIFEXITED(status));
    CHECK(shm_entries().count(name.substr(1)) == 1);

    SharedMemoryObject moved = std::move(object);
    CHECK(object.fd() == -1);
    CHECK(moved.remove_on_destroy());
  }
  CHECK(shm_entries().count(name.substr(1)) == 0);

  // An owner whose name was removed and reused by someone else leaves the newcomer alone.
  auto old_owner = std::make_unique<SharedMemoryObject>(SharedMemoryObject::create(name));
  old_owner->set_remove_on_destroy(true);
  SharedMemoryObject::remove(name);
  auto newcomer = SharedMemoryObject::create(name);
  old_owner.reset();
  CHECK(shm_entries().count(name.substr(1)) == 1);
  newcomer.unlink();
}

TEST_CASE("no shared-memory descriptor leaks into an exec'd program", "[shm]") {
  LeakCheck leaks;
  auto object = SharedMemoryObject::create(shm_name("cloexec"));
  object.set_remove_on_destroy(true);
  object.resize(4096);
  auto map = object.map<Access::Write>();
  const ChildResult child = run_helper({"fds"});
  REQUIRE(child.ok());
  INFO(child.output);
  CHECK(child.output.find("1 pipe:") != std::string::npos);  // the listing itself works
  CHECK(child.output.find("/dev/shm") == std::string::npos);
  CHECK(child.output.find("\n" + std::to_string(object.fd()) + " ") == std::string::npos);
  CHECK(child.output.rfind(std::to_string(object.fd()) + " ", 0) == std::string::npos);
}
