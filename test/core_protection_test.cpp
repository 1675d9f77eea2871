// The mapping's protection record: set_protection(), release(), nested guards, protection_at().
#include <catch2/catch.hpp>

#include <memory>
#include <span>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::protection_at;  // what the kernel says (/proc/self/maps)
using mmapxx::test::TempDir;

namespace {
constexpr Protection rw = Protection::Read | Protection::Write;
}

TEST_CASE("release() is a permanent change: protection() follows, the next guard restores it") {
  AnonymousRegion region(3 * page_size());
  region.protect(Protection::Read).release();
  CHECK(region.protection() == Protection::Read);
  CHECK(protection_at(region.data()) == "r--p");
  {
    ProtectionGuard none = region.protect(Protection::None, page_size(), 1);
    CHECK(none.restore_to() == Protection::Read);
    CHECK(protection_at(region.data() + page_size()) == "---p");
  }
  CHECK(protection_at(region.data() + page_size()) == "r--p");  // not the old read-write
  { ProtectionGuard all = region.protect(rw); }
  CHECK(protection_at(region.data() + 2 * page_size()) == "r--p");
}

TEST_CASE("set_protection() changes the pages for good and records it") {
  AnonymousRegion region(4 * page_size());
  region.set_protection(Protection::Read);
  CHECK(region.protection() == Protection::Read);
  CHECK(protection_at(region.data()) == "r--p");
  { ProtectionGuard guard = region.protect(rw); }
  CHECK(protection_at(region.data()) == "r--p");

  // On a part: protection() stays the base, protection_at() reports the part.
  region.set_protection(rw, page_size() + 1, 2);
  CHECK(region.protection() == Protection::Read);
  CHECK(region.protection_at(page_size()) == rw);
  CHECK(region.protection_at(0) == Protection::Read);
  CHECK(protection_at(region.data() + page_size()) == "rw-p");
  {
    ProtectionGuard none = region.protect(Protection::None);  // over both protections
    CHECK(region.protection_at(page_size()) == Protection::None);
    CHECK(protection_at(region.data() + page_size()) == "---p");
  }
  CHECK(protection_at(region.data()) == "r--p");
  CHECK(protection_at(region.data() + page_size()) == "rw-p");  // each page got its own back
  CHECK(protection_at(region.data() + 2 * page_size()) == "r--p");
  region[page_size()] = std::byte{1};

  std::error_code ec;
  region.set_protection(rw, 3 * page_size(), 2 * page_size(), ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(region.protection_at(3 * page_size()) == Protection::Read);
  CHECK_THROWS_AS(region.protection_at(4 * page_size()), Error);
}

TEST_CASE("Nested guards restore what was there before each, ending in any order") {
  AnonymousRegion region(3 * page_size());
  std::byte* second = region.data() + page_size();
  SECTION("inner ends first") {
    ProtectionGuard outer = region.protect(Protection::Read);
    {
      ProtectionGuard inner = region.protect(Protection::None, page_size(), page_size());
      CHECK(inner.restore_to() == Protection::Read);
      CHECK(protection_at(second) == "---p");
    }
    CHECK(protection_at(second) == "r--p");  // the outer guard's, not the mapping's
    outer.restore();
    CHECK(protection_at(second) == "rw-p");
  }
  SECTION("outer ends first") {
    ProtectionGuard outer = region.protect(Protection::Read);
    ProtectionGuard inner = region.protect(Protection::None, page_size(), page_size());
    outer.restore();
    CHECK(protection_at(region.data()) == "rw-p");
    CHECK(protection_at(second) == "---p");  // the inner guard still holds its page
    inner.restore();
    CHECK(protection_at(second) == "rw-p");
  }
  SECTION("moved guards keep their place") {
    ProtectionGuard outer = region.protect(Protection::Read);
    ProtectionGuard inner = region.protect(Protection::None, 0, 1);
    ProtectionGuard other = std::move(outer);
    inner = ProtectionGuard();  // ends the inner guard
    CHECK(protection_at(region.data()) == "r--p");
  }
  CHECK(region.protection() == rw);
  CHECK(region.protection_at(page_size()) == rw);
  CHECK(protection_at(second) == "rw-p");
}

TEST_CASE("set_protection() fails cleanly where the kernel refuses") {
  TempDir dir;
  const std::string path = dir.file("ro");
  test::write_file(path, "read only");
  MappedFile<Access::Read> file(path);
  std::error_code ec;
  file.set_protection(rw, 0, whole, ec);
  CHECK(ec == std::errc::permission_denied);
  CHECK(file.protection() == Protection::Read);
  CHECK(protection_at(file.data()) == "r--s");
  try {
    file.set_protection(rw);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.operation() == "mprotect");
    CHECK(e.path() == path);
  }
}

