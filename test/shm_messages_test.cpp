// The exact what() of shared-memory errors that name a number rather than a name (shmid, key,
// socket, fd): formatted in place, and read as they always have.
#include <sys/ipc.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "mmapxx/error.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/shared_memory.hpp"
#include "mmapxx/sysv.hpp"
#include "support.hpp"

using namespace mmapxx;

using test::what_of;

TEST_CASE("Errors about numbered objects name the number", "[shm][messages]") {
  CHECK(what_of([] { SysVSharedMemory::attach(-1, false); }) ==
        "shmat: shmid -1: Invalid argument (id is negative)");
  CHECK(what_of([] { SysVSharedMemory::attach(2147483000, false); }) ==
        "shmctl(IPC_STAT): shmid 2147483000: Invalid argument");
  CHECK(what_of([] { SysVSharedMemory::open(IPC_PRIVATE, false); }) ==
        "shmget: IPC_PRIVATE: Invalid argument (IPC_PRIVATE names no existing segment)");
  CHECK(what_of([] { SysVSharedMemory::create(0, 0600, -12345); }) ==
        "shmget: key -12345: Invalid argument (size is zero)");
  CHECK(what_of([] { receive_fd(-1); }) == "recvmsg: socket -1: Bad file descriptor");
  CHECK(what_of([] { send_fd(-1, -2); }) == "sendmsg: socket -1: Bad file descriptor (fd=-2)");
  CHECK(what_of([] { SealedMemory::adopt(-3, Seal::None, ""); }) ==
        "adopt: fd -3: Bad file descriptor");
  CHECK(what_of([] { SealedMemory::adopt(-3, Seal::None, "given"); }) ==
        "adopt: given: Bad file descriptor");
}

TEST_CASE("Every SharedMemoryObject factory names the caller's name and shm_open",
          "[shm][messages]") {
  const std::string name = "/mmapxx-test-messages-" + std::to_string(::getpid());
  const std::string missing = "shm_open: " + name + ": No such file or directory";
  CHECK(what_of([&] { SharedMemoryObject::open(name); }) == missing);
  CHECK(what_of([&] { SharedMemoryObject::open_read_only(name); }) == missing);
  CHECK(what_of([&] { SharedMemoryObject::create("nameless"); }) ==
        "shm_open: nameless: Invalid argument (name must start with '/')");
  CHECK(what_of([&] { SharedMemoryObject::open_or_create(name, 04600); }) ==
        "shm_open: " + name +
            ": Invalid argument (mode 04600 has bits outside 0777 (setuid, setgid, sticky))");
  CHECK(what_of([&] { SharedMemoryObject::create_unique("/a/b"); }) ==
        "shm_open: /a/b: Invalid argument (name contains a '/' after the first character)");
  {
    SharedMemoryObject first = SharedMemoryObject::create(name);
    first.set_remove_on_destroy(true);
    CHECK(what_of([&] { SharedMemoryObject::create(name); }) ==
          "shm_open: " + name + ": File exists");
  }
  std::error_code ec;
  CHECK(!SharedMemoryObject::open(name, ec));
  CHECK(ec == std::errc::no_such_file_or_directory);
}
