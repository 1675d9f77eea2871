#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "mmapxx/sysv.hpp"
#include "shm_support.hpp"
#include "support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

bool segment_exists(int id) {
  shmid_ds info{};
  return ::shmctl(id, IPC_STAT, &info) == 0;
}

// A key unlikely to be used by anyone else: derived from our pid.
key_t test_key(int n) {
  return static_cast<key_t>(0x6d000000 | ((::getpid() & 0xffff) << 4) | n);
}

}  // namespace

TEST_CASE("a System V segment is shared with a child and removed by its owner", "[sysv]") {
  LeakCheck leaks;
  int id = -1;
  {
    auto segment = SysVSharedMemory::create(8192);
    id = segment.id();
    CHECK(segment.size() == 8192);
    CHECK(segment.remove_on_destroy());
    CHECK(sysv_segments().count(id) == 1);
    shmid_ds info{};
    REQUIRE(::shmctl(id, IPC_STAT, &info) == 0);
    CHECK((info.shm_perm.mode & 0777) == 0600);

    std::memcpy(segment.data(), "parent", 6);
    const int status = run_in_child([id] {
      auto peer = SysVSharedMemory::attach(id);
      if (std::memcmp(peer.data(), "parent", 6) != 0) return 1;
      std::memcpy(peer.data() + 100, "child", 5);
      return 0;
    });
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(std::memcmp(segment.data() + 100, "child", 5) == 0);

    // A forked child destroying its inherited owner object does not remove the segment.
    const int status2 = run_in_child([&] {
      SysVSharedMemory inherited = std::move(segment);
      { SysVSharedMemory gone = std::move(inherited); }
      return 0;
    });
    CHECK(WIFEXITED(status2));
    CHECK(segment_exists(id));

    auto read_only = SysVSharedMemory::attach(id, true);
    CHECK(read_only.read_only());
    CHECK(read_only.data() == nullptr);
    CHECK(read_only.bytes().empty());
    CHECK(std::memcmp(std::as_const(read_only).data(), "parent", 6) == 0);
    CHECK_FALSE(read_only.remove_on_destroy());
  }
  CHECK_FALSE(segment_exists(id));
  CHECK(sysv_segments().count(id) == 0);
}

TEST_CASE("System V keys, errors and explicit removal", "[sysv]") {
  LeakCheck leaks;
  const key_t key = test_key(1);
  auto owner = SysVSharedMemory::create(4096, 0600, key);
  CHECK(code_of([&] { SysVSharedMemory::create(4096, 0600, key); }) == std::errc::file_exists);
  auto opened = SysVSharedMemory::open(key);
  CHECK(opened.id() == owner.id());
  CHECK(opened.size() == 4096);

  std::error_code ec;
  CHECK_FALSE(SysVSharedMemory::open(test_key(2), false, ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK(code_of([] { SysVSharedMemory::open(IPC_PRIVATE); }) == std::errc::invalid_argument);
  CHECK(code_of([] { SysVSharedMemory::attach(-1); }) == std::errc::invalid_argument);
  CHECK(code_of([] { SysVSharedMemory::create(0); }) == std::errc::invalid_argument);
  CHECK(code_of([] { SysVSharedMemory::create(4096, 01600); }) == std::errc::invalid_argument);
  CHECK_FALSE(SysVSharedMemory::create(4096, 0600, key, ec));
  CHECK(ec == std::errc::file_exists);

  const int id = owner.id();
  owner.remove();
  CHECK_FALSE(owner.remove_on_destroy());
  // The key is free at once; the memory lives until the last detach.
  CHECK(code_of([&] { SysVSharedMemory::open(key); }) == std::errc::no_such_file_or_directory);
  owner.data()[0] = std::byte{1};
  CHECK(opened.data()[0] == std::byte{1});
  owner = SysVSharedMemory();
  opened = SysVSharedMemory();
  CHECK_FALSE(segment_exists(id));
}
