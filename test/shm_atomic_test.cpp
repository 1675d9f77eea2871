// object_at, atomic_at and SharedCounter: error_code overloads, read-only mappings, mappings
// passed directly (errors name them), offsets near 2^64.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/atomic.hpp"
#include "mmapxx/shared_memory.hpp"
#include "mmapxx/sysv.hpp"
#include "shm_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

TEST_CASE("object_at, atomic_at and SharedCounter have noexcept error_code overloads", "[atomic]") {
  alignas(16) std::byte buffer[64] = {};
  std::span<std::byte> bytes(buffer);
  std::span<const std::byte> read_only(bytes);
  std::error_code ec = std::make_error_code(std::errc::io_error);

  static_assert(noexcept(object_at<std::uint64_t>(bytes, 0, ec)));
  static_assert(noexcept(atomic_at<std::uint64_t>(bytes, 0, ec)));
  static_assert(noexcept(SharedCounter(bytes, 0, ec)));
  static_assert(noexcept(object_at<std::uint64_t>(read_only, 0, ec)));
  static_assert(noexcept(atomic_at<std::uint64_t>(read_only, 0, ec)));

  std::uint64_t* object = object_at<std::uint64_t>(bytes, 8, ec);
  CHECK_FALSE(ec);
  CHECK(object == reinterpret_cast<std::uint64_t*>(buffer + 8));
  CHECK(object_at<std::uint64_t>(bytes, 60, ec) == nullptr);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(object_at<std::uint64_t>(bytes, 4, ec) == nullptr);  // misaligned
  CHECK(ec == std::errc::invalid_argument);
  const std::uint64_t* constant = object_at<std::uint64_t>(read_only, 16, ec);
  CHECK((!ec && constant == reinterpret_cast<const std::uint64_t*>(buffer + 16)));

  auto atomic = atomic_at<std::uint64_t>(bytes, 16, ec);
  REQUIRE(atomic);
  CHECK_FALSE(ec);
  atomic->store(42);
  CHECK_FALSE(atomic_at<std::uint64_t>(bytes, 12, ec));
  CHECK(ec == std::errc::invalid_argument);
  auto loaded = atomic_at<std::uint64_t>(read_only, 16, ec);
  REQUIRE(loaded);
  CHECK(loaded->load() == 42);

  SharedCounter counter(bytes, 16, ec);
  CHECK((!ec && counter));
  CHECK(counter.add(3) == 45);
  SharedCounter bad(bytes, 3, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK_FALSE(bad);
}

TEST_CASE("loads work from a read-only mapping", "[atomic]") {
  LeakCheck leaks;
  auto object = SharedMemoryObject::create(shm_name("readonly"));
  object.set_remove_on_destroy(true);
  object.resize(4096);
  auto writer = object.map<Access::Write>();
  SharedCounter counter(writer.bytes(), 64);
  counter.add(41);
  counter.add();
  object_at<std::uint32_t>(writer, 128) = 7;

  auto reader = object.map<Access::Read>();  // PROT_READ: any write would fault
  SharedCounter watching(reader.bytes(), 64);
  static_assert(std::is_same_v<decltype(watching), SharedCounter<Access::Read>>);
  CHECK(watching.load() == 42);
  auto view = atomic_at<std::uint64_t>(reader.bytes(), 64);
  static_assert(std::is_same_v<decltype(view), AtomicLoadRef<std::uint64_t>>);
  CHECK(view.load(std::memory_order_relaxed) == 42);
  CHECK(atomic_at<std::uint64_t>(reader, 64).load() == 42);  // the mapping itself
  const std::uint32_t& value = object_at<std::uint32_t>(reader, 128);
  CHECK(value == 7);
  counter.add();
  CHECK(view == 43);  // live: the same memory
  CHECK(watching.load() == 43);
}

TEST_CASE("object_at and atomic_at take a mapping and name it in errors", "[atomic]") {
  AnonymousRegion region(4096);
  object_at<std::uint64_t>(region, 8) = 5;
  CHECK(atomic_at<std::uint64_t>(region, 8).fetch_add(1) == 5);
  static_assert(std::is_same_v<decltype(object_at<int>(region)), int&>);
  const AnonymousRegion& constant = region;
  static_assert(std::is_same_v<decltype(object_at<int>(constant)), const int&>);
  CHECK(object_at<std::uint64_t>(constant, 8) == 6);

  try {
    object_at<std::uint64_t>(region, 4093);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(e.operation() == "object_at");
    CHECK(e.path() == region.label());
  }
  try {
    atomic_at<std::uint64_t>(region, 4);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.operation() == "atomic_at");
    CHECK(e.path() == region.label());
  }
  LeakCheck leaks;
  auto object = SharedMemoryObject::create(shm_name("label"));
  object.set_remove_on_destroy(true);
  object.resize(64);
  auto map = object.map<Access::Write>();
  try {
    atomic_at<std::uint32_t>(map, 64);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.path() == object.name());
    CHECK(std::string(e.what()).find(object.name()) != std::string::npos);
  }
  std::error_code ec;
  CHECK(object_at<std::uint64_t>(map, 60, ec) == nullptr);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(atomic_at<std::uint64_t>(map, 0, ec));
  CHECK_FALSE(ec);
}

TEST_CASE("offsets near 2^64 never wrap into range", "[atomic]") {
  alignas(16) std::byte buffer[64] = {};
  std::span<std::byte> bytes(buffer);
  for (const std::size_t offset :
       {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 7, SIZE_MAX - 63, SIZE_MAX / 2 + 1, std::size_t{65}}) {
    INFO("offset " << offset);
    std::error_code ec;
    CHECK(object_at<std::uint64_t>(bytes, offset, ec) == nullptr);
    CHECK(ec == std::errc::invalid_argument);
    CHECK_FALSE(atomic_at<std::uint64_t>(bytes, offset, ec));
    CHECK_FALSE(atomic_at<std::uint64_t>(std::span<const std::byte>(bytes), offset, ec));
    CHECK_FALSE(SharedCounter(bytes, offset, ec));
    CHECK(code_of([&] { object_at<std::uint64_t>(bytes, offset); }) == std::errc::invalid_argument);
    CHECK(code_of([&] { atomic_at<std::uint64_t>(bytes, offset); }) == std::errc::invalid_argument);
    CHECK(code_of([&] { SharedCounter(bytes, offset); }) == std::errc::invalid_argument);
  }
}

TEST_CASE("loads work from a read-only System V attachment", "[atomic]") {
  LeakCheck leaks;
  auto segment = SysVSharedMemory::create(4096);
  SharedCounter(segment.bytes(), 8).add(9);
  auto reader = SysVSharedMemory::attach(segment.id(), true);
  CHECK(atomic_at<std::uint64_t>(std::as_const(reader).bytes(), 8).load() == 9);
  CHECK(SharedCounter(std::as_const(reader).bytes(), 8).load() == 9);
}
