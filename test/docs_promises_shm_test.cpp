// What docs/shared-memory.md, docs/address-space.md and their headers promise, checked as a user
// would write it: names, modes, errnos, sizes, the error_code overloads and what failures leave.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "mmapxx/mmapxx.hpp"
#include "shm_support.hpp"

using namespace mmapxx;
using mmapxx::test::code_of;
using mmapxx::test::LeakCheck;
using mmapxx::test::shm_name;

TEST_CASE("docs: SharedMemoryObject factories, modes and names", "[docs][shm]") {
  LeakCheck leaks;
  const std::string name = shm_name("docs-a");

  SECTION("create is exclusive and exactly 0600 whatever the umask") {
    const mode_t old = ::umask(0);
    auto shm = SharedMemoryObject::create(name);
    ::umask(old);
    shm.set_remove_on_destroy(true);
    CHECK(shm.remove_on_destroy());
    CHECK(shm.created());
    CHECK(shm.mode() == 0600);
    CHECK(shm.name() == name);
    CHECK(shm.size() == 0);
    CHECK((::fcntl(shm.fd(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(code_of([&] { SharedMemoryObject::create(name); }) == std::errc::file_exists);
    auto again = SharedMemoryObject::open_or_create(name);
    CHECK(!again.created());
    shm.resize(5000);
    CHECK(shm.size() == 5000);
    CHECK(again.size() == 5000);
    auto view = shm.map<Access::Write>({.offset = 100});
    CHECK(view.size() == 4900);
    CHECK(view.path() == name);
  }
  SECTION("open of a missing name is ENOENT; bad names are invalid_argument before any call") {
    CHECK(code_of([&] { SharedMemoryObject::open(name); }) == std::errc::no_such_file_or_directory);
    const std::vector<std::string> bad_names = {"",
                                                "noslash",
                                                "/a/b",
                                                "/",
                                                "/.",
                                                "/..",
                                                std::string("/a\0b", 4),
                                                "/" + std::string(300, 'x')};
    for (const std::string& bad : bad_names) {
      CHECK(!is_valid_shm_name(bad));
      std::error_code ec;
      auto none = SharedMemoryObject::create(bad, 0600, ec);
      CHECK(ec == std::errc::invalid_argument);
      CHECK(!none);
    }
    CHECK(is_valid_shm_name(name));
  }
  SECTION("create_unique adds a random suffix to the prefix") {
    auto a = SharedMemoryObject::create_unique(name);
    a.set_remove_on_destroy(true);
    auto b = SharedMemoryObject::create_unique(name);
    b.set_remove_on_destroy(true);
    CHECK(a.name().rfind(name, 0) == 0);
    CHECK(a.name().size() > name.size());
    CHECK(a.name() != b.name());
    CHECK(a.created());
  }
  SECTION("sizes past 2^63-1 are EOVERFLOW, the object unchanged") {
    auto shm = SharedMemoryObject::create(name);
    shm.set_remove_on_destroy(true);
    std::error_code ec;
    shm.resize(std::uint64_t{1} << 63, ec);
    CHECK(ec == std::errc::value_too_large);
    CHECK(shm.size() == 0);
  }
}

TEST_CASE("docs: object_at, atomic_at and SharedCounter check fit and alignment", "[docs][shm]") {
  AnonymousRegion region(64, {.shared = true});
  auto& value = object_at<std::uint64_t>(region, 8);
  value = 7;
  CHECK(atomic_at<std::uint64_t>(region.bytes(), 8).load() == 7);
  std::error_code ec;
  CHECK(object_at<std::uint64_t>(region.bytes(), 60, ec) == nullptr);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(object_at<std::uint64_t>(region.bytes(), SIZE_MAX, ec) == nullptr);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(!atomic_at<std::uint64_t>(region.bytes(), 4, ec).has_value());  // misaligned
  CHECK(ec == std::errc::invalid_argument);
  CHECK(code_of([&] { object_at<std::uint32_t>(region, 62); }) == std::errc::invalid_argument);

  SharedCounter counter(region.bytes(), 16);
  CHECK(counter.add() == 1);
  CHECK(counter.add(5) == 6);
  counter.store(40);
  CHECK(counter.load() == 40);
  const std::span<const std::byte> read_only = region.bytes();
  SharedCounter reader(read_only, 16);
  static_assert(std::is_same_v<decltype(reader), SharedCounter<Access::Read>>);
  CHECK(reader.load() == 40);
  SharedCounter broken(region.bytes(), 60, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(!broken);
}

TEST_CASE("docs: SealedMemory refuses a peer's memory without the required seals", "[docs][shm]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  SealedMemory unsealed("docs-unsealed", 4096);
  CHECK(unsealed.size() == 4096);
  unsealed.send(sv[0]);
  std::error_code ec;
  auto refused = SealedMemory::receive(sv[1], fixed_size, ec);
  CHECK(ec == std::errc::operation_not_permitted);
  CHECK(!refused);

  SealedMemory memory("docs-table", 4096);
  std::memcpy(memory.map<Access::Write>().data(), "hello", 6);
  memory.seal(fixed_size | Seal::Write);
  CHECK(has(memory.seals(), fixed_size | Seal::Write));
  CHECK(code_of([&] { memory.resize(8192); }) == std::errc::operation_not_permitted);
  memory.send(sv[0]);
  auto received = SealedMemory::receive(sv[1], fixed_size);
  auto view = received.map<Access::Read>();
  CHECK(std::strcmp(reinterpret_cast<const char*>(view.data()), "hello") == 0);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_CASE("docs: AddressReservation placement rules", "[docs][address]") {
  const std::size_t page = page_size();
  AddressReservation space(10 * page + 1);
  CHECK(space.size() == 11 * page);
  CHECK(is_aligned(reinterpret_cast<std::uintptr_t>(space.data()), std::uintptr_t{page}));
  CHECK(space.contains(space.data() + 11 * page - 1));
  CHECK(!space.contains(space.data() + 11 * page));
  CHECK(space.used() == 0);
  CHECK(code_of([] { AddressReservation empty(0); }) == std::errc::invalid_argument);

  AnonymousRegion a(page + 1, {.placement = space.at(2 * page)});
  CHECK(a.data() == space.data() + 2 * page);
  CHECK(space.used() == 2 * page);
  std::error_code ec;
  auto odd = AnonymousRegion::create(page, {.placement = space.at(page / 2)}, ec);
  CHECK(ec == std::errc::invalid_argument);
  auto overlap = AnonymousRegion::create(page, {.placement = space.at(3 * page)}, ec);
  CHECK(ec == std::errc::file_exists);
  auto past = AnonymousRegion::create(2 * page, {.placement = space.at(10 * page)}, ec);
  CHECK(ec == std::errc::not_enough_memory);
  CHECK(space.used() == 2 * page);

  // A private region placed in a reservation grows in place.
  AnonymousRegion grows(page, {.placement = space.at(5 * page)});
  std::byte* before = grows.data();
  grows.resize(3 * page);
  CHECK(grows.data() == before);
  CHECK(code_of([&] { grows.resize(6 * page + 1); }) == std::errc::not_enough_memory);
  CHECK(grows.size() == 3 * page);
}

TEST_CASE("docs: MirroredBuffer maps the same bytes twice", "[docs][address]") {
  std::error_code ec;
  auto bad = MirroredBuffer::create(5000, "docs-bad", ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(!bad);
  MirroredBuffer ring(page_size());
  CHECK(ring.size() == page_size());
  CHECK(ring.bytes().size() == 2 * page_size());
  ring.data()[page_size() + 3] = std::byte{42};
  CHECK(ring.data()[3] == std::byte{42});
  CHECK(ring.first().size() == page_size());
  CHECK(ring.second().data() == ring.data() + page_size());
}

TEST_CASE("docs: SharedFutex and RobustMutex results", "[docs][address]") {
  AnonymousRegion region(4096, {.shared = true});
  SharedFutex futex(region.bytes(), 0);
  CHECK(futex.wait(1, std::chrono::seconds(0)) == WaitResult::ValueChanged);
  CHECK(futex.wait(0, std::chrono::seconds(0)) == WaitResult::TimedOut);
  CHECK(futex.wait(0, std::chrono::milliseconds(1)) == WaitResult::TimedOut);
  CHECK(futex.wake_all() == 0);
  CHECK(code_of([&] { SharedFutex misaligned(region.bytes(), 2); }) == std::errc::invalid_argument);
  // The error_code overload every throwing call has (README): an empty futex on failure.
  std::error_code futex_ec;
  static_assert(noexcept(SharedFutex(region.bytes(), 2, futex_ec)));
  SharedFutex misaligned(region.bytes(), 2, futex_ec);
  CHECK(futex_ec == std::errc::invalid_argument);
  CHECK(!misaligned);
  SharedFutex past_end(region.bytes(), SIZE_MAX, futex_ec);
  CHECK(futex_ec == std::errc::invalid_argument);
  CHECK(!past_end);
  SharedFutex fine(region.bytes(), 4, futex_ec);
  CHECK(!futex_ec);
  CHECK(fine);
  CHECK(futex);
  CHECK(fine.wait(0, std::chrono::seconds(0)) == WaitResult::TimedOut);

  RobustMutex mutex = RobustMutex::create(region.bytes(), 64);
  CHECK(mutex.lock() == LockResult::Acquired);
  CHECK(code_of([&] { mutex.lock(); }) == std::errc::resource_deadlock_would_occur);
  mutex.unlock();
  CHECK(code_of([&] { mutex.unlock(); }) == std::errc::operation_not_permitted);
  CHECK(mutex.try_lock() == LockResult::Acquired);
  mutex.unlock();
  std::error_code ec;
  static_cast<void>(RobustMutex::create(region.bytes(), 1, ec));
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("docs: SpscQueue commit/consume have error_code overloads; an empty queue never crashes",
          "[docs][address]") {
  SpscQueue queue(page_size());
  CHECK(queue.capacity() == page_size());
  CHECK(queue.write_area().size() == page_size());
  std::error_code ec;
  static_assert(noexcept(queue.commit(1, ec)));
  static_assert(noexcept(queue.consume(1, ec)));
  queue.commit(page_size() + 1, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(queue.read_area().empty());
  queue.commit(3, ec);
  CHECK(!ec);
  CHECK(queue.read_area().size() == 3);
  queue.consume(4, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(code_of([&] { queue.consume(4); }) == std::errc::invalid_argument);
  queue.consume(3, ec);
  CHECK(!ec);
  queue.close();
  CHECK(queue.closed());
  CHECK(!queue.wait_for_data(1, std::chrono::seconds(0)));

  SpscQueue empty;  // as a failed create() leaves it
  CHECK(!empty);
  CHECK(empty.capacity() == 0);
  CHECK(empty.write_area().empty());
  CHECK(empty.read_area().empty());
  std::byte buffer[4]{};
  CHECK(empty.write(buffer) == 0);
  CHECK(empty.read(buffer) == 0);
  CHECK(!empty.wait_for_data(0, std::chrono::seconds(0)));
  CHECK(!empty.wait_for_space(0, std::chrono::seconds(0)));
  CHECK(!empty.closed());
  empty.close();
  empty.commit(0);
  empty.consume(0);
  CHECK(code_of([&] { empty.commit(1); }) == std::errc::invalid_argument);
  empty.consume(1, ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("docs: SysVSharedMemory::create with IPC_PRIVATE, as docs/shared-memory.md names it",
          "[docs][shm]") {
  LeakCheck leaks;
  // IPC_PRIVATE must come with <mmapxx/mmapxx.hpp>: the docs name it as the default key.
  auto segment = SysVSharedMemory::create(5000, 0600, IPC_PRIVATE);
  CHECK(segment.size() == 5000);
  CHECK(code_of([] { SysVSharedMemory::create(SIZE_MAX); }) == std::errc::value_too_large);
  CHECK(code_of([] { SysVSharedMemory::create(0); }) == std::errc::invalid_argument);
}

TEST_CASE("docs: the error_code factories are noexcept even when given a string literal",
          "[docs][shm]") {
  LeakCheck leaks;
  std::error_code ec;
  // A std::string parameter would be built from the literal in the caller, outside noexcept: a
  // bad_alloc there would escape the overload that promises to report it.
  static_assert(noexcept(SharedMemoryObject::create("/x", 0600, ec)));
  static_assert(noexcept(SharedMemoryObject::open("/x", ec)));
  static_assert(noexcept(SharedMemoryObject::open_read_only("/x", ec)));
  static_assert(noexcept(SharedMemoryObject::open_or_create("/x", 0600, ec)));
  static_assert(noexcept(SharedMemoryObject::create_unique("/x-", 0600, ec)));
  static_assert(noexcept(SharedMemoryObject::remove("/x", ec)));
  static_assert(noexcept(SealedMemory::create("x", 0, ec)));

  const std::string name = shm_name("docs-literal");
  auto made = SharedMemoryObject::create(name.c_str(), 0600, ec);
  REQUIRE(!ec);
  CHECK(made.name() == name);
  auto opened = SharedMemoryObject::open(name.c_str(), ec);
  CHECK(!ec);
  CHECK(opened);
  CHECK(SharedMemoryObject::open_read_only(name.c_str(), ec));
  CHECK(!SharedMemoryObject::open_or_create(name.c_str(), 0600, ec).created());
  auto unique = SharedMemoryObject::create_unique(name.c_str(), 0600, ec);
  CHECK(unique.name().rfind(name, 0) == 0);
  unique.unlink();
  SharedMemoryObject::remove(name.c_str(), ec);
  CHECK(!ec);
  SharedMemoryObject::remove(name.c_str(), ec);
  CHECK(ec == std::errc::no_such_file_or_directory);

  const char* null_name = nullptr;
  CHECK(!SharedMemoryObject::create(null_name, 0600, ec));
  CHECK(ec == std::errc::invalid_argument);
  SharedMemoryObject::remove(null_name, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(!SealedMemory::create(null_name, 0, ec));
  CHECK(ec == std::errc::invalid_argument);
  auto memfd = SealedMemory::create("docs-literal", 4096, ec);
  CHECK(!ec);
  CHECK(memfd.size() == 4096);
}
