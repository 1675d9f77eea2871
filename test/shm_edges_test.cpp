// Shared memory at the edges: growth the machine cannot back (inside a small memory cgroup, so a
// regression cannot hurt the machine), the descriptor limit, sizes near 2^64, hostile names.
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "mmapxx/memfd.hpp"
#include "mmapxx/shared_memory.hpp"
#include "mmapxx/sysv.hpp"
#include "shm_support.hpp"
#include "support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A cgroup v1 memory cgroup of our own with a small limit, removed on destruction. When it cannot
// be made (no v1 memory hierarchy, not root), reason() says why and the test skips.
class MemoryCgroup {
 public:
  explicit MemoryCgroup(std::uint64_t limit) {
    const std::string root = "/sys/fs/cgroup/memory";
    static int serial = 0;
    const std::string path =
        root + "/mmapxx-test-" + std::to_string(::getpid()) + "-" + std::to_string(++serial);
    if (::access((root + "/cgroup.procs").c_str(), W_OK) != 0) {
      reason_ = "no writable cgroup v1 memory hierarchy at " + root;
      return;
    }
    if (::mkdir(path.c_str(), 0755) != 0) {
      reason_ = "mkdir " + path + ": " + std::strerror(errno);
      return;
    }
    path_ = path;
    if (!write_file(path_ + "/memory.limit_in_bytes", std::to_string(limit)) ||
        read_file(path_ + "/memory.limit_in_bytes") != std::to_string(limit) + "\n") {
      reason_ = "cannot set " + path_ + "/memory.limit_in_bytes";
      ::rmdir(path_.c_str());
      path_.clear();
    }
  }
  ~MemoryCgroup() {
    // The charge of a dead child's memory may take a moment to go: retry, then give up quietly.
    for (int i = 0; i < 200 && !path_.empty() && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i)
      ::usleep(10000);
  }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }
  // How often the kernel's OOM killer ran in this cgroup.
  long oom_kills() const {
    std::istringstream in(read_file(path_ + "/memory.oom_control"));
    std::string key;
    long value = 0;
    while (in >> key >> value)
      if (key == "oom_kill") return value;
    return 0;
  }

 private:
  std::string path_;
  std::string reason_;
};

constexpr int cannot_join = 90;  // the child's exit code when it could not enter the cgroup

// Runs `body` in a forked child moved into `group` first; returns the wait status. The child
// reports the first failed check as its exit code, and why on stderr.
template <class Body>
int run_in(const MemoryCgroup& group, Body body) {
  const std::string procs = group.path() + "/cgroup.procs";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!write_file(procs, std::to_string(::getpid()))) ::_exit(cannot_join);
    int code = 91;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: unexpected exception: %s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int fail(int code, const std::string& why) {
  std::fprintf(stderr, "child check %d failed: %s\n", code, why.c_str());
  return code;
}

// Fills the descriptor table up to a lowered RLIMIT_NOFILE (call in a forked child only); returns
// the last descriptor it took, below the limit, whose close frees one slot.
int exhaust_descriptors() {
  rlimit limit{64, 64};
  ::setrlimit(RLIMIT_NOFILE, &limit);
  int last = -1;
  for (int fd; (fd = ::dup(STDERR_FILENO)) >= 0;) last = fd;
  return last;
}

}  // namespace

