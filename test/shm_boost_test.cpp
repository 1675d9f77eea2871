// Interoperation with Boost.Interprocess: the same POSIX objects, the same bytes, both ways.
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <catch2/catch.hpp>
#include <cstring>

#include "mmapxx/shared_memory.hpp"
#include "shm_support.hpp"
#include "support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;
namespace bip = boost::interprocess;

TEST_CASE("an object created by Boost.Interprocess opens with mmapxx", "[shm][boost]") {
  LeakCheck leaks;
  const std::string name = shm_name("boost-made");
  const std::string bytes = pattern(10000, 3);
  {
    // Boost adds the leading '/' itself: give it the bare name.
    bip::shared_memory_object boost_object(bip::create_only, name.substr(1).c_str(),
                                           bip::read_write);
    boost_object.truncate(static_cast<bip::offset_t>(bytes.size()));
    bip::mapped_region region(boost_object, bip::read_write);
    std::memcpy(region.get_address(), bytes.data(), bytes.size());
  }
  {
    auto object = SharedMemoryObject::open(name);
    CHECK(object.size() == bytes.size());
    auto view = object.map<Access::Read>();
    CHECK(std::string(reinterpret_cast<const char*>(view.data()), view.size()) == bytes);
  }
  CHECK(bip::shared_memory_object::remove(name.substr(1).c_str()));
}

TEST_CASE("an object created by mmapxx opens with Boost.Interprocess", "[shm][boost]") {
  LeakCheck leaks;
  const std::string name = shm_name("mmapxx-made");
  const std::string bytes = pattern(5000, 11);
  auto object = SharedMemoryObject::create(name);
  object.set_remove_on_destroy(true);
  object.resize(bytes.size());
  {
    auto map = object.map<Access::Write>();
    std::memcpy(map.data(), bytes.data(), bytes.size());
  }
  // With and without the leading '/': Boost on Linux accepts both spellings.
  for (const std::string& spelling : {name, name.substr(1)}) {
    CAPTURE(spelling);
    bip::shared_memory_object boost_object(bip::open_only, spelling.c_str(), bip::read_only);
    bip::offset_t size = 0;
    REQUIRE(boost_object.get_size(size));
    CHECK(static_cast<std::size_t>(size) == bytes.size());
    bip::mapped_region region(boost_object, bip::read_only);
    REQUIRE(region.get_size() == bytes.size());
    CHECK(std::memcmp(region.get_address(), bytes.data(), bytes.size()) == 0);
  }
  // Writes through Boost are seen through mmapxx.
  {
    bip::shared_memory_object boost_object(bip::open_only, name.c_str(), bip::read_write);
    bip::mapped_region region(boost_object, bip::read_write);
    std::memcpy(region.get_address(), "boost", 5);
  }
  auto view = object.map<Access::Read>({.offset = 0, .length = 5});
  CHECK(std::memcmp(view.data(), "boost", 5) == 0);
}