TEST_CASE("A guard the kernel refuses leaves the record and the pages as they were") {
  TempDir dir;
  const std::string path = dir.file("ro");
  test::write_file(path, std::string(3 * page_size(), 'r'));
  MappedFile<Access::Read> file(path);
  ProtectionGuard none = file.protect(Protection::None, page_size(), page_size());
  std::error_code ec;
  ProtectionGuard refused = file.protect(rw, 0, whole, ec);  // EACCES: a read-only descriptor
  CHECK(ec == std::errc::permission_denied);
  CHECK_FALSE(refused.active());
  try {
    auto thrown = file.protect(rw);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::permission_denied);
    CHECK(e.operation() == "mprotect");
    CHECK(e.path() == path);
  }
  // The refused guards left no layer: the live guard's page is still None, the others the base,
  // and ending the live guard restores the base there.
  CHECK(file.protection_at(0) == Protection::Read);
  CHECK(file.protection_at(page_size()) == Protection::None);
  CHECK(protection_at(file.data() + page_size()) == "---s");
  none.restore();
  CHECK(file.protection_at(page_size()) == Protection::Read);
  CHECK(protection_at(file.data() + page_size()) == "r--s");
}

TEST_CASE("A direct guard whose pages are gone reports mprotect's errno and stays active") {
  auto region = std::make_unique<AnonymousRegion>(2 * page_size());
  const std::span<const std::byte> bytes(region->data(), region->size());
  ProtectionGuard guard(bytes, Protection::Read, rw);
  CHECK(protection_at(region->data()) == "r--p");
  region.reset();  // unmapped under the guard
  std::error_code ec;
  guard.restore(ec);
  CHECK(ec == std::errc::not_enough_memory);  // mprotect: ENOMEM, the pages are not mapped
  CHECK(guard.active());
  CHECK_THROWS_AS(guard.restore(), Error);
  guard.release();
  CHECK_FALSE(guard.active());
}

TEST_CASE("The record follows resize(): kept ranges, new pages like the last one",
          "[no-valgrind]") {
  AnonymousRegion region(4 * page_size());
  region.set_protection(Protection::Read, 3 * page_size(), page_size());
  region.resize(8 * page_size());
  CHECK(region.protection_at(7 * page_size()) == Protection::Read);
  CHECK(protection_at(region.data() + 7 * page_size()) == "r--p");
  region.resize(2 * page_size());
  region.resize(4 * page_size());
  CHECK(region.protection_at(3 * page_size()) == rw);
  CHECK(protection_at(region.data() + 3 * page_size()) == "rw-p");
}

TEST_CASE("A guard that outlives its mapping does nothing when it ends") {
  ProtectionGuard outlived;
  ProtectionGuard released;
  {
    AnonymousRegion region(2 * page_size());
    outlived = region.protect(Protection::Read);
    released = region.protect(Protection::None, 0, 1);
  }
  AnonymousRegion other(2 * page_size());  // may reuse the address
  released.release();
  outlived.restore();
  CHECK_FALSE(outlived.active());
  CHECK(protection_at(other.data()) == "rw-p");
}