TEST_CASE("growth a memory cgroup cannot back is ENOMEM at once, never the OOM killer",
          "[budget]") {
  LeakCheck leaks;
  MemoryCgroup group(64 * MiB);
  if (!group.ok()) {
    std::printf("skipped: growth inside a memory cgroup: %s\n", group.reason().c_str());
    return;
  }
  const std::string name = shm_name("budget");
  const std::string cgroup_name = group.path().substr(group.path().rfind('/'));
  const int status = run_in(group, [&] {
    // A memfd: 1 GiB is more than the cgroup allows, though the machine has it.
    SealedMemory memory("mmapxx-budget", 0);
    std::error_code ec;
    memory.resize(1024 * MiB, ec);
    if (ec != std::errc::not_enough_memory) return fail(1, "1 GiB: " + ec.message());
    const std::string message = message_of([&] { memory.resize(1024 * MiB); });
    if (!contains(message, "resize") || !contains(message, "memory.limit_in_bytes") ||
        !contains(message, cgroup_name))
      return fail(2, message);
    // 2^50 is more than the whole machine: the message names MemAvailable+SwapFree.
    memory.resize(std::uint64_t{1} << 50, ec);
    if (ec != std::errc::not_enough_memory) return fail(3, "2^50: " + ec.message());
    if (!contains(message_of([&] { memory.resize(std::uint64_t{1} << 50); }), "MemAvailable"))
      return fail(4, "2^50 message");
    if (memory.size() != 0) return fail(5, "size changed");
    // Still usable: what fits is granted.
    memory.resize(8 * MiB);
    if (memory.size() != 8 * MiB) return fail(6, "8 MiB");
    // Creating at a size that does not fit fails the same way and leaves nothing open.
    SealedMemory::create("mmapxx-budget", 1024 * MiB, ec);
    if (ec != std::errc::not_enough_memory) return fail(7, "create 1 GiB: " + ec.message());
    // A named object in /dev/shm, whose tmpfs has room but the cgroup has not.
    auto object = SharedMemoryObject::create(name);
    object.set_remove_on_destroy(true);
    object.resize(2 * MiB);
    object.resize(1024 * MiB, ec);
    if (ec != std::errc::not_enough_memory) return fail(8, "/dev/shm 1 GiB: " + ec.message());
    if (object.size() != 2 * MiB) return fail(9, "/dev/shm size changed");
    // A file view over that memory grows through posix_fallocate too: the same check applies.
    auto view = object.map<Access::Write>();
    view.resize(1024 * MiB, ec);
    if (ec != std::errc::not_enough_memory) return fail(10, "view 1 GiB: " + ec.message());
    if (view.size() != 2 * MiB || object.size() != 2 * MiB) return fail(11, "view size changed");
    return 0;
  });
  if (WIFEXITED(status) && WEXITSTATUS(status) == cannot_join) {
    std::printf("skipped: growth inside a memory cgroup: cannot move a process into %s\n",
                group.path().c_str());
    return;
  }
  INFO("wait status " << status);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(group.oom_kills() == 0);
  std::error_code ignored;
  SharedMemoryObject::remove(name, ignored);  // in case the child died before its cleanup
}

TEST_CASE("receive reports the descriptor limit, not a bad message", "[budget][no-valgrind]") {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 91;
    try {
      code = [] {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return fail(1, "pair");
        SealedMemory memory("mmapxx-test", 4096);
        memory.seal();
        for (int i = 0; i < 3; ++i) memory.send(sv[0]);
        const int spare = exhaust_descriptors();
        std::error_code ec;
        auto none = SealedMemory::receive(sv[1], fixed_size, ec);
        if (ec != std::errc::too_many_files_open) return fail(2, "ec: " + ec.message());
        if (none) return fail(3, "an object came back");
        const std::string message = message_of([&] { SealedMemory::receive(sv[1]); });
        if (!contains(message, "recvmsg") || !contains(message, "RLIMIT_NOFILE=64"))
          return fail(4, message);
        ::close(spare);  // one descriptor free again: the next message arrives
        auto received = SealedMemory::receive(sv[1], fixed_size, ec);
        if (ec || received.size() != 4096) return fail(5, "after: " + ec.message());
        return 0;
      }();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("create_unique errors name the caller's prefix; one operation name per syscall",
          "[budget][no-valgrind]") {
  LeakCheck leaks;
  const std::string prefix = shm_prefix() + "unique-";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 91;
    try {
      code = [&] {
        exhaust_descriptors();
        try {
          SharedMemoryObject::create_unique(prefix);
        } catch (const Error& e) {
          if (e.code() != std::errc::too_many_files_open) return fail(1, e.what());
          if (e.path() != prefix) return fail(2, "path " + e.path());
          if (e.operation() != "shm_open") return fail(3, e.operation());
          return 0;
        }
        return fail(4, "no error");
      }();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // Every factory names shm_open, the call that would have been made.
  const auto operation_of = [](const std::function<void()>& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.operation();
    }
    return std::string("no error");
  };
  CHECK(operation_of([] { SharedMemoryObject::create("no-slash"); }) == "shm_open");
  CHECK(operation_of([] { SharedMemoryObject::open_or_create("no-slash"); }) == "shm_open");
  CHECK(operation_of([] { SharedMemoryObject::create_unique("no-slash"); }) == "shm_open");
  CHECK(operation_of([] { SharedMemoryObject::open("no-slash"); }) == "shm_open");
  CHECK(operation_of([] { SharedMemoryObject::create("/ok", 04600); }) == "shm_open");
  CHECK(operation_of([] { SharedMemoryObject::remove("no-slash"); }) == "shm_unlink");
}

TEST_CASE("a name with a NUL byte is refused, with the NUL escaped", "[budget]") {
  LeakCheck leaks;
  const std::string name = shm_prefix() + std::string("nul\0tail", 8);
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { SharedMemoryObject::create(name); },
           [&] { SharedMemoryObject::open(name); },
           [&] { SharedMemoryObject::open_or_create(name); },
           [&] { SharedMemoryObject::create_unique(name); },
           [&] { SharedMemoryObject::remove(name); },
       }) {
    try {
      call();
      FAIL("accepted a name with a NUL byte");
    } catch (const Error& e) {
      CHECK(e.code() == std::errc::invalid_argument);
      CHECK(contains(e.detail(), "nul\\0tail"));
      CHECK(e.detail().find('\0') == std::string::npos);
    }
  }
  std::error_code ec;
  SharedMemoryObject::create(name, 0600, ec);
  CHECK(ec == std::errc::invalid_argument);
  try {
    SealedMemory(std::string("mem\0fd", 6));
    FAIL("accepted a memfd name with a NUL byte");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(contains(e.detail(), "\"mem\\0fd\""));
  }
}

TEST_CASE("sizes and offsets near 2^64 are EOVERFLOW before any system call", "[budget]") {
  LeakCheck leaks;
  const std::uint64_t huge[] = {UINT64_MAX,
                                UINT64_MAX - 1,
                                UINT64_MAX - 10,
                                UINT64_MAX - 4095,
                                UINT64_MAX - 4096,
                                std::uint64_t{1} << 63,
                                (std::uint64_t{1} << 63) + 4096};
  SealedMemory memory("mmapxx-test", 4096);
  auto object = SharedMemoryObject::create(shm_name("huge"));
  object.set_remove_on_destroy(true);
  object.resize(4096);
  for (const std::uint64_t size : huge) {
    INFO("size " << size);
    for (detail::MemoryObject* target : {static_cast<detail::MemoryObject*>(&memory),
                                         static_cast<detail::MemoryObject*>(&object)}) {
      try {
        target->resize(size);
        FAIL("resize accepted");
      } catch (const Error& e) {
        CHECK(e.code() == std::errc::value_too_large);
        CHECK(e.operation() == "resize");  // not posix_fallocate/ftruncate: no syscall was made
      }
      std::error_code ec;
      target->resize(size, ec);
      CHECK(ec == std::errc::value_too_large);
      CHECK(target->size() == 4096);

      // Map ranges: offset near 2^64, or offset + length wrapping past it.
      for (const MapOptions& options :
           {MapOptions{.offset = size, .length = 128}, MapOptions{.offset = 77, .length = size},
            MapOptions{.offset = size}}) {
        target->map<Access::Read>(options, ec);
        CHECK(ec == std::errc::value_too_large);
        try {
          target->map<Access::Write>(options);
          FAIL("map accepted");
        } catch (const Error& e) {
          CHECK(e.code() == std::errc::value_too_large);
          CHECK(e.operation() == "mmap");
          CHECK(e.path() == target->name());
        }
      }
    }
    std::error_code ec;
    SealedMemory::create("mmapxx-test", size, ec);
    CHECK(ec == std::errc::value_too_large);

    // System V: the size rounded up to pages would wrap; refused by us, not by the kernel.
    if (size > UINT64_MAX - 4095) {
      try {
        SysVSharedMemory::create(static_cast<std::size_t>(size));
        FAIL("shmget accepted");
      } catch (const Error& e) {
        CHECK(e.code() == std::errc::value_too_large);
        CHECK(contains(e.detail(), "2^64"));
      }
    }
  }
  CHECK(memory.size() == 4096);
  CHECK(object.size() == 4096);
}

// Where the heap-exhaustion test keeps its allocations (an unused malloc may be elided at -O2).
void* volatile heap_sink = nullptr;

TEST_CASE("noexcept overloads report ENOMEM when the heap is exhausted, never terminate",
          "[budget][no-valgrind]") {
  if (shadow_memory) {
    std::puts(
        "skipped: heap exhaustion under a sanitizer's shadow memory (RLIMIT_AS cannot apply)");
    return;
  }
  LeakCheck leaks;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Everything the calls below take by value is made before the heap runs out.
    std::string bad_name = shm_prefix() + std::string("nul\0", 4);
    std::string prefix = shm_prefix() + std::string(40, 'x');
    std::error_code ec;
    SealedMemory memory("mmapxx-test", 4096);
    rlimit limit{};
    ::getrlimit(RLIMIT_AS, &limit);
    std::ifstream status("/proc/self/status");
    std::string line;
    std::uint64_t vm_kib = 0;
    while (std::getline(status, line))
      if (line.rfind("VmSize:", 0) == 0) vm_kib = std::stoull(line.substr(7));
    limit.rlim_cur = (vm_kib + 4096) * 1024;  // 4 MiB more than now
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(80);
    // Through a volatile sink: at -O2 an unused malloc may be elided, leaving the heap intact.
    for (std::size_t size = 1 << 20; size > 0; size /= 2)
      for (void* p = std::malloc(size); p != nullptr; p = std::malloc(size)) heap_sink = p;
    // A name error is reported with its own errno: its message needs no heap.
    SharedMemoryObject::create(std::move(bad_name), 0600, ec);
    if (ec != std::errc::invalid_argument) ::_exit(1);
    // create_unique builds names on the heap: without memory it reports ENOMEM, never aborts.
    SharedMemoryObject::create_unique(std::move(prefix), 0600, ec);
    if (ec != std::errc::not_enough_memory) ::_exit(3);
    // Missing seals keep their errno, EPERM, even when the detail cannot be written.
    const int copy = ::fcntl(memory.fd(), F_DUPFD_CLOEXEC, 0);
    SealedMemory::adopt(copy, fixed_size, {}, ec);
    if (ec != std::errc::operation_not_permitted) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("wait status " << status);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("growth a size-limited tmpfs cannot hold is ENOSPC at once", "[budget][no-valgrind]") {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // A private 1 MiB tmpfs over /dev/shm, seen by this child only.
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") != 0)
      ::_exit(cannot_join);
    int code = 91;
    try {
      code = [] {
        auto object = SharedMemoryObject::create(shm_name("small-tmpfs"));
        object.resize(512 * 1024);
        try {
          object.resize(4 * MiB);
          return fail(1, "accepted");
        } catch (const Error& e) {
          if (e.code() != std::errc::no_space_on_device) return fail(2, e.what());
          if (e.operation() != "resize") return fail(3, e.what());  // before posix_fallocate
          if (!contains(e.what(), "filesystem has")) return fail(4, e.what());
        }
        if (object.size() != 512 * 1024) return fail(5, "size changed");
        return 0;
      }();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status) && WEXITSTATUS(status) == cannot_join) {
    std::printf("skipped: ENOSPC on a small tmpfs: cannot mount a private tmpfs over /dev/shm\n");
    return;
  }
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
